/**
 * The microbatch FIFO queue and its FIFO dead-letter queue (DESIGN §3), built from {@link QUEUES}:
 * high-throughput FIFO, SQS-managed encryption, TLS-only access, redrive after maxReceiveCount.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption, type CfnQueue, type IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { QUEUES, visibilityTimeoutFor, type QueueDefinition } from '../definitions.ts';

export interface MicrobatchQueuesProps {
  /** The applier's timeout: the queue's visibility timeout is six times it. */
  readonly applierTimeout: Duration;
  readonly maxReceiveCount: number;
  readonly removalPolicy: RemovalPolicy;
}

const DEDUPLICATION_SCOPES = { messageGroup: DeduplicationScope.MESSAGE_GROUP, queue: DeduplicationScope.QUEUE } as const;
const THROUGHPUT_LIMITS = { perMessageGroupId: FifoThroughputLimit.PER_MESSAGE_GROUP_ID, perQueue: FifoThroughputLimit.PER_QUEUE } as const;

/**
 * A queue from its definition, with the settings every queue of the stack shares. SQS-managed SSE
 * rather than a KMS key: senders and consumers need no kms:* permission, the Scheduler and Lambda
 * integrations work without a key policy, and there is no monthly key fee.
 */
export function queueFrom(
  scope: Construct,
  definition: QueueDefinition,
  props: { readonly removalPolicy: RemovalPolicy; readonly visibilityTimeout?: Duration; readonly deadLetter?: { readonly queue: IQueue; readonly maxReceiveCount: number } },
): Queue {
  const queue = new Queue(scope, definition.logicalId, {
    ...(definition.fifo ? { fifo: true, contentBasedDeduplication: definition.contentBasedDeduplication ?? false } : {}),
    ...(definition.deduplicationScope === undefined ? {} : { deduplicationScope: DEDUPLICATION_SCOPES[definition.deduplicationScope] }),
    ...(definition.fifoThroughputLimit === undefined ? {} : { fifoThroughputLimit: THROUGHPUT_LIMITS[definition.fifoThroughputLimit] }),
    retentionPeriod: Duration.seconds(definition.retentionSeconds),
    ...(props.visibilityTimeout === undefined ? {} : { visibilityTimeout: props.visibilityTimeout }),
    ...(props.deadLetter === undefined ? {} : { deadLetterQueue: props.deadLetter }),
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    removalPolicy: props.removalPolicy,
  });
  // Fixed logical ids: a replaced queue would lose the messages in it.
  (queue.node.defaultChild as CfnQueue).overrideLogicalId(definition.logicalId);
  return queue;
}

/** The microbatch queue and its dead-letter queue. */
export class MicrobatchQueues extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: MicrobatchQueuesProps) {
    super(scope, id);
    this.deadLetterQueue = queueFrom(this, QUEUES.microbatchDeadLetter, { removalPolicy: props.removalPolicy });
    this.queue = queueFrom(this, QUEUES.microbatch, {
      removalPolicy: props.removalPolicy,
      visibilityTimeout: Duration.seconds(visibilityTimeoutFor(props.applierTimeout.toSeconds())),
      deadLetter: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });
  }
}
