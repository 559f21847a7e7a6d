/**
 * `microbatch dlq`: what the microbatch dead-letter queue holds, and purging it. Nothing is ever
 * redriven: the log is the source of truth, and once a node's cursor stands still the planner sends
 * the same work again (DESIGN §6), so a dead letter is only evidence of why a delivery failed.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { ValidationError } from '#shared/domain/errors.ts';
import { parseMicrobatch } from '#shared/domain/microbatch.ts';
import { plural } from '#local/counts.ts';

/**
 * How long listed messages stay hidden while the listing pages through the queue. A FIFO queue
 * returns the same first messages to every receive while they are visible (a receive with
 * VisibilityTimeout 0 never gets past them), so each page is held, and all are made visible again
 * at the end; if the command dies, SQS releases them after this long anyway.
 */
const HOLD_SECONDS = 30;
const SQS_BATCH = 10;

/** Said by `dlq list` and `dlq purge`: there is no redrive, by design. */
export const NO_REDRIVE =
  'nothing to redrive: the log is the source of truth, and the planner sends the same work again once a node’s cursor stands still; fix the cause, then purge';

/** One dead-lettered message, read without consuming it. */
export interface DeadLetter {
  readonly messageId: string;
  readonly node?: string;
  readonly interval?: number;
  /** Token `index` of `count` in its plan. */
  readonly index?: number;
  readonly count?: number;
  readonly target?: number;
  readonly receiveCount?: number;
  readonly firstReceivedAt?: string;
  readonly sentAt?: string;
  /** Why the body is not a microbatch, when it is not one. */
  readonly parseError?: string;
  /** The applier's logged reason for the failure, or why it is not known. */
  reason?: string;
}

/** The messages in the queue: visible, in flight and delayed. */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  return ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'].reduce(
    (sum, name) => sum + Number(Attributes[name as keyof typeof Attributes] ?? 0),
    0,
  );
}

/** A dead letter as the list shows it: the token's fields, or the body's parse error. */
export function describeDeadLetter(message: Message): DeadLetter {
  const attributes = message.Attributes ?? {};
  const time = (name: 'ApproximateFirstReceiveTimestamp' | 'SentTimestamp'): string | undefined => {
    const value = attributes[name];
    return value === undefined ? undefined : new Date(Number(value)).toISOString();
  };
  const receiveCount = attributes.ApproximateReceiveCount;
  const firstReceivedAt = time('ApproximateFirstReceiveTimestamp');
  const sentAt = time('SentTimestamp');
  const common = {
    messageId: message.MessageId ?? '(no id)',
    ...(receiveCount === undefined ? {} : { receiveCount: Number(receiveCount) }),
    ...(firstReceivedAt === undefined ? {} : { firstReceivedAt }),
    ...(sentAt === undefined ? {} : { sentAt }),
  };
  try {
    const token = parseMicrobatch(message.Body ?? '');
    return { ...common, node: token.nodeId, interval: token.interval, index: token.index, count: token.count, target: token.target };
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const group = attributes.MessageGroupId;
    return { ...common, ...(group === undefined ? {} : { node: group }), parseError: error.message };
  }
}

/**
 * Up to `limit` dead letters, left in the queue. A FIFO queue hands out a node's (message group's)
 * later messages only after its earlier ones, so the list shows each node's oldest dead letters
 * first; `depth` says how many there are in all.
 */
export async function listDeadLetters(sqs: SQSClient, queueUrl: string, limit: number): Promise<{ readonly depth: number; readonly letters: DeadLetter[] }> {
  const held: Message[] = [];
  try {
    while (held.length < limit) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(SQS_BATCH, limit - held.length),
          VisibilityTimeout: HOLD_SECONDS,
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ['All'],
        }),
      );
      if (Messages.length === 0) break;
      held.push(...Messages);
    }
  } finally {
    await release(sqs, queueUrl, held);
  }
  return { depth: await queueDepth(sqs, queueUrl), letters: held.map(describeDeadLetter) };
}

/** Makes held messages visible again at once. */
async function release(sqs: SQSClient, queueUrl: string, messages: readonly Message[]): Promise<void> {
  for (let start = 0; start < messages.length; start += SQS_BATCH) {
    const entries = messages.slice(start, start + SQS_BATCH).map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle ?? '', VisibilityTimeout: 0 }));
    const { Failed = [] } = await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    if (Failed.length > 0) {
      throw new Error(`ChangeMessageVisibilityBatch failed for ${plural(Failed.length, 'message')} (they reappear after ${HOLD_SECONDS} s): ${Failed[0]?.Message ?? Failed[0]?.Code ?? ''}`);
    }
  }
}

/** Deletes every message of the queue; returns how many there were. */
export async function purgeDeadLetters(sqs: SQSClient, queueUrl: string): Promise<number> {
  const depth = await queueDepth(sqs, queueUrl);
  if (depth > 0) await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
  return depth;
}
