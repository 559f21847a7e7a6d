/**
 * The two EventBridge Scheduler schedules that drive the system every interval: the planner and
 * the checker (DESIGN §3). Each invokes its function with the Scheduler payload the handlers accept
 * (`{ scheduledTime, executionId, attempt }`), retries a failed invocation a few times within one
 * interval, and then sends the event to an SQS dead-letter queue.
 */
import { Duration, Stack, Validations, type RemovalPolicy } from 'aws-cdk-lib';
import type { CfnFunction, IFunction } from 'aws-cdk-lib/aws-lambda';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { ContextAttribute, Schedule, ScheduleExpression, ScheduleTargetInput, TimeWindow } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
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
 * Retries of a failed invocation. The handlers derive the interval from the event's own scheduled
 * time, so a retry is the same tick; after one interval the next tick supersedes it anyway.
 */
export const SCHEDULE_RETRY_ATTEMPTS = 3;

/** The payload the planner and checker accept (schedulerEventSchema); Scheduler fills the placeholders. */
export const SCHEDULER_INPUT = {
  scheduledTime: ContextAttribute.scheduledTime,
  executionId: ContextAttribute.executionId,
  attempt: ContextAttribute.attemptNumber,
} as const;

/** The planner and checker schedules and their shared dead-letter queue. */
export class Schedules extends Construct {
  readonly planner: Schedule;
  readonly checker: Schedule;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    this.deadLetterQueue = queueFrom(this, QUEUES.schedulerDeadLetter, { removalPolicy: props.removalPolicy });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself a dead-letter queue: EventBridge Scheduler sends failed planner/checker invocations to it.',
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
        deadLetterQueue: this.deadLetterQueue,
      }),
    });
    const functionId = stack.resolve((target.node.defaultChild as CfnFunction).logicalId) as string;
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${functionId}.Arn>:*]`,
      reason: "LambdaInvoke's grantInvoke also covers the function's versions and aliases (<arn>:*); the actions are lambda:InvokeFunction only.",
    });
    return schedule;
  }
}
