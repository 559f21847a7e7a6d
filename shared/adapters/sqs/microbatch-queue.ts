/**
 * The microbatch FIFO queue (DESIGN §3, §5 step 5): one message per token, grouped by node so one
 * node's applies are serial while nodes proceed in parallel. Tokens of a plan may arrive in any
 * order (each carries the plan's target), so every call goes out in parallel, and a retried entry
 * landing after its neighbours costs nothing.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { MicrobatchQueue, UnsentMicrobatch } from '#shared/domain/ports.ts';
import { deduplicationId, serializeMicrobatch } from '#shared/domain/microbatch.ts';
import type { Microbatch } from '#shared/domain/types.ts';
import { SqsBatchSender, type SqsBatchSenderOptions } from './batch-sender.ts';

/** Tuning for {@link SqsMicrobatchQueue}; the defaults suit production. */
export type SqsMicrobatchQueueOptions = SqsBatchSenderOptions;

/** {@link MicrobatchQueue} over an SQS FIFO queue. */
export class SqsMicrobatchQueue implements MicrobatchQueue {
  private readonly sender: SqsBatchSender<Microbatch>;

  constructor(sqs: SQSClient, queueUrl: string, options: SqsMicrobatchQueueOptions = {}) {
    this.sender = new SqsBatchSender(
      sqs,
      queueUrl,
      (microbatch) => ({ MessageBody: serializeMicrobatch(microbatch), MessageGroupId: microbatch.nodeId, MessageDeduplicationId: deduplicationId(microbatch) }),
      options,
    );
  }

  /** Sends every token, calls in parallel (bounded); @returns the tokens still refused after the retries. */
  async send(microbatches: readonly Microbatch[]): Promise<readonly UnsentMicrobatch[]> {
    const refused = await this.sender.send(microbatches);
    return refused.map(({ item, ...reason }) => ({ microbatch: item, ...reason }));
  }
}
