/**
 * A shard task queue (DESIGN §5, §7): a standard SQS queue, one JSON message per shard task, which a
 * shard function consumes. Order does not matter and a duplicate is harmless (the shards' records
 * make every task idempotent), so nothing needs FIFO's cost or limits.
 */
import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ShardTaskQueue } from '#shared/domain/ports.ts';
import { serializeTask, type ShardTask } from '#shared/domain/shard-task.ts';
import { SqsBatchSender, type SqsBatchSenderOptions } from './batch-sender.ts';

/** {@link ShardTaskQueue} over a standard SQS queue. */
export class SqsTaskQueue<T extends ShardTask> implements ShardTaskQueue<T> {
  private readonly sender: SqsBatchSender<T>;

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    options: SqsBatchSenderOptions = {},
  ) {
    this.sender = new SqsBatchSender<T>(sqs, queueUrl, (task) => ({ MessageBody: serializeTask(task) }), options);
  }

  /** Makes a received task visible again in `seconds` (its consumer failed it and wants it back soon). */
  async retryIn(receiptHandle: string, seconds: number): Promise<void> {
    await this.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }));
  }

  async send(tasks: readonly T[]): Promise<readonly T[]> {
    return (await this.sender.send(tasks)).map(({ item }) => item);
  }
}
