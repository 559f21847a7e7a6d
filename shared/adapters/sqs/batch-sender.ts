/**
 * SendMessageBatch for any kind of message: 10 entries per call, calls in parallel with a bound, and
 * only the entries a response reports as failed sent again, with jittered backoff; an entry SQS
 * blames on the request (a sender fault) is not retried. The microbatch queue and the shard task
 * queues send through it.
 */
import type { SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import pLimit from 'p-limit';
import type { Sleep } from '../backoff.ts';
import { fullJitterDelay, realSleep } from '../backoff.ts';
import { chunk, requirePositiveInteger } from '../batching.ts';
import { answered } from '../errors.ts';

/** SendMessageBatch takes at most 10 entries. */
const ENTRIES_PER_CALL = 10;
const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 5_000;

/** Tuning for {@link SqsBatchSender}; the defaults suit production. */
export interface SqsBatchSenderOptions {
  /** SendMessageBatch calls in flight at once (default 32: 26,000 calls of 10 ms in ~8 s). */
  readonly concurrency?: number;
  /** Attempts per entry, the first send included (default 5). */
  readonly maxAttempts?: number;
  /** Waits between attempts; injected so tests need not wait (default: real timers). */
  readonly sleep?: Sleep;
}

/** An entry without its `Id` (its position in whichever call carries it). */
export type OutgoingEntry = Omit<SendMessageBatchRequestEntry, 'Id'>;

/** An item SQS still refused after the retries, with the last reason. */
export interface RefusedItem<T> {
  readonly item: T;
  /** The SQS error code of the failed entry, or the error name when the whole call threw. */
  readonly code: string;
  readonly message?: string;
  /** SQS blamed the request itself: retrying the same entry cannot succeed. */
  readonly senderFault: boolean;
}

interface Message<T> {
  readonly item: T;
  readonly entry: OutgoingEntry;
}

export class SqsBatchSender<T> {
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly sleep: Sleep;

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly toEntry: (item: T) => OutgoingEntry,
    options: SqsBatchSenderOptions = {},
  ) {
    this.concurrency = requirePositiveInteger(options.concurrency ?? 32, 'concurrency');
    this.maxAttempts = requirePositiveInteger(options.maxAttempts ?? 5, 'maxAttempts');
    this.sleep = options.sleep ?? realSleep;
  }

  /** Sends every item, calls in parallel (bounded), in no particular order; @returns the items still refused. */
  async send(items: readonly T[]): Promise<RefusedItem<T>[]> {
    const messages = items.map((item): Message<T> => ({ item, entry: this.toEntry(item) }));
    const limit = pLimit(this.concurrency);
    const refused = await Promise.all(chunk(messages, ENTRIES_PER_CALL).map((group) => limit(() => this.sendChunk(group))));
    return refused.flat();
  }

  /** Sends one chunk, re-sending only what failed; @returns the entries that never got through. */
  private async sendChunk(messages: readonly Message<T>[]): Promise<RefusedItem<T>[]> {
    let pending = messages;
    const final: RefusedItem<T>[] = [];
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const failed = await this.attempt(pending);
      // A sender fault (e.g. an invalid entry) fails the same way every time: do not retry it.
      const retryable = failed.filter(({ refusal }) => !refusal.senderFault);
      final.push(...failed.filter(({ refusal }) => refusal.senderFault).map(({ refusal }) => refusal));
      if (retryable.length === 0) break;
      if (attempt >= this.maxAttempts) {
        final.push(...retryable.map(({ refusal }) => refusal));
        break;
      }
      pending = retryable.map(({ message }) => message);
      await this.sleep(fullJitterDelay(attempt, BACKOFF_BASE_MS, BACKOFF_CAP_MS));
    }
    return final;
  }

  /** One SendMessageBatch call; a call that throws fails every entry it carried. */
  private async attempt(messages: readonly Message<T>[]): Promise<{ message: Message<T>; refusal: RefusedItem<T> }[]> {
    try {
      const response = answered(
        await this.sqs.send(
          new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: messages.map(({ entry }, index) => ({ Id: String(index), ...entry })) }),
        ),
        'SendMessageBatch',
        this.queueUrl,
      );
      return (response.Failed ?? []).flatMap((entry) => {
        const message = messages[Number(entry.Id)];
        if (message === undefined) return [];
        return [
          {
            message,
            refusal: { item: message.item, code: entry.Code ?? 'Unknown', ...(entry.Message === undefined ? {} : { message: entry.Message }), senderFault: entry.SenderFault ?? false },
          },
        ];
      });
    } catch (error) {
      const code = error instanceof Error ? error.name : 'Error';
      const text = error instanceof Error ? error.message : String(error);
      return messages.map((message) => ({ message, refusal: { item: message.item, code, message: text, senderFault: false } }));
    }
  }
}
