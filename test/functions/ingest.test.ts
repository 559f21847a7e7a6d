import { IdempotencyAlreadyInProgressError, IdempotencyValidationError } from '@aws-lambda-powertools/idempotency';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  TransactionCanceledException,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GENESIS_CHAIN, nextChain } from '#shared/domain/chain.ts';
import { ValidationError } from '#shared/domain/errors.ts';
import type { IngestRequest } from '#shared/domain/schemas.ts';
import type { NewUpdate } from '#shared/domain/types.ts';
import type { AppendResult } from '#shared/usecases/append-updates.ts';
import { functionEnv, lambdaContext, stubEnv, TABLES } from '#test/support/lambda.ts';
import { headItem, logEntries, puts, STREAM } from './support.ts';

const doc = mockClient(DynamoDBDocumentClient);
/** Powertools idempotency talks to the low-level client the handler shares with its document client. */
const idempotencyTable = mockClient(DynamoDBClient);
const FUNCTION_NAME = 'MicrobatchSync-Ingest-AbC123';
const context = lambdaContext(FUNCTION_NAME);

/** The log already holds 41 updates. */
const HEAD_CHAIN = logEntries(puts(41)).at(-1)?.chain ?? GENESIS_CHAIN;

const UPDATES: NewUpdate[] = [
  { key: 'user/17', op: 'put', value: { name: 'Ada', tags: ['a', 'b'] } },
  { key: 'user/18', op: 'put', value: 3.5 },
  { key: 'user/9', op: 'delete' },
];

interface Head {
  head: number;
  headChain: string;
}
/** The Log's head item as the mocks keep it; undefined until a stream's first append. */
let stored: Head | undefined;

/** DynamoDB's limits on one TransactWriteItems: 100 actions, 4 MiB of items (binary units). */
const MAX_ACTIONS = 100;
const MAX_TRANSACTION_BYTES = 4 * 1024 * 1024;

/**
 * An item's size by AWS's rule, written here independently of the code under test: attribute
 * names plus values, strings in UTF-8, numbers 1 byte per two digits plus 1.
 */
function dynamoItemBytes(item: Readonly<Record<string, unknown>>): number {
  return Object.entries(item).reduce((sum, [name, value]) => {
    const bytes = typeof value === 'number' ? 1 + Math.ceil(String(value).length / 2) : Buffer.byteLength(String(value), 'utf8');
    return sum + Buffer.byteLength(name, 'utf8') + bytes;
  }, 0);
}

/**
 * Commits a transaction the way DynamoDB would: one over its limits fails whole with the
 * ValidationException DynamoDB returns; otherwise the head item takes the values it sets.
 */
function commit(input: TransactWriteCommandInput): Record<string, never> {
  const items = input.TransactItems ?? [];
  const bytes = items.reduce((sum, item) => sum + dynamoItemBytes(item.Put?.Item ?? {}), 0);
  if (items.length > MAX_ACTIONS || bytes > MAX_TRANSACTION_BYTES) {
    throw Object.assign(new Error(`Transaction payload size cannot exceed 4MB. Payload Size: ${bytes}`), { name: 'ValidationException' });
  }
  const values = items[0]?.Update?.ExpressionAttributeValues;
  stored = { head: Number(values?.[':head']), headChain: String(values?.[':chain']) };
  return {};
}

function transactions(): TransactWriteCommandInput[] {
  return doc.commandCalls(TransactWriteCommand).map((call) => call.args[0].input);
}

/** The entries a transaction puts, as stored items. */
function putItems(input: TransactWriteCommandInput | undefined): Record<string, unknown>[] {
  return (input?.TransactItems ?? []).flatMap((item) => (item.Put?.Item ? [item.Put.Item] : []));
}

/** Checks that `items` link on from `chain`, each chained over its own update, and returns the last link. */
function expectChained(items: readonly Record<string, unknown>[], fromSeq: number, chain: string, updates: readonly NewUpdate[]): string {
  let previous = chain;
  items.forEach((item, index) => {
    const seq = fromSeq + index + 1;
    const update = updates[index];
    if (update === undefined) throw new Error(`no update for seq ${seq}`);
    previous = nextChain(previous, seq, update);
    expect(item).toEqual({
      stream: STREAM,
      seq,
      key: update.key,
      op: update.op,
      ...(update.value === undefined ? {} : { value: JSON.stringify(update.value) }),
      chain: previous,
      producedAt: expect.any(String) as unknown,
    });
  });
  return previous;
}

function cancelled(): TransactionCanceledException {
  return new TransactionCanceledException({
    message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None, None, None]',
    $metadata: {},
    CancellationReasons: [{ Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' }, { Code: 'None' }, { Code: 'None' }, { Code: 'None' }],
  });
}

/** Powertools' conditional put failing on an existing record, which DynamoDB returns (ALL_OLD). */
function recordExists(item: Record<string, AttributeValue>): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {}, Item: item });
}

describe('ingest handler', () => {
  let ingest: (request: unknown) => Promise<AppendResult>;

  beforeAll(async () => {
    // Powertools prefixes idempotency keys with the function name it finds at cold start.
    stubEnv(functionEnv({ AWS_LAMBDA_FUNCTION_NAME: FUNCTION_NAME }));
    // The handler reads its configuration at import: only now is the environment in place.
    const { handler } = await import('#functions/ingest/handler.ts');
    ingest = async (request) => (await handler(request as IngestRequest, context)) as AppendResult;
  });

  beforeEach(() => {
    doc.reset();
    idempotencyTable.reset();
    stored = { head: 41, headChain: HEAD_CHAIN };
    doc.on(GetCommand, { TableName: TABLES.log, Key: { stream: STREAM, seq: 0 } }).callsFake(() => (stored ? { Item: headItem(stored.head, stored.headChain) } : {}));
    doc.on(TransactWriteCommand).callsFake(commit);
    idempotencyTable.on(PutItemCommand).resolves({});
    idempotencyTable.on(UpdateItemCommand).resolves({});
    idempotencyTable.on(DeleteItemCommand).resolves({});
  });

  it('appends valid updates in one transaction: the head condition plus one put per update, chained', async () => {
    // Act
    const result = await ingest({ updates: UPDATES });

    // Assess
    expect(doc).toHaveReceivedCommandWith(GetCommand, { TableName: TABLES.log, Key: { stream: STREAM, seq: 0 }, ConsistentRead: true });
    expect(doc).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    const [transaction] = transactions();
    const items = putItems(transaction);
    const last = expectChained(items, 41, HEAD_CHAIN, UPDATES);
    expect(transaction?.TransactItems?.[0]?.Update).toMatchObject({
      TableName: TABLES.log,
      Key: { stream: STREAM, seq: 0 },
      ConditionExpression: '#head = :expected',
      ExpressionAttributeValues: { ':expected': 41, ':head': 44, ':chain': last },
    });
    for (const item of transaction?.TransactItems?.slice(1) ?? []) {
      expect(item.Put).toMatchObject({ TableName: TABLES.log, ConditionExpression: 'attribute_not_exists(#seq)' });
    }
    expect(result).toEqual({ updates: 3, seqRanges: [{ firstSeq: 42, lastSeq: 44 }], head: 44, transactions: 1, retries: 0 });
  });

  it.each([
    ['a bad key among good updates', { updates: [UPDATES[0], { key: '', op: 'put', value: 1 }, UPDATES[1]] }, /\bupdates\.1\.key: /],
    ['a put without a value', { updates: [{ key: 'user/1', op: 'put' }] }, /\bupdates\.0\.value: /],
    ['an unknown op', { updates: [{ key: 'user/1', op: 'upsert', value: 1 }] }, /\bupdates\.0\.op: /],
    ['an update whose log item would exceed DynamoDB’s 400 KiB item limit', { updates: [UPDATES[0], { key: 'user/1', op: 'put', value: 'x'.repeat(400 * 1024) }] }, /\bupdates\.1: /],
    ['an empty list of updates', { updates: [] }, /\bupdates: /],
    ['an event that is not an object', 'append user/17 please', /\(root\): /],
  ])('rejects %s whole with a ValidationError naming the field, and appends nothing', async (_what, request, field) => {
    // Act
    const invocation = ingest(request);

    // Assess
    await expect(invocation).rejects.toThrow(ValidationError);
    await expect(invocation).rejects.toThrow(field);
    expect(doc).toHaveReceivedCommandTimes(TransactWriteCommand, 0);
    expect(idempotencyTable.calls()).toHaveLength(0);
  });

  it('retries a transaction another producer beat, on the head it re-reads', async () => {
    // Prepare: between our read and our transaction another producer appends 4 updates.
    const theirs = logEntries(puts(4, 100), 41, HEAD_CHAIN);
    doc.on(TransactWriteCommand).callsFakeOnce(() => {
      stored = { head: 45, headChain: theirs.at(-1)?.chain ?? '' };
      throw cancelled();
    });

    // Act
    const result = await ingest({ updates: UPDATES });

    // Assess
    expect(doc).toHaveReceivedCommandTimes(GetCommand, 2);
    expect(doc).toHaveReceivedCommandTimes(TransactWriteCommand, 2);
    const [, retry] = transactions();
    expect(retry?.TransactItems?.[0]?.Update?.ExpressionAttributeValues).toMatchObject({ ':expected': 45, ':head': 48 });
    expectChained(putItems(retry), 45, theirs.at(-1)?.chain ?? '', UPDATES);
    expect(result).toEqual({ updates: 3, seqRanges: [{ firstSeq: 46, lastSeq: 48 }], head: 48, transactions: 1, retries: 1 });
  });

  it('splits 150 updates into two transactions of 99 and 51 whose chain runs on unbroken', async () => {
    // Prepare: a stream's first append, so there is no head item yet.
    stored = undefined;
    const updates = puts(150);

    // Act
    const result = await ingest({ updates });

    // Assess
    const [first, second] = transactions();
    expect(transactions()).toHaveLength(2);
    expect(putItems(first)).toHaveLength(99);
    expect(putItems(second)).toHaveLength(51);
    expect(first?.TransactItems?.[0]?.Update).toMatchObject({
      ConditionExpression: 'attribute_not_exists(#head) OR #head = :expected',
      ExpressionAttributeValues: { ':expected': 0, ':head': 99 },
    });
    expect(second?.TransactItems?.[0]?.Update).toMatchObject({ ConditionExpression: '#head = :expected', ExpressionAttributeValues: { ':expected': 99, ':head': 150 } });
    const middle = expectChained(putItems(first), 0, GENESIS_CHAIN, updates.slice(0, 99));
    const last = expectChained(putItems(second), 99, middle, updates.slice(99));
    expect(stored).toEqual({ head: 150, headChain: last });
    expect(result).toEqual({ updates: 150, seqRanges: [{ firstSeq: 1, lastSeq: 99 }, { firstSeq: 100, lastSeq: 150 }], head: 150, transactions: 2, retries: 0 });
  });

  it('splits 13 updates of 340 KiB into transactions DynamoDB accepts, each under 4 MiB', async () => {
    // Prepare
    const updates = Array.from({ length: 13 }, (_, index): NewUpdate => ({ key: `blob/${index}`, op: 'put', value: 'x'.repeat(340 * 1024) }));

    // Act
    const result = await ingest({ updates });

    // Assess
    const sizes = transactions().map((transaction) => putItems(transaction).reduce((sum, item) => sum + dynamoItemBytes(item), 0));
    expect(sizes.every((size) => size <= MAX_TRANSACTION_BYTES)).toBe(true);
    expect(transactions().map((transaction) => putItems(transaction).length)).toEqual([12, 1]);
    expect(result).toMatchObject({ updates: 13, head: 54, transactions: 2 });
  });

  it('appends 99 small updates and then 51 of 100 KiB, each once and in order, in transactions under 4 MiB', async () => {
    // Prepare
    const updates = [...puts(99), ...Array.from({ length: 51 }, (_, index): NewUpdate => ({ key: `blob/${index}`, op: 'put', value: 'y'.repeat(100 * 1024) }))];

    // Act
    const result = await ingest({ updates });

    // Assess
    const items = transactions().flatMap(putItems);
    expect(items.map((item) => item.key)).toEqual(updates.map((update) => update.key));
    expect(items.map((item) => item.seq)).toEqual(updates.map((_, index) => 42 + index));
    expect(transactions().every((transaction) => (transaction.TransactItems?.length ?? 0) <= MAX_ACTIONS)).toBe(true);
    expect(result).toMatchObject({ updates: 150, head: 191 });
  });

  it('makes no idempotency call for a request without an idempotency key', async () => {
    // Act
    await ingest({ updates: UPDATES });

    // Assess
    expect(idempotencyTable.calls()).toHaveLength(0);
    expect(doc).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
  });

  describe('with an idempotency key', () => {
    const request = { updates: UPDATES, idempotencyKey: 'producer-7/batch-0042' };

    /** Runs `request` once and returns the record Powertools stored for it, as DynamoDB would hold it once COMPLETED. */
    async function completedRecord(): Promise<{ item: Record<string, AttributeValue>; result: AppendResult }> {
      const result = await ingest(request);
      const put = idempotencyTable.commandCalls(PutItemCommand)[0]?.args[0].input;
      const update = idempotencyTable.commandCalls(UpdateItemCommand)[0]?.args[0].input;
      const data = update?.ExpressionAttributeValues?.[':response_data'];
      if (put?.Item === undefined || data === undefined) throw new Error('the first request stored no idempotency record');
      return { item: { ...put.Item, status: { S: 'COMPLETED' }, data }, result };
    }

    it('records the request in the idempotency table, in progress first and completed with its result', async () => {
      // Act
      const result = await ingest(request);

      // Assess
      expect(idempotencyTable).toHaveReceivedCommandTimes(PutItemCommand, 1);
      const put = idempotencyTable.commandCalls(PutItemCommand)[0]?.args[0].input;
      expect(put?.TableName).toBe(TABLES.idempotency);
      expect(put?.Item?.status).toEqual({ S: 'INPROGRESS' });
      expect(put?.Item?.id?.S).toMatch(new RegExp(`^${FUNCTION_NAME}#`));
      expect(put?.ConditionExpression).toContain('attribute_not_exists(#id)');
      // The lock lasts as long as the invocation may: the 30 s the Lambda context has left.
      expect(Number(put?.Item?.in_progress_expiration?.N) - Date.now()).toBeGreaterThan(25_000);
      expect(Number(put?.Item?.in_progress_expiration?.N) - Date.now()).toBeLessThanOrEqual(30_000);
      expect(idempotencyTable).toHaveReceivedCommandWith(UpdateItemCommand, {
        TableName: TABLES.idempotency,
        Key: { id: { S: put?.Item?.id?.S ?? '' } },
      });
      const update = idempotencyTable.commandCalls(UpdateItemCommand)[0]?.args[0].input;
      expect(update?.ExpressionAttributeValues?.[':status']).toEqual({ S: 'COMPLETED' });
      expect(update?.ExpressionAttributeValues?.[':response_data']?.M?.head).toEqual({ N: '44' });
      expect(doc).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
      expect(result.head).toBe(44);
    });

    it('returns the stored result of a completed request without appending again', async () => {
      // Prepare
      const first = await completedRecord();
      idempotencyTable.on(PutItemCommand).rejects(recordExists(first.item));
      const reads = doc.commandCalls(GetCommand).length;

      // Act
      const result = await ingest(request);

      // Assess
      expect(result).toEqual(first.result);
      expect(doc).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
      expect(doc.commandCalls(GetCommand)).toHaveLength(reads);
      expect(idempotencyTable).toHaveReceivedCommandTimes(DeleteItemCommand, 0);
    });

    it('rejects the same key with other updates, appends nothing, and keeps the first request’s record', async () => {
      // Prepare
      const first = await completedRecord();
      idempotencyTable.on(PutItemCommand).rejects(recordExists(first.item));

      // Act
      const invocation = ingest({ ...request, updates: [{ key: 'user/99', op: 'delete' }] });

      // Assess
      await expect(invocation).rejects.toThrow(IdempotencyValidationError);
      expect(doc).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
      expect(idempotencyTable).toHaveReceivedCommandTimes(DeleteItemCommand, 0);
    });

    it('rejects a duplicate while the first request is still in progress, and keeps that request’s lock', async () => {
      // Prepare: the first request holds the lock: its record is in progress, for 30 more seconds.
      const first = await completedRecord();
      const inProgress: Record<string, AttributeValue> = { ...first.item, status: { S: 'INPROGRESS' }, in_progress_expiration: { N: String(Date.now() + 30_000) } };
      delete inProgress.data;
      idempotencyTable.on(PutItemCommand).rejects(recordExists(inProgress));

      // Act
      const invocation = ingest(request);

      // Assess
      await expect(invocation).rejects.toThrow(IdempotencyAlreadyInProgressError);
      expect(doc).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
      expect(idempotencyTable).toHaveReceivedCommandTimes(DeleteItemCommand, 0);
    });

    it('deletes its in-progress record when the append fails, so that the producer may retry', async () => {
      // Prepare
      doc.on(TransactWriteCommand).rejects(Object.assign(new Error('Throughput exceeds the current capacity of your table'), { name: 'ProvisionedThroughputExceededException' }));

      // Act
      const invocation = ingest(request);

      // Assess
      await expect(invocation).rejects.toThrow('Throughput exceeds');
      const put = idempotencyTable.commandCalls(PutItemCommand)[0]?.args[0].input;
      expect(idempotencyTable).toHaveReceivedCommandWith(DeleteItemCommand, { TableName: TABLES.idempotency, Key: { id: { S: put?.Item?.id?.S ?? '' } } });
      expect(idempotencyTable).toHaveReceivedCommandTimes(UpdateItemCommand, 0);
    });
  });

});
