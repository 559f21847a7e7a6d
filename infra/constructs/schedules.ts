/**
 * The two EventBridge Scheduler schedules that drive the system every interval — the planner and
 * the checker (DESIGN §3) — and what becomes of a tick that fails. Each schedule invokes its
 * function with the Scheduler payload the handlers accept (`{ scheduledTime, executionId, attempt }`).
 *
 * Scheduler invokes Lambda asynchronously: it only retries (and dead-letters) a tick it could not
 * hand to Lambda. A run that fails in the function is Lambda's to retry, and Lambda's defaults
 * (two retries, events kept up to six hours, then dropped) would lose it silently. So each
 * scheduled function gets its own asynchronous-invocation settings here, and both kinds of failure
 * end in one "failed ticks" queue with one alarm.
 */
import { Duration, Stack, Validations, type RemovalPolicy } from 'aws-cdk-lib';
import type { CfnFunction, DestinationConfig, IDestination, IFunction } from 'aws-cdk-lib/aws-lambda';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { ContextAttribute, Schedule, ScheduleExpression, ScheduleTargetInput, TimeWindow } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { IQueue, Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { QUEUES } from '../definitions.ts';
import { queueFrom } from './microbatch-queues.ts';

export interface SchedulesProps {
  readonly planner: IFunction;
  readonly checker: IFunction;
  readonly intervalSeconds: number;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * Scheduler's retries of an invocation Lambda did not accept (throttled invoke API, a missing
 * function). The handlers derive the interval from the event's own scheduled time, so a retry is the
 * same tick; after one interval the next tick supersedes it anyway.
 */
export const SCHEDULE_RETRY_ATTEMPTS = 3;

/** The payload the planner and checker accept (schedulerEventSchema); Scheduler fills the placeholders. */
export const SCHEDULER_INPUT = {
  scheduledTime: ContextAttribute.scheduledTime,
  executionId: ContextAttribute.executionId,
  attempt: ContextAttribute.attemptNumber,
} as const;

/**
 * Lambda's fixed waits before its first and second retry of a failed asynchronous run: one minute,
 * then two ("How Lambda handles errors and retries with asynchronous invocation", AWS Lambda
 * developer guide). Throttles (429) and Lambda's own 5xx are retried separately, backing off from
 * one second, for as long as the maximum event age allows.
 */
const LAMBDA_RETRY_WAITS_SECONDS = [60, 120] as const;

/** Lambda's bounds on MaximumEventAgeInSeconds. */
const MIN_EVENT_AGE_SECONDS = 60;
const MAX_EVENT_AGE_SECONDS = 6 * 3_600;

/** How Lambda treats a failed planner or checker run for an interval of `intervalSeconds`. */
export interface TickAsyncInvoke {
  /** Lambda's retries after a function error: only those that can start within the event's age. */
  readonly retryAttempts: number;
  /** One interval (within Lambda's 60 s – 6 h): by then the next tick has superseded this one. */
  readonly maxEventAgeSeconds: number;
}

/**
 * The asynchronous-invocation settings of a scheduled function. A retry is always safe (the handlers
 * take the interval from the event's scheduled time, so a retry is the same tick, and the planner's
 * claims and deduplication ids make a repeat harmless) but only useful before the next tick: the
 * event's age is capped at one interval, and a retry is configured only if Lambda's waits before it
 * end strictly within that age — the run itself takes time too. At t = 60 s no retry could start
 * in time, so none is asked for (Lambda would drop it for its age anyway); at t = 120–180 s one
 * fits; from t = 240 s both. Without these settings a failed run would be retried up to three hours
 * after its tick, long after later ticks re-planned the same nodes.
 */
export function tickAsyncInvoke(intervalSeconds: number): TickAsyncInvoke {
  const maxEventAgeSeconds = Math.min(MAX_EVENT_AGE_SECONDS, Math.max(MIN_EVENT_AGE_SECONDS, intervalSeconds));
  let waited = 0;
  let retryAttempts = 0;
  for (const wait of LAMBDA_RETRY_WAITS_SECONDS) {
    waited += wait;
    if (waited >= maxEventAgeSeconds) break;
    retryAttempts += 1;
  }
  return { retryAttempts, maxEventAgeSeconds };
}

/**
 * A standard queue as a Lambda on-failure destination, granting only the one action Lambda uses
 * with the function's role: sqs:SendMessage. (aws-lambda-destinations' SqsDestination grants
 * `grantSendMessages`, which adds sqs:GetQueueAttributes and sqs:GetQueueUrl the function never calls.)
 */
class QueueDestination implements IDestination {
  constructor(private readonly queue: IQueue) {}

  bind(_scope: Construct, fn: IFunction): DestinationConfig {
    this.queue.grant(fn, 'sqs:SendMessage');
    return { destination: this.queue.queueArn };
  }
}

/** The planner and checker schedules and the one queue of their lost ticks. */
export class Schedules extends Construct {
  readonly planner: Schedule;
  readonly checker: Schedule;
  /** Scheduler's dead letters and Lambda's on-failure records of both functions. */
  readonly failedTicks: Queue;

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    this.failedTicks = queueFrom(this, QUEUES.failedTicks, { removalPolicy: props.removalPolicy });
    Validations.of(this.failedTicks).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: "This queue is itself the dead end: Scheduler's dead letters and Lambda's on-failure records of the planner and checker land here.",
    });
    this.planner = this.schedule('Planner', props.planner, props);
    this.checker = this.schedule('Checker', props.checker, props);
  }

  private schedule(id: string, target: IFunction, props: SchedulesProps): Schedule {
    const stack = Stack.of(this);
    // One role per schedule, assumable by Scheduler only for schedules of this account's default group.
    const role = new Role(this, `${id}Role`, {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': stack.account,
            'aws:SourceArn': stack.formatArn({ service: 'scheduler', resource: 'schedule-group', resourceName: 'default' }),
          },
        },
      }),
      description: `EventBridge Scheduler role that invokes the ${id.toLowerCase()} function`,
    });
    const schedule = new Schedule(this, id, {
      description: `Invokes the ${id.toLowerCase()} every ${props.intervalSeconds} s`,
      schedule: ScheduleExpression.rate(Duration.seconds(props.intervalSeconds)),
      // Every tick at its time: the interval index is taken from the scheduled time.
      timeWindow: TimeWindow.off(),
      target: new LambdaInvoke(target, {
        role,
        input: ScheduleTargetInput.fromObject(SCHEDULER_INPUT),
        retryAttempts: SCHEDULE_RETRY_ATTEMPTS,
        // Scheduler's minimum is 60 s; an event older than one interval has been superseded.
        maxEventAge: Duration.seconds(Math.max(60, props.intervalSeconds)),
        deadLetterQueue: this.failedTicks,
      }),
    });
    const { retryAttempts, maxEventAgeSeconds } = tickAsyncInvoke(props.intervalSeconds);
    target.configureAsyncInvoke({
      retryAttempts,
      maxEventAge: Duration.seconds(maxEventAgeSeconds),
      onFailure: new QueueDestination(this.failedTicks),
    });
    const functionId = stack.resolve((target.node.defaultChild as CfnFunction).logicalId) as string;
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${functionId}.Arn>:*]`,
      reason: "LambdaInvoke's grantInvoke also covers the function's versions and aliases (<arn>:*); the actions are lambda:InvokeFunction only.",
    });
    return schedule;
  }
}
