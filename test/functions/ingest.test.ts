import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { GENESIS_CHAIN, nextChain } from '#shared/domain/chain.ts';
import { IdempotencyConflictError, ValidationError } from '#shared/domain/errors.ts';
import type { IngestRequest } from '#shared/domain/schemas.ts';
import { METRIC } from '#shared/metrics.ts';
import type { NewUpdate } from '#shared/domain/types.ts';
import type { AppendResult } from '#shared/usecases/append-updates.ts';
import { dynamoItemBytes, FakeIngestTables, MAX_ACTIONS, MAX_TRANSACTION_BYTES } from '#test/support/fake-ingest-tables.ts';
import { functionEnv, lambdaContext, stubEnv, TABLES } from '#test/support/lambda.ts';
import { logEntries, puts, STREAM } from './support.ts';

const doc = mockClient(DynamoDBDocumentClient);
const context = lambdaContext('MicrobatchSync-Ingest-AbC123');

/** The log already holds 41 updates. */
const HEAD_CHAIN = logEntries(puts(41)).at(-1)?.chain ?? GENESIS_CHAIN;

const UPDATES: NewUpdate[] = [
  { key: 'user/17', op: 'put', value: { name: 'Ada', tags: ['a', 'b'] } },
  { key: 'user/18', op: 'put', value: 3.5 },
  { key: 'user/9', op: 'delete' },
];

/** The Log and IngestRequests tables as DynamoDB would keep them for this test. */
let tables: FakeIngestTables;

function transactions(): TransactWriteCommandInput[] {
  return doc.commandCalls(TransactWriteCommand).map((call) => call.args[0].input);
}

/** The Log entries a transaction puts, as stored items. */
function putItems(input: TransactWriteCommandInput | undefined): Record<string, unknown>[] {
  return (input?.TransactItems ?? []).flatMap((item) => (item.Put?.Item && item.Put.TableName === TABLES.log ? [item.Put.Item] : []));
}

/** The chunk markers a transaction puts. */
function markerItems(input: TransactWriteCommandInput | undefined): Record<string, unknown>[] {
  return (input?.TransactItems ?? []).flatMap((item) => (item.Put?.Item && item.Put.TableName === TABLES.ingestRequests ? [item.Put.Item] : []));
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

describe('ingest handler', () => {
  let ingest: (request: unknown) => Promise<AppendResult>;

  beforeAll(async () => {
    stubEnv(functionEnv());
    // The handler reads its configuration at import: only now is the environment in place.
    const { handler } = await import('#functions/ingest/handler.ts');
    ingest = async (request) => (await handler(request as IngestRequest, context)) as AppendResult;
  });

  beforeEach(() => {
    doc.reset();
    tables = new FakeIngestTables(TABLES.log, TABLES.ingestRequests, STREAM);
    tables.head = { head: 41, headChain: HEAD_CHAIN };
    tables.install(doc);
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
    expect(result).toEqual({ updates: 3, appended: 3, replayed: 0, seqRanges: [{ firstSeq: 42, lastSeq: 44 }], head: 44, transactions: 1, retries: 0 });
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
    expect(doc).toHaveReceivedCommandTimes(QueryCommand, 0);
  });

  it('retries a transaction another producer beat, on the head it re-reads', async () => {
    // Prepare: between our read and our transaction another producer appends 4 updates.
    const theirs = logEntries(puts(4, 100), 41, HEAD_CHAIN);
    doc
      .on(TransactWriteCommand)
      .callsFakeOnce(() => {
        tables.head = { head: 45, headChain: theirs.at(-1)?.chain ?? '' };
        throw cancelled();
      })
      .callsFake((input: TransactWriteCommandInput) => tables.transact(input));

    // Act
    const result = await ingest({ updates: UPDATES });

    // Assess
    expect(doc).toHaveReceivedCommandTimes(GetCommand, 2);
    expect(doc).toHaveReceivedCommandTimes(TransactWriteCommand, 2);
    const [, retry] = transactions();
    expect(retry?.TransactItems?.[0]?.Update?.ExpressionAttributeValues).toMatchObject({ ':expected': 45, ':head': 48 });
    expectChained(putItems(retry), 45, theirs.at(-1)?.chain ?? '', UPDATES);
    expect(result).toEqual({ updates: 3, appended: 3, replayed: 0, seqRanges: [{ firstSeq: 46, lastSeq: 48 }], head: 48, transactions: 1, retries: 1 });
  });

  it('splits 150 updates into two transactions of 99 and 51 whose chain runs on unbroken', async () => {
    // Prepare: a stream's first append, so there is no head item yet.
    tables.head = undefined;
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
    expect(tables.head).toEqual({ head: 150, headChain: last });
    expect(result).toEqual({ updates: 150, appended: 150, replayed: 0, seqRanges: [{ firstSeq: 1, lastSeq: 99 }, { firstSeq: 100, lastSeq: 150 }], head: 150, transactions: 2, retries: 0 });
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

  it('writes no marker and reads none for a request without an idempotency key', async () => {
    // Act
    await ingest({ updates: puts(150) });

    // Assess
    expect(doc).toHaveReceivedCommandTimes(QueryCommand, 0);
    expect(transactions().flatMap(markerItems)).toEqual([]);
    expect(transactions().map((transaction) => putItems(transaction).length)).toEqual([99, 51]);
  });

  describe('with an idempotency key', () => {
    const KEY = 'producer-7/batch-0042';
    const REQUEST_ID = `${STREAM}#${KEY}`;

    /** Fails the nth transaction (from 1) the way a lost connection or a 5xx after the SDK's retries would. */
    function failTransaction(nth: number): void {
      let count = 0;
      doc.on(TransactWriteCommand).callsFake((input: TransactWriteCommandInput) => {
        count += 1;
        if (count === nth) throw Object.assign(new Error('We currently do not have sufficient capacity'), { name: 'InternalServerError' });
        return tables.transact(input);
      });
    }

    it('puts one marker per chunk in the chunk’s own transaction, on the condition that none is live', async () => {
      // Act
      const before = Math.floor(Date.now() / 1000);
      const result = await ingest({ updates: puts(150), idempotencyKey: KEY });

      // Assess: 98 updates beside the head item and the marker, then the other 52.
      expect(doc).toHaveReceivedCommandTimes(QueryCommand, 1);
      expect(doc).toHaveReceivedCommandWith(QueryCommand, { TableName: TABLES.ingestRequests, ConsistentRead: true, ExpressionAttributeValues: { ':requestId': REQUEST_ID } });
      expect(transactions().map((transaction) => putItems(transaction).length)).toEqual([98, 52]);
      const [first, second] = transactions();
      expect(first?.TransactItems?.[1]?.Put).toMatchObject({
        TableName: TABLES.ingestRequests,
        ConditionExpression: 'attribute_not_exists(#requestId) OR #expiresAt <= :now',
        Item: { requestId: REQUEST_ID, chunk: 0, chunks: 2, firstSeq: 42, lastSeq: 139, retries: 0 },
      });
      expect(markerItems(second)).toEqual([expect.objectContaining({ requestId: REQUEST_ID, chunk: 1, chunks: 2, firstSeq: 140, lastSeq: 191 })]);
      const markers = tables.markersOf(REQUEST_ID);
      expect(new Set(markers.map((marker) => marker.fingerprint)).size).toBe(1);
      expect(markers[0]?.fingerprint).toMatch(/^[0-9a-f]{64}$/);
      // The key is remembered for the default window of 24 hours, every marker to the same second.
      expect(Number(markers[0]?.expiresAt) - before).toBeGreaterThanOrEqual(24 * 3600);
      expect(Number(markers[0]?.expiresAt) - before).toBeLessThanOrEqual(24 * 3600 + 5);
      expect(markers[1]?.expiresAt).toBe(markers[0]?.expiresAt);
      expect(result).toEqual({ updates: 150, appended: 150, replayed: 0, seqRanges: [{ firstSeq: 42, lastSeq: 139 }, { firstSeq: 140, lastSeq: 191 }], head: 191, transactions: 2, retries: 0 });
    });

    it('resumes a retry after a partial failure: appends only the chunks that did not commit, each update once', async () => {
      // Prepare: the first attempt commits its first chunk, then its second transaction fails.
      const updates = puts(250);
      failTransaction(2);
      await expect(ingest({ updates, idempotencyKey: KEY })).rejects.toThrow('sufficient capacity');
      const committedBefore = tables.log().length;
      doc.on(TransactWriteCommand).callsFake((input: TransactWriteCommandInput) => tables.transact(input));

      // Act
      const result = await ingest({ updates, idempotencyKey: KEY });

      // Assess
      expect(committedBefore).toBe(98);
      expect(tables.log().map((item) => item.key)).toEqual(updates.map((update) => update.key));
      expect(tables.log().map((item) => item.seq)).toEqual(updates.map((_, index) => 42 + index));
      expect(tables.markersOf(REQUEST_ID).map((marker) => marker.chunk)).toEqual([0, 1, 2]);
      expect(result).toEqual({
        updates: 250,
        appended: 152,
        replayed: 98,
        seqRanges: [
          { firstSeq: 42, lastSeq: 139 },
          { firstSeq: 140, lastSeq: 237 },
          { firstSeq: 238, lastSeq: 291 },
        ],
        head: 291,
        transactions: 3,
        retries: 0,
      });
    });

    it('returns the same seqs for a request whose chunks are all committed, counted as replayed, without appending or reading the head', async () => {
      // Prepare
      const first = await ingest({ updates: puts(150), idempotencyKey: KEY });
      doc.resetHistory();

      // Act
      const again = await ingest({ updates: puts(150), idempotencyKey: KEY });

      // Assess
      expect(again).toEqual({ ...first, appended: 0, replayed: 150 });
      expect(doc).toHaveReceivedCommandTimes(QueryCommand, 1);
      expect(doc).toHaveReceivedCommandTimes(GetCommand, 0);
      expect(doc).toHaveReceivedCommandTimes(TransactWriteCommand, 0);
      expect(tables.log()).toHaveLength(150);
    });

    it('emits a first call’s updates as UpdatesIngested, none as UpdatesReplayed', async () => {
      // Prepare
      const { metrics } = await import('#shared/observability.ts');
      const emitted = vi.spyOn(metrics, 'addMetric');

      // Act
      await ingest({ updates: puts(150), idempotencyKey: KEY });

      // Assess
      expect(emitted).toHaveBeenCalledWith(METRIC.UpdatesIngested, 'Count', 150);
      expect(emitted).toHaveBeenCalledWith(METRIC.UpdatesReplayed, 'Count', 0);
      emitted.mockRestore();
    });

    it('emits as UpdatesIngested only what each call appended, and as UpdatesReplayed what it found committed', async () => {
      // Prepare: the first attempt commits its first chunk of 98, then its second transaction fails.
      const { metrics } = await import('#shared/observability.ts');
      const emitted = vi.spyOn(metrics, 'addMetric');
      const updates = puts(250);
      failTransaction(2);
      await expect(ingest({ updates, idempotencyKey: KEY })).rejects.toThrow('sufficient capacity');
      doc.on(TransactWriteCommand).callsFake((input: TransactWriteCommandInput) => tables.transact(input));

      // Act: the retry resumes, then a repeat of the same request finds everything committed.
      await ingest({ updates, idempotencyKey: KEY });
      await ingest({ updates, idempotencyKey: KEY });

      // Assess: one value per call that completed, in call order.
      const counted = (name: string): unknown[] => emitted.mock.calls.filter(([metric]) => metric === name).map(([, , value]) => value);
      expect(counted(METRIC.UpdatesIngested)).toEqual([152, 0]);
      expect(counted(METRIC.UpdatesReplayed)).toEqual([98, 250]);
      emitted.mockRestore();
    });

    it('rejects the same key with other updates with IdempotencyConflictError, appending nothing', async () => {
      // Prepare
      await ingest({ updates: UPDATES, idempotencyKey: KEY });
      doc.resetHistory();

      // Act
      const invocation = ingest({ updates: [{ key: 'user/99', op: 'delete' }], idempotencyKey: KEY });

      // Assess
      await expect(invocation).rejects.toThrow(IdempotencyConflictError);
      await expect(invocation).rejects.toThrow(`idempotency key "${KEY}" was already used for other updates: send a new request with a new key`);
      expect(doc).toHaveReceivedCommandTimes(TransactWriteCommand, 0);
      expect(tables.log()).toHaveLength(3);
    });

    it('lets two deliveries of one request run at once: each chunk commits once, both return the same seqs, and each update is appended by one of them', async () => {
      // Act
      const [one, other] = await Promise.all([ingest({ updates: puts(250), idempotencyKey: KEY }), ingest({ updates: puts(250), idempotencyKey: KEY })]);

      // Assess: the loser of each chunk's race found the winner's marker and moved on.
      expect(tables.committed).toHaveLength(3);
      expect(tables.log().map((item) => item.key)).toEqual(puts(250).map((update) => update.key));
      expect({ ...other, appended: 0, replayed: 0 }).toEqual({ ...one, appended: 0, replayed: 0 });
      expect(one.appended + other.appended).toBe(250);
      expect([one.appended + one.replayed, other.appended + other.replayed]).toEqual([250, 250]);
      expect(doc.commandCalls(QueryCommand).length).toBeGreaterThan(2);
    });
  });
});
