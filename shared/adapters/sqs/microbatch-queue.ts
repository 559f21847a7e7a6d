/**
 * The microbatch FIFO queue (DESIGN §3, §5 step 5): one message per microbatch, grouped by node so
 * a node's microbatches apply in order while nodes proceed in parallel.
 */
import type { SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import pLimit from 'p-limit';
import type { MicrobatchQueue } from '#shared/domain/ports.ts';
import { deduplicationId, serializeMicrobatch } from '#shared/domain/schemas.ts';
import type { Microbatch } from '#shared/domain/types.ts';
import type { Sleep } from '../backoff.ts';
import { fullJitterDelay, realSleep } from '../backoff.ts';
import { chunk, requirePositiveInteger } from '../batching.ts';
import type { QueueSendFailure } from '../errors.ts';
import { QueueSendError } from '../errors.ts';

/** SendMessageBatch takes at most 10 entries. */
const ENTRIES_PER_CALL = 10;
const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 5_000;

/** Tuning for {@link SqsMicrobatchQueue}; the defaults suit production. */
export interface SqsMicrobatchQueueOptions {
  /** SendMessageBatch calls in flight at once (default 10). */
  readonly concurrency?: number;
  /** Attempts per entry, the first send included (default 5). */
  readonly maxAttempts?: number;
  /** Waits between attempts; injected so tests need not wait (default: real timers). */
  readonly sleep?: Sleep;
}

/** An entry without its `Id`, which is its position in whichever call carries it. */
type Message = Omit<SendMessageBatchRequestEntry, 'Id'> & { readonly MessageDeduplicationId: string };

/** {@link MicrobatchQueue} over an SQS FIFO queue. */
export class SqsMicrobatchQueue implements MicrobatchQueue {
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly sleep: Sleep;

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    options: SqsMicrobatchQueueOptions = {},
  ) {
    this.concurrency = requirePositiveInteger(options.concurrency ?? 10, 'concurrency');
    this.maxAttempts = requirePositiveInteger(options.maxAttempts ?? 5, 'maxAttempts');
    this.sleep = options.sleep ?? realSleep;
  }

  /**
   * Sends the microbatches in the order given; a node's microbatches should be adjacent (the
   * planner emits them so), which keeps each node's order even across calls.
   * @throws QueueSendError naming every microbatch still unsent, after all calls have settled, so
   * one failing chunk does not stop the others from being sent.
   */
  async send(microbatches: readonly Microbatch[]): Promise<void> {
    const messages = microbatches.map(
      (microbatch): Message => ({
        MessageBody: serializeMicrobatch(microbatch),
        MessageGroupId: microbatch.nodeId,
        MessageDeduplicationId: deduplicationId(microbatch),
      }),
    );
    const limit = pLimit(this.concurrency);
    const chunks = chunk(messages, ENTRIES_PER_CALL);
    const sends: Promise<QueueSendFailure[]>[] = [];
    chunks.forEach((group, index) => {
      const previous = sends[index - 1];
      // FIFO order within a node is the order SQS receives its messages: a chunk that continues
      // the previous chunk's node waits for it, while chunks of other nodes go in parallel.
      const continuesNode = previous !== undefined && chunks[index - 1]?.at(-1)?.MessageGroupId === group[0]?.MessageGroupId;
      sends.push(
        limit(async () => {
          if (continuesNode) await previous.catch(() => undefined);
          return this.sendChunk(group);
        }),
      );
    });
    const unsent = (await Promise.all(sends)).flat();
    if (unsent.length > 0) throw new QueueSendError(unsent, this.maxAttempts);
  }

  /** Sends one chunk, re-sending only what failed; @returns the entries that never got through. */
  private async sendChunk(messages: readonly Message[]): Promise<QueueSendFailure[]> {
    let pending = messages;
    const final: QueueSendFailure[] = [];
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const failed = await this.attempt(pending);
      // A sender fault (e.g. an invalid entry) fails the same way every time: do not retry it.
      const retryable = failed.filter(({ failure }) => !failure.senderFault);
      final.push(...failed.filter(({ failure }) => failure.senderFault).map(({ failure }) => failure));
      if (retryable.length === 0) break;
      if (attempt >= this.maxAttempts) {
        final.push(...retryable.map(({ failure }) => failure));
        break;
      }
      pending = retryable.map(({ message }) => message);
      await this.sleep(fullJitterDelay(attempt, BACKOFF_BASE_MS, BACKOFF_CAP_MS));
    }
    return final;
  }

  /** One SendMessageBatch call; a call that throws fails every entry it carried. */
  private async attempt(messages: readonly Message[]): Promise<{ message: Message; failure: QueueSendFailure }[]> {
    try {
      const response = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: messages.map((message, index) => ({ Id: String(index), ...message })),
        }),
      );
      return (response.Failed ?? []).flatMap((entry) => {
        const message = messages[Number(entry.Id)];
        if (message === undefined) return [];
        return [
          {
            message,
            failure: {
              deduplicationId: message.MessageDeduplicationId,
              code: entry.Code ?? 'Unknown',
              ...(entry.Message === undefined ? {} : { message: entry.Message }),
              senderFault: entry.SenderFault ?? false,
            },
          },
        ];
      });
    } catch (error) {
      const code = error instanceof Error ? error.name : 'Error';
      const text = error instanceof Error ? error.message : String(error);
      return messages.map((message) => ({
        message,
        failure: { deduplicationId: message.MessageDeduplicationId, code, message: text, senderFault: false },
      }));
    }
  }
}
