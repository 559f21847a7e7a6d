/**
 * AWS on-demand list prices (us-east-1) for what a run uses, and the cost of a run's counted
 * requests at those prices. Free tiers are left out: the figure is the marginal cost of the work.
 */

export const PRICES = {
  region: 'us-east-1',
  /** When these prices were last compared with the pricing pages. */
  checked: '2026-11-30',
  note: 'List prices in USD as published on the pricing pages below (DynamoDB on-demand since the 50 % cut of 1 November 2024); free tiers ignored.',
  dynamodb: {
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    /** Per write request unit (1 KB written; a transactional write is 2). */
    perWriteRequestUnit: 0.625 / 1e6,
    /** Per read request unit (4 KB read strongly consistent; eventually consistent is half). */
    perReadRequestUnit: 0.125 / 1e6,
  },
  sqs: {
    source: 'https://aws.amazon.com/sqs/pricing/',
    /** Per FIFO request; each 64 KB chunk of a request's payload is billed as one request. */
    perFifoRequest: 0.5 / 1e6,
    /** Per standard-queue request (the shard task queues), billed by the same 64 KB chunks. */
    perStandardRequest: 0.4 / 1e6,
    chunkBytes: 64 * 1024,
  },
  lambda: {
    source: 'https://aws.amazon.com/lambda/pricing/',
    perRequest: 0.2 / 1e6,
    /** Arm (the stack's architecture), first 7.5 billion GB-seconds a month. */
    perGbSecondArm: 0.0000133334,
  },
} as const;

/** What a run used, counted from its requests. */
export interface Usage {
  readonly writeRequestUnits: number;
  readonly readRequestUnits: number;
  readonly sqsRequests: number;
  readonly lambdaRequests: number;
  readonly lambdaGbSeconds: number;
}

export interface Cost {
  readonly dynamodb: number;
  readonly sqs: number;
  readonly lambda: number;
  readonly total: number;
}

/** USD for `usage` at {@link PRICES}. */
export function costOf(usage: Usage): Cost {
  const dynamodb = usage.writeRequestUnits * PRICES.dynamodb.perWriteRequestUnit + usage.readRequestUnits * PRICES.dynamodb.perReadRequestUnit;
  const sqs = usage.sqsRequests * PRICES.sqs.perFifoRequest;
  const lambda = usage.lambdaRequests * PRICES.lambda.perRequest + usage.lambdaGbSeconds * PRICES.lambda.perGbSecondArm;
  return { dynamodb, sqs, lambda, total: dynamodb + sqs + lambda };
}

/** `cost` scaled from `units` to a million of them. */
export function perMillion(cost: Cost, units: number): Cost {
  const scale = (value: number): number => Number(((value / units) * 1e6).toFixed(4));
  return { dynamodb: scale(cost.dynamodb), sqs: scale(cost.sqs), lambda: scale(cost.lambda), total: scale(cost.total) };
}

/** Operations that move messages: what a queue's traffic bills. */
const MESSAGE_OPERATIONS = new Set(['SendMessage', 'SendMessageBatch', 'ReceiveMessage', 'DeleteMessage', 'DeleteMessageBatch', 'ChangeMessageVisibility', 'ChangeMessageVisibilityBatch']);

function chunks(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / PRICES.sqs.chunkBytes));
}

function textBytes(value: unknown): number {
  return typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : 0;
}

function bodyBytes(entries: unknown, field: 'MessageBody' | 'Body'): number {
  return (Array.isArray(entries) ? (entries as Record<string, unknown>[]) : []).reduce((sum, entry) => sum + textBytes(entry[field]), 0);
}

/**
 * Billable SQS requests among recorded exchanges: sends, receives that returned messages, deletes
 * and visibility changes, each counted once per started 64 KB of message payload. Receives that
 * found nothing and the local event source's GetQueueAttributes are left out: they are idle polling,
 * which costs by the hour (Lambda's pollers), not by the update.
 */
export function billableSqsRequests(exchanges: readonly { readonly operation: string; readonly request: Readonly<Record<string, unknown>>; readonly response: Readonly<Record<string, unknown>> }[]): {
  readonly billable: number;
  readonly leftOut: number;
} {
  let billable = 0;
  let leftOut = 0;
  for (const { operation, request, response } of exchanges) {
    if (!MESSAGE_OPERATIONS.has(operation)) {
      leftOut += 1;
      continue;
    }
    if (operation === 'SendMessage') billable += chunks(textBytes(request.MessageBody));
    else if (operation === 'SendMessageBatch') billable += chunks(bodyBytes(request.Entries, 'MessageBody'));
    else if (operation === 'ReceiveMessage') {
      const messages = response.Messages;
      if (!Array.isArray(messages) || messages.length === 0) leftOut += 1;
      else billable += chunks(bodyBytes(messages, 'Body'));
    } else billable += 1;
  }
  return { billable, leftOut };
}
