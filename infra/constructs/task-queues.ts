/**
 * The shard task queues (DESIGN §5, §7), built from {@link QUEUES}: one standard queue for the
 * planner's shard tasks and one for the checker's, each with a dead-letter queue. A task is small
 * and idempotent, so standard queues serve: no ordering, no deduplication ids, no FIFO limits.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FUNCTIONS, QUEUES, TASK_MAX_RECEIVE_COUNT, visibilityTimeoutFor } from '../definitions.ts';
import { queueFrom } from './microbatch-queues.ts';

export interface TaskQueuesProps {
  readonly removalPolicy: RemovalPolicy;
}

/** A task queue and its dead-letter queue. */
export interface TaskQueue {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
}

export class TaskQueues extends Construct {
  readonly plan: TaskQueue;
  readonly check: TaskQueue;

  constructor(scope: Construct, id: string, props: TaskQueuesProps) {
    super(scope, id);
    this.plan = this.pair(QUEUES.planTasks, QUEUES.planTasksDeadLetter, FUNCTIONS.plannerShard.timeoutSeconds, props);
    this.check = this.pair(QUEUES.checkTasks, QUEUES.checkTasksDeadLetter, FUNCTIONS.checkerShard.timeoutSeconds, props);
  }

  private pair(
    definition: (typeof QUEUES)['planTasks' | 'checkTasks'],
    deadLetterDefinition: (typeof QUEUES)['planTasksDeadLetter' | 'checkTasksDeadLetter'],
    consumerTimeoutSeconds: number,
    props: TaskQueuesProps,
  ): TaskQueue {
    // No SQS3 acknowledgement: cdk-nag sees this queue as the redrive target of the task queue, as
    // it does the microbatch dead-letter queue (test/infra/nag.test.ts checks every one is needed).
    const deadLetterQueue = queueFrom(this, deadLetterDefinition, { removalPolicy: props.removalPolicy });
    const queue = queueFrom(this, definition, {
      removalPolicy: props.removalPolicy,
      // AWS's rule for a queue behind Lambda's event source: six times the consumer's timeout.
      visibilityTimeout: Duration.seconds(visibilityTimeoutFor(consumerTimeoutSeconds)),
      deadLetter: { queue: deadLetterQueue, maxReceiveCount: TASK_MAX_RECEIVE_COUNT },
    });
    return { queue, deadLetterQueue };
  }
}
