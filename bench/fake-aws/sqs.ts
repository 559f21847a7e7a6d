/**
 * The SQS side of the fake AWS endpoint (endpoint.ts): SendMessageBatch in the JSON protocol, every
 * entry accepted with the MD5 of its body — the SDK checks each one and throws on a mismatch — and a
 * FIFO queue's entries given sequence numbers. Queues are counted (calls, messages, bytes and the
 * requests SQS bills: one per started 64 KB of a call's payload); a queue created with `keep`
 * also keeps its bodies, for the coordinators' shard tasks.
 */
import { createHash } from 'node:crypto';
import { PRICES } from '../pricing.ts';
import type { Answer } from './dynamodb.ts';

export interface QueueStats {
  calls: number;
  messages: number;
  bodyBytes: number;
  /** Requests as SQS bills them: one per started 64 KB of each call's payload. */
  billableRequests: number;
  largestCallBytes: number;
}

interface Queue {
  readonly stats: QueueStats;
  readonly bodies?: string[];
}

function sqsError(type: string, message: string): Answer {
  return { status: 400, body: JSON.stringify({ __type: `com.amazonaws.sqs#${type}`, message }) };
}

/** SQS queues that accept every batch, count it and, when asked, keep the bodies. */
export class FakeSqs {
  private readonly queues = new Map<string, Queue>();
  private messageIds = 0;

  createQueue(url: string, options: { readonly keep?: boolean } = {}): void {
    this.queues.set(url, { stats: { calls: 0, messages: 0, bodyBytes: 0, billableRequests: 0, largestCallBytes: 0 }, ...(options.keep === true ? { bodies: [] } : {}) });
  }

  stats(url: string): QueueStats {
    return { ...this.queue(url).stats };
  }

  /** The bodies a `keep` queue received, oldest first; the queue forgets them. */
  take(url: string): string[] {
    const bodies = this.queue(url).bodies;
    if (bodies === undefined) throw new RangeError(`queue ${url} keeps no bodies`);
    return bodies.splice(0);
  }

  resetStats(url: string): void {
    Object.assign(this.queue(url).stats, { calls: 0, messages: 0, bodyBytes: 0, billableRequests: 0, largestCallBytes: 0 });
  }

  handle(operation: string, request: Readonly<Record<string, unknown>>): Answer {
    if (operation !== 'SendMessageBatch') return sqsError('UnsupportedOperation', `the fake endpoint does not serve ${operation}`);
    const queue = this.queues.get(String(request.QueueUrl));
    if (queue === undefined) return sqsError('QueueDoesNotExist', `The specified queue does not exist: ${String(request.QueueUrl)}`);
    const entries = (request.Entries ?? []) as { Id: string; MessageBody: string }[];
    const fifo = String(request.QueueUrl).endsWith('.fifo');
    let bytes = 0;
    const successful = entries.map(({ Id, MessageBody }) => {
      bytes += Buffer.byteLength(MessageBody);
      queue.bodies?.push(MessageBody);
      this.messageIds += 1;
      return {
        Id,
        MessageId: `00000000-0000-4000-8000-${String(this.messageIds).padStart(12, '0')}`,
        MD5OfMessageBody: createHash('md5').update(MessageBody).digest('hex'),
        ...(fifo ? { SequenceNumber: String(this.messageIds).padStart(20, '0') } : {}),
      };
    });
    const { stats } = queue;
    stats.calls += 1;
    stats.messages += entries.length;
    stats.bodyBytes += bytes;
    stats.billableRequests += Math.max(1, Math.ceil(bytes / PRICES.sqs.chunkBytes));
    stats.largestCallBytes = Math.max(stats.largestCallBytes, bytes);
    return { status: 200, body: JSON.stringify({ Successful: successful, Failed: [] }) };
  }

  private queue(url: string): Queue {
    const queue = this.queues.get(url);
    if (queue === undefined) throw new RangeError(`no queue ${url}`);
    return queue;
  }
}
