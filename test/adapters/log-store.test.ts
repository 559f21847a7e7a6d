import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { BatchGetCommandInput, QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { MAX_ENTRIES_PER_APPEND } from '#shared/domain/ports.ts';
import { MalformedItemError, UnprocessedKeysError } from '#shared/adapters/errors.ts';
import { GENESIS_CHAIN, nextChain } from '#shared/domain/chain.ts';
import { AppendThrottledError, ChunkCommittedError, HeadMovedError } from '#shared/domain/errors.ts';
import { OP_NAMES, OPS } from '#shared/domain/ops.ts';
import type { ChunkMarker } from '#shared/domain/ingest.ts';
import type { JsonValue, LogEntry, LogHead } from '#shared/domain/types.ts';
import { documentClient, noSleep, throttled } from './support.ts';

const TABLE = 'Log';
const STREAM = 'main';
const ddbMock = mockClient(DynamoDBDocumentClient);

/** Entries `from+1 … from+count` linked on from `chain`, values chosen to stress the JSON round trip. */
function entries(from: number, count: number, chain = GENESIS_CHAIN): LogEntry[] {
  const result: LogEntry[] = [];
  let previous = chain;
  for (let seq = from + 1; seq <= from + count; seq += 1) {
    const update = seq % 5 === 0 ? { key: `k${seq % 7}`, op: 'delete' as const } : { key: `k${seq % 7}`, op: 'put' as const, value: { seq, big: 1e300 } };
    previous = nextChain(previous, seq, update);
    result.push({ ...update, seq, chain: previous, producedAt: `2026-11-27T10:00:${String(seq % 60).padStart(2, '0')}Z` });
  }
  return result;
}

/** What readChains returns for an entry: its link, not the update. */
function link(entry: LogEntry | undefined): { seq: number; chain: string; producedAt: string } {
  if (entry === undefined) throw new Error('no such entry');
  return { seq: entry.seq, chain: entry.chain, producedAt: entry.producedAt };
}

/** The item the adapter stores for an entry: the value as JSON text. */
function stored(entry: LogEntry): Record<string, unknown> {
  return {
    stream: STREAM,
    seq: entry.seq,
    key: entry.key,
    op: entry.op,
    ...(entry.value === undefined ? {} : { value: JSON.stringify(entry.value) }),
    chain: entry.chain,
    producedAt: entry.producedAt,
  };
}

function cancelled(...codes: string[]): TransactionCanceledException {
  return new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
}

describe('DynamoLogStore', () => {
  let store: DynamoLogStore;

  beforeEach(() => {
    ddbMock.reset();
    store = new DynamoLogStore(documentClient(), TABLE, { sleep: noSleep });
  });

  describe('readHead', () => {
    it('returns head 0 and the genesis chain for a stream without a head item', async () => {
      // Prepare
      ddbMock.on(GetCommand).resolves({});

      // Act
      const head = await store.readHead(STREAM);

      // Assess
      expect(head).toEqual({ head: 0, headChain: GENESIS_CHAIN });
      expect(ddbMock).toHaveReceivedCommandWith(GetCommand, { TableName: TABLE, Key: { stream: STREAM, seq: 0 }, ConsistentRead: true });
    });

    it('returns the stored head, chain and update time', async () => {
      // Prepare
      ddbMock.on(GetCommand).resolves({ Item: { stream: STREAM, seq: 0, head: 42, headChain: 'c42', updatedAt: '2026-11-27T10:00:00Z' } });

      // Act
      const head = await store.readHead(STREAM);

      // Assess
      expect(head).toEqual({ head: 42, headChain: 'c42', updatedAt: '2026-11-27T10:00:00Z' });
    });

    it('names the attribute of a malformed head item', async () => {
      // Prepare
      ddbMock.on(GetCommand).resolves({ Item: { stream: STREAM, seq: 0, head: '42', headChain: 'c42' } });

      // Act & Assess
      await expect(store.readHead(STREAM)).rejects.toThrow(new MalformedItemError(TABLE, 'head', 'is not a number'));
    });
  });

  describe('readRange', () => {
    it('pages through LastEvaluatedKey and returns the entries in order with parsed values', async () => {
      // Prepare
      const log = entries(10, 6);
      ddbMock
        .on(QueryCommand)
        .resolvesOnce({ Items: log.slice(0, 4).map(stored), LastEvaluatedKey: { stream: STREAM, seq: 14 } })
        .resolvesOnce({ Items: log.slice(4).map(stored) });

      // Act
      const result = await store.readRange(STREAM, 10, 16);

      // Assess
      expect(result).toEqual(log);
      expect(result[0]?.value).toEqual({ seq: 11, big: 1e300 });
      expect(result[4]).not.toHaveProperty('value');
      expect(ddbMock).toHaveReceivedCommandTimes(QueryCommand, 2);
      expect(ddbMock).toHaveReceivedNthCommandWith(QueryCommand, 2, { ExclusiveStartKey: { stream: STREAM, seq: 14 } });
    });

    it('asks for seqs from+1 through to with a consistent read', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: [] });

      // Act
      await store.readRange(STREAM, 10, 16);

      // Assess
      const input = ddbMock.commandCalls(QueryCommand)[0]?.args[0].input as QueryCommandInput;
      expect(input).toMatchObject({ TableName: TABLE, ConsistentRead: true, ExpressionAttributeValues: { ':stream': STREAM, ':lo': 11, ':hi': 16 } });
      expect(input.ExclusiveStartKey).toBeUndefined();
      expect(input.KeyConditionExpression).toBe('#stream = :stream AND #seq BETWEEN :lo AND :hi');
    });

    it('returns fewer entries than asked when the rest are not yet visible', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: entries(0, 2).map(stored) });

      // Act
      const result = await store.readRange(STREAM, 0, 5);

      // Assess
      expect(result.map((entry) => entry.seq)).toEqual([1, 2]);
    });

    it.each([
      [5, 5],
      [5, 3],
    ])('reads nothing when to (%i) is not past from (%i)', async (from, to) => {
      // Act
      const result = await store.readRange(STREAM, from, to);

      // Assess
      expect(result).toEqual([]);
      expect(ddbMock).not.toHaveReceivedAnyCommand();
    });

    it('never reads the head item as an entry', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: [] });

      // Act
      await store.readRange(STREAM, -3, 2);

      // Assess
      expect(ddbMock).toHaveReceivedCommandWith(QueryCommand, { ExpressionAttributeValues: { ':stream': STREAM, ':lo': 1, ':hi': 2 } });
    });

    it.each(OP_NAMES)('reads back an entry whose op is %s', async (op) => {
      // Prepare
      const update = OPS[op].value === 'required' ? { key: 'k', op, value: { n: 1 } } : { key: 'k', op };
      const entry: LogEntry = { ...update, seq: 1, chain: nextChain(GENESIS_CHAIN, 1, update), producedAt: '2026-11-27T10:00:01Z' };
      ddbMock.on(QueryCommand).resolves({ Items: [stored(entry)] });

      // Act
      const result = await store.readRange(STREAM, 0, 1);

      // Assess
      expect(result).toEqual([entry]);
    });

    it('rejects an entry whose op is not in the op list', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: [{ ...stored(entries(0, 1)[0] as LogEntry), op: 'upsert' }] });

      // Act & Assess
      await expect(store.readRange(STREAM, 0, 1)).rejects.toBeInstanceOf(MalformedItemError);
    });
  });

  describe('readChains', () => {
    /** Answers each BatchGetItem with the entries of the keys it asked for. */
    function answerFromLog(log: readonly LogEntry[]): void {
      ddbMock.on(BatchGetCommand).callsFake((input: BatchGetCommandInput) => {
        const keys = input.RequestItems?.[TABLE]?.Keys ?? [];
        const seqs = new Set(keys.map((key) => key.seq as number));
        return { Responses: { [TABLE]: log.filter((entry) => seqs.has(entry.seq)).map(stored) } };
      });
    }

    function requestOfCall(index: number) {
      const input = ddbMock.commandCalls(BatchGetCommand)[index]?.args[0].input as BatchGetCommandInput;
      return input.RequestItems?.[TABLE];
    }

    function keysOfCall(index: number): unknown[] {
      return requestOfCall(index)?.Keys ?? [];
    }

    function consistentRead(index: number): boolean | undefined {
      return requestOfCall(index)?.ConsistentRead;
    }

    it('chunks 250 seqs into 3 consistent BatchGetItem calls of at most 100 keys', async () => {
      // Prepare
      const log = entries(0, 250);
      answerFromLog(log);

      // Act
      const result = await store.readChains(STREAM, log.map((entry) => entry.seq));

      // Assess
      expect(ddbMock).toHaveReceivedCommandTimes(BatchGetCommand, 3);
      expect([0, 1, 2].map((call) => keysOfCall(call).length).sort((a, b) => a - b)).toEqual([50, 100, 100]);
      expect([0, 1, 2].map(consistentRead)).toEqual([true, true, true]);
      expect(result.size).toBe(250);
      expect(result.get(137)).toStrictEqual(link(log[136]));
    });

    it('projects only seq, chain and producedAt, through name placeholders, and returns no update', async () => {
      // Prepare
      const log = entries(0, 3);
      answerFromLog(log);

      // Act
      const result = await store.readChains(STREAM, [1, 2, 3]);

      // Assess
      expect(requestOfCall(0)).toMatchObject({
        ProjectionExpression: '#seq, #chain, #producedAt',
        ExpressionAttributeNames: { '#seq': 'seq', '#chain': 'chain', '#producedAt': 'producedAt' },
        ConsistentRead: true,
      });
      expect([...result.values()]).toEqual(expect.arrayContaining(log.map(link)));
      for (const value of result.values()) expect(Object.keys(value).sort()).toEqual(['chain', 'producedAt', 'seq']);
    });

    it('asks once per distinct seq and ignores seqs below 1', async () => {
      // Prepare
      const log = entries(0, 3);
      answerFromLog(log);

      // Act
      const result = await store.readChains(STREAM, [3, 0, -1, 3, 1, 1]);

      // Assess
      expect(keysOfCall(0)).toEqual([
        { stream: STREAM, seq: 3 },
        { stream: STREAM, seq: 1 },
      ]);
      expect([...result.keys()].sort((a, b) => a - b)).toEqual([1, 3]);
    });

    it('leaves a seq that does not exist out of the map', async () => {
      // Prepare
      answerFromLog(entries(0, 2));

      // Act
      const result = await store.readChains(STREAM, [2, 9]);

      // Assess
      expect([...result.keys()]).toEqual([2]);
    });

    it('makes no call when no seq can exist', async () => {
      // Act
      const result = await store.readChains(STREAM, [0]);

      // Assess
      expect(result.size).toBe(0);
      expect(ddbMock).not.toHaveReceivedAnyCommand();
    });

    it('retries only the unprocessed keys until every key is read', async () => {
      // Prepare
      const log = entries(0, 4);
      ddbMock
        .on(BatchGetCommand)
        .resolvesOnce({
          Responses: { [TABLE]: [stored(log[0] as LogEntry), stored(log[1] as LogEntry)] },
          UnprocessedKeys: { [TABLE]: { Keys: [{ stream: STREAM, seq: 3 }, { stream: STREAM, seq: 4 }], ConsistentRead: true } },
        })
        .resolvesOnce({
          Responses: { [TABLE]: [stored(log[2] as LogEntry)] },
          UnprocessedKeys: { [TABLE]: { Keys: [{ stream: STREAM, seq: 4 }], ConsistentRead: true } },
        })
        .resolvesOnce({ Responses: { [TABLE]: [stored(log[3] as LogEntry)] } });

      // Act
      const result = await store.readChains(STREAM, [1, 2, 3, 4]);

      // Assess
      expect(ddbMock).toHaveReceivedCommandTimes(BatchGetCommand, 3);
      expect(keysOfCall(1)).toEqual([{ stream: STREAM, seq: 3 }, { stream: STREAM, seq: 4 }]);
      expect(keysOfCall(2)).toEqual([{ stream: STREAM, seq: 4 }]);
      expect([0, 1, 2].map(consistentRead)).toEqual([true, true, true]);
      expect(requestOfCall(2)?.ProjectionExpression).toBe('#seq, #chain, #producedAt');
      expect([...result.values()]).toEqual(expect.arrayContaining(log.map(link)));
      expect(result.size).toBe(4);
    });

    it('keeps going while every response makes progress: a result cut short by size is not a throttled attempt', async () => {
      // Prepare: values near 350 KiB, so DynamoDB returns two entries per call (1 MB per partition), five calls for ten keys.
      store = new DynamoLogStore(documentClient(), TABLE, { sleep: noSleep, maxBatchGetAttempts: 3 });
      const log = entries(0, 10);
      ddbMock.on(BatchGetCommand).callsFake((input: BatchGetCommandInput) => {
        const keys = input.RequestItems?.[TABLE]?.Keys ?? [];
        const served = new Set(keys.slice(0, 2).map((key) => key.seq as number));
        return {
          Responses: { [TABLE]: log.filter((entry) => served.has(entry.seq)).map(stored) },
          UnprocessedKeys: keys.length > 2 ? { [TABLE]: { Keys: keys.slice(2), ConsistentRead: true } } : {},
        };
      });

      // Act
      const result = await store.readChains(STREAM, log.map((entry) => entry.seq));

      // Assess
      expect(result.size).toBe(10);
      expect(ddbMock).toHaveReceivedCommandTimes(BatchGetCommand, 5);
    });

    it('backs off only after a response that read nothing, and counts only those toward the budget', async () => {
      // Prepare: read nothing, then one entry, then nothing twice, then the rest; a budget of 3 stalls in a row.
      const waits: number[] = [];
      const sleep = (ms: number): Promise<void> => {
        waits.push(ms);
        return Promise.resolve();
      };
      store = new DynamoLogStore(documentClient(), TABLE, { sleep, maxBatchGetAttempts: 3 });
      const log = entries(0, 3);
      const unprocessed = (...seqs: number[]) => ({ [TABLE]: { Keys: seqs.map((seq) => ({ stream: STREAM, seq })) } });
      ddbMock
        .on(BatchGetCommand)
        .resolvesOnce({ Responses: { [TABLE]: [] }, UnprocessedKeys: unprocessed(1, 2, 3) })
        .resolvesOnce({ Responses: { [TABLE]: [stored(log[0] as LogEntry)] }, UnprocessedKeys: unprocessed(2, 3) })
        .resolvesOnce({ Responses: { [TABLE]: [] }, UnprocessedKeys: unprocessed(2, 3) })
        .resolvesOnce({ Responses: { [TABLE]: [] }, UnprocessedKeys: unprocessed(2, 3) })
        .resolvesOnce({ Responses: { [TABLE]: [stored(log[1] as LogEntry), stored(log[2] as LogEntry)] } });

      // Act
      const result = await store.readChains(STREAM, [1, 2, 3]);

      // Assess
      expect(result.size).toBe(3);
      expect(ddbMock).toHaveReceivedCommandTimes(BatchGetCommand, 5);
      expect(waits).toHaveLength(3);
    });

    it('gives up with UnprocessedKeysError after a bounded number of attempts', async () => {
      // Prepare
      store = new DynamoLogStore(documentClient(), TABLE, { sleep: noSleep, maxBatchGetAttempts: 3 });
      ddbMock.on(BatchGetCommand).resolves({ UnprocessedKeys: { [TABLE]: { Keys: [{ stream: STREAM, seq: 1 }] } } });

      // Act
      const read = store.readChains(STREAM, [1]);

      // Assess
      await expect(read).rejects.toThrow(UnprocessedKeysError);
      await expect(read).rejects.toMatchObject({ tableName: TABLE, unprocessed: 1 });
      expect(ddbMock).toHaveReceivedCommandTimes(BatchGetCommand, 3);
    });
  });

  describe('append', () => {
    const expected: LogHead = { head: 7, headChain: 'c7' };

    it('sends one transaction: the head update on its condition and one guarded put per entry', async () => {
      // Prepare
      const batch = entries(7, 3, 'c7');
      ddbMock.on(TransactWriteCommand).resolves({});

      // Act
      await store.append(STREAM, expected, batch, '2026-11-27T10:00:00Z');

      // Assess
      expect(ddbMock).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
      const items = ddbMock.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
      expect(items).toHaveLength(4);
      expect(items[0]).toEqual({
        Update: {
          TableName: TABLE,
          Key: { stream: STREAM, seq: 0 },
          UpdateExpression: 'SET #head = :head, #headChain = :chain, #updatedAt = :updatedAt',
          ConditionExpression: '#head = :expected',
          ExpressionAttributeNames: { '#head': 'head', '#headChain': 'headChain', '#updatedAt': 'updatedAt' },
          ExpressionAttributeValues: { ':head': 10, ':chain': batch[2]?.chain, ':updatedAt': '2026-11-27T10:00:00Z', ':expected': 7 },
        },
      });
      expect(items.slice(1)).toEqual(
        batch.map((entry) => ({
          Put: { TableName: TABLE, Item: stored(entry), ConditionExpression: 'attribute_not_exists(#seq)', ExpressionAttributeNames: { '#seq': 'seq' } },
        })),
      );
    });

    it('stores values as JSON text that reads back exactly', async () => {
      // Prepare
      const awkward: JsonValue[] = [1e300, -5e-324, 0.1, 2 ** 70, { nested: ['ü', null, true] }, ''];
      const batch = awkward.map((value, index): LogEntry => ({ seq: index + 1, key: `k${index}`, op: 'put', value, chain: `c${index + 1}`, producedAt: '2026-11-27T10:00:00Z' }));
      ddbMock.on(TransactWriteCommand).resolves({});
      await store.append(STREAM, { head: 0, headChain: GENESIS_CHAIN }, batch, '2026-11-27T10:00:00Z');
      const written = (ddbMock.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? []).slice(1).map((item) => item.Put?.Item);
      ddbMock.on(QueryCommand).resolves({ Items: written as Record<string, unknown>[] });

      // Act
      const read = await store.readRange(STREAM, 0, batch.length);

      // Assess
      expect(written.every((item) => typeof item?.value === 'string')).toBe(true);
      expect(read).toEqual(batch);
    });

    it('lets the first append of a stream find no head item', async () => {
      // Prepare
      ddbMock.on(TransactWriteCommand).resolves({});

      // Act
      await store.append(STREAM, { head: 0, headChain: GENESIS_CHAIN }, entries(0, 1), '2026-11-27T10:00:00Z');

      // Assess
      const update = ddbMock.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems?.[0]?.Update;
      expect(update?.ConditionExpression).toBe('attribute_not_exists(#head) OR #head = :expected');
      expect(update?.ExpressionAttributeValues).toMatchObject({ ':expected': 0, ':head': 1 });
    });

    it.each(['ConditionalCheckFailed', 'TransactionConflict'])('maps a transaction cancelled for %s to HeadMovedError, keeping the cause', async (code) => {
      // Prepare
      const error = cancelled(code, 'None');
      ddbMock.on(TransactWriteCommand).rejects(error);

      // Act
      const append = store.append(STREAM, expected, entries(7, 1, 'c7'), '2026-11-27T10:00:00Z');

      // Assess
      await expect(append).rejects.toThrow(HeadMovedError);
      await expect(append).rejects.toMatchObject({ name: 'HeadMovedError', cause: error });
    });

    it.each(['ThrottlingError', 'ProvisionedThroughputExceeded'])('maps a transaction cancelled for %s to AppendThrottledError, keeping the cause', async (code) => {
      // Prepare
      const error = cancelled('None', code);
      ddbMock.on(TransactWriteCommand).rejects(error);

      // Act
      const append = store.append(STREAM, expected, entries(7, 1, 'c7'), '2026-11-27T10:00:00Z');

      // Assess
      await expect(append).rejects.toThrow(AppendThrottledError);
      await expect(append).rejects.toMatchObject({ name: 'AppendThrottledError', cause: error });
    });

    it('rethrows a transaction cancelled for another reason', async () => {
      // Prepare
      const error = cancelled('None', 'ValidationError');
      ddbMock.on(TransactWriteCommand).rejects(error);

      // Act & Assess
      await expect(store.append(STREAM, expected, entries(7, 1, 'c7'), '2026-11-27T10:00:00Z')).rejects.toBe(error);
    });

    it('rethrows errors other than a cancelled transaction', async () => {
      // Prepare
      const error = throttled();
      ddbMock.on(TransactWriteCommand).rejects(error);

      // Act & Assess
      await expect(store.append(STREAM, expected, entries(7, 1, 'c7'), '2026-11-27T10:00:00Z')).rejects.toBe(error);
    });

    it('accepts 99 entries, the most one transaction can carry with the head', async () => {
      // Prepare
      ddbMock.on(TransactWriteCommand).resolves({});

      // Act
      await store.append(STREAM, expected, entries(7, MAX_ENTRIES_PER_APPEND, 'c7'), '2026-11-27T10:00:00Z');

      // Assess
      expect(ddbMock.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems).toHaveLength(100);
    });

    it.each([
      ['no entries', []],
      ['100 entries', entries(7, 100, 'c7')],
      ['entries that do not start right after the head', entries(8, 2, 'c8')],
      ['entries with a gap', [...entries(7, 2, 'c7'), ...entries(10, 1, 'c10')]],
      ['an entry over DynamoDB’s 400 KiB item limit', [{ ...entries(7, 1, 'c7')[0], value: 'x'.repeat(400 * 1024) } as LogEntry]],
      ['13 entries of 340 KiB, over 4 MiB in all', entries(7, 13, 'c7').map((entry): LogEntry => ({ ...entry, value: 'x'.repeat(340 * 1024) }))],
    ])('refuses %s without calling DynamoDB', async (_, batch) => {
      // Act & Assess
      await expect(store.append(STREAM, expected, batch, '2026-11-27T10:00:00Z')).rejects.toThrow(RangeError);
      expect(ddbMock).not.toHaveReceivedAnyCommand();
    });
  });

  describe('chunk markers', () => {
    const REQUESTS = 'IngestRequests';
    const AT = '2026-11-27T10:00:00.000Z';
    const expected: LogHead = { head: 7, headChain: 'c7' };

    /** Chunk 1 of request `batch-42` as the IngestRequests table holds it. */
    const STORED = {
      requestId: 'main#batch-42',
      chunk: 1,
      chunks: 3,
      firstSeq: 8,
      lastSeq: 10,
      fingerprint: 'f'.repeat(64),
      retries: 2,
      committedAt: AT,
      expiresAt: Date.parse(AT) / 1000 + 86_400,
    };

    /** The same marker in domain form. */
    function marker(overrides: Partial<ChunkMarker> = {}): ChunkMarker {
      const { chunk, chunks, firstSeq, lastSeq, fingerprint, retries, committedAt, expiresAt } = STORED;
      return { stream: STREAM, idempotencyKey: 'batch-42', chunk, chunks, firstSeq, lastSeq, fingerprint, retries, committedAt, expiresAt, ...overrides };
    }

    beforeEach(() => {
      store = new DynamoLogStore(documentClient(), TABLE, { sleep: noSleep, ingestRequestsTable: REQUESTS });
    });

    it('puts the marker second in the chunk’s transaction, on the condition that no live marker of the chunk exists', async () => {
      // Prepare
      ddbMock.on(TransactWriteCommand).resolves({});

      // Act
      await store.append(STREAM, expected, entries(7, 3, 'c7'), AT, marker());

      // Assess
      const items = ddbMock.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
      expect(items).toHaveLength(5);
      expect(items[1]).toEqual({
        Put: {
          TableName: REQUESTS,
          Item: STORED,
          ConditionExpression: 'attribute_not_exists(#requestId) OR #expiresAt <= :now',
          ExpressionAttributeNames: { '#requestId': 'requestId', '#expiresAt': 'expiresAt' },
          ExpressionAttributeValues: { ':now': Date.parse(AT) / 1000 },
        },
      });
      expect(items.slice(2).map((item) => item.Put?.TableName)).toEqual([TABLE, TABLE, TABLE]);
    });

    it('maps a cancellation on the marker to ChunkCommittedError, even when the head moved too', async () => {
      // Prepare
      const error = cancelled('ConditionalCheckFailed', 'ConditionalCheckFailed', 'None', 'None', 'None');
      ddbMock.on(TransactWriteCommand).rejects(error);

      // Act
      const append = store.append(STREAM, expected, entries(7, 3, 'c7'), AT, marker());

      // Assess
      await expect(append).rejects.toThrow(ChunkCommittedError);
      await expect(append).rejects.toMatchObject({ cause: error });
    });

    it('maps a cancellation on the head alone to HeadMovedError when a marker rode along', async () => {
      // Prepare
      ddbMock.on(TransactWriteCommand).rejects(cancelled('ConditionalCheckFailed', 'None', 'None', 'None', 'None'));

      // Act & Assess
      await expect(store.append(STREAM, expected, entries(7, 3, 'c7'), AT, marker())).rejects.toThrow(HeadMovedError);
    });

    it.each([
      ['99 entries, which leave no room for the marker', entries(7, 99, 'c7'), marker({ lastSeq: 106 })],
      ['a marker of other seqs', entries(7, 3, 'c7'), marker({ firstSeq: 9 })],
      ['a marker of another stream', entries(7, 3, 'c7'), marker({ stream: 'other' })],
    ])('refuses %s without calling DynamoDB', async (_, batch, chunkMarker) => {
      // Act & Assess
      await expect(store.append(STREAM, expected, batch, AT, chunkMarker)).rejects.toThrow(RangeError);
      expect(ddbMock).not.toHaveReceivedAnyCommand();
    });

    it('reads a request’s markers with one consistent Query of its partition', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: [STORED] });

      // Act
      const markers = await store.readMarkers(STREAM, 'batch-42');

      // Assess
      expect(markers).toEqual([marker()]);
      expect(ddbMock).toHaveReceivedCommandWith(QueryCommand, {
        TableName: REQUESTS,
        KeyConditionExpression: '#requestId = :requestId',
        ExpressionAttributeValues: { ':requestId': 'main#batch-42' },
        ConsistentRead: true,
      });
    });

    it('cannot write or read markers without the IngestRequests table', async () => {
      // Prepare
      store = new DynamoLogStore(documentClient(), TABLE);

      // Act & Assess
      await expect(store.readMarkers(STREAM, 'batch-42')).rejects.toThrow(/without the IngestRequests table/);
      await expect(store.append(STREAM, expected, entries(7, 3, 'c7'), AT, marker())).rejects.toThrow(/without the IngestRequests table/);
      expect(ddbMock).not.toHaveReceivedAnyCommand();
    });
  });
});
