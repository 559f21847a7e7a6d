import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoPlanLedger, MAX_ENTRIES_BYTES } from '#shared/adapters/dynamodb/plan-ledger.ts';
import { MalformedItemError } from '#shared/adapters/errors.ts';
import { decodeEntries, encodeEntries, MalformedPlanEntriesError, type PlanEntry, type SegmentPlan } from '#shared/domain/segment-plan.ts';
import type { PlanTotals } from '#shared/domain/types.ts';
import { conditionFailed, documentClient, throttled } from './support.ts';

const TABLE = 'Plans';
const ddbMock = mockClient(DynamoDBDocumentClient);

const totals: PlanTotals = {
  activeNodes: 4,
  nodesPlanned: 2,
  microbatches: 9,
  updatesPlanned: 180,
  resends: 1,
  observations: 1,
  rejectedNodes: 0,
  unsentNodes: 0,
  scannedItems: 5,
};

/** Nodes with and without a stall clock: one never planned, one planned and watched, one watched at seq 0. */
const entries: PlanEntry[] = [
  { nodeId: 'n-1', plannedSeq: 0 },
  { nodeId: 'n-2', plannedSeq: 300, progressSeq: 150, progressInterval: 29447716 },
  { nodeId: 'tenant:3', plannedSeq: 40, progressSeq: 0, progressInterval: 29447700 },
  { nodeId: 'n-4', plannedSeq: 1_000_000 },
];

const plan: SegmentPlan = { stream: 'main', segments: 4, segment: 2, interval: 29447718, plannedAt: '2026-11-27T10:18:00Z', entries, totals };

/** `count` entries with random-looking 64-character ids, so that gzip cannot make them small. */
function manyEntries(count: number): PlanEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    nodeId: createHash('sha256').update(String(i)).digest('hex'),
    plannedSeq: 1_000 + i,
    ...(i % 3 === 0 ? {} : { progressSeq: 500 + i, progressInterval: 29447700 + (i % 17) }),
  }));
}

/** The bytes a prefix of `count` entries takes compressed, as the record would store it. */
const packedBytes = (list: readonly PlanEntry[], count: number): number => gzipSync(encodeEntries(list.slice(0, count))).byteLength;

/** The item of the one put the ledger sent. */
function putItem(): Record<string, unknown> {
  const input = ddbMock.commandCalls(PutCommand)[0]?.args[0].input;
  if (input?.Item === undefined) throw new Error('no item was put');
  return input.Item;
}

/** The entries an item holds, unpacked with zlib and the domain's codec rather than through the ledger. */
function storedEntries(item: Record<string, unknown>): PlanEntry[] {
  const packed = item.entries;
  if (!(packed instanceof Uint8Array)) throw new Error('entries are not binary');
  return decodeEntries(gunzipSync(packed).toString('utf8'));
}

describe('DynamoPlanLedger', () => {
  let ledger: DynamoPlanLedger;

  beforeEach(() => {
    ddbMock.reset();
    ledger = new DynamoPlanLedger(documentClient(), TABLE);
  });

  describe('latest', () => {
    it('queries the segment’s partition for the newest record up to the interval, consistently', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: [] });

      // Act
      await ledger.latest('main', 4, 2, 29447718);

      // Assess
      expect(ddbMock).toHaveReceivedCommandExactlyOnceWith(QueryCommand, {
        TableName: TABLE,
        KeyConditionExpression: '#segment = :segment AND #interval <= :upTo',
        ExpressionAttributeNames: { '#segment': 'segment', '#interval': 'interval' },
        ExpressionAttributeValues: { ':segment': 'main#4#2', ':upTo': 29447718 },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      });
    });

    it('decodes the gzip’d entries and the totals of the record it finds', async () => {
      // Prepare: the SDK hands binary attributes back as plain Uint8Arrays, not Buffers.
      ddbMock.on(QueryCommand).resolves({
        Items: [
          {
            segment: 'main#4#2',
            interval: 29447716,
            plannedAt: '2026-11-27T10:16:00Z',
            entries: new Uint8Array(gzipSync(encodeEntries(entries))),
            nodes: 4,
            spilled: 0,
            ...totals,
            expiresAt: 1_800_000_000,
          },
        ],
      });

      // Act
      const record = await ledger.latest('main', 4, 2, 29447718);

      // Assess
      expect(record).toStrictEqual({ stream: 'main', segments: 4, segment: 2, interval: 29447716, plannedAt: '2026-11-27T10:16:00Z', entries, totals });
    });

    it('reads a total the record lacks as 0', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: [{ segment: 'main#4#2', interval: 29447716, plannedAt: '2026-11-27T10:16:00Z', entries: gzipSync(''), nodesPlanned: 2 }] });

      // Act
      const record = await ledger.latest('main', 4, 2, 29447718);

      // Assess
      expect(record?.totals).toEqual({ activeNodes: 0, nodesPlanned: 2, microbatches: 0, updatesPlanned: 0, resends: 0, observations: 0, rejectedNodes: 0, unsentNodes: 0, scannedItems: 0 });
      expect(record?.entries).toEqual([]);
    });

    it('returns undefined for a segment with no record up to the interval', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: [] });

      // Act & Assess
      await expect(ledger.latest('main', 4, 2, 29447718)).resolves.toBeUndefined();
    });

    describe('rejects entries it cannot read back, naming the table and the attribute', () => {
      const record = { segment: 'main#4#2', interval: 29447716, plannedAt: '2026-11-27T10:16:00Z' };

      it('entries that are not binary', async () => {
        // Prepare
        ddbMock.on(QueryCommand).resolves({ Items: [{ ...record, entries: encodeEntries(entries) }] });

        // Act
        const read = ledger.latest('main', 4, 2, 29447718);

        // Assess
        await expect(read).rejects.toThrow(MalformedItemError);
        await expect(read).rejects.toMatchObject({ tableName: TABLE, attribute: 'entries', message: 'Plans: attribute entries is not binary' });
      });

      it('entries that are not gzip', async () => {
        // Prepare
        ddbMock.on(QueryCommand).resolves({ Items: [{ ...record, entries: Buffer.from(encodeEntries(entries)) }] });

        // Act
        const error: unknown = await ledger.latest('main', 4, 2, 29447718).catch((caught: unknown) => caught);

        // Assess
        expect(error).toBeInstanceOf(MalformedItemError);
        expect(error).toMatchObject({ tableName: TABLE, attribute: 'entries', message: 'Plans: attribute entries of main#4#2 at 29447716 cannot be read back' });
        expect((error as MalformedItemError).cause).toMatchObject({ code: 'Z_DATA_ERROR' });
      });

      it('entries whose lines are not plan entries, with the line that is wrong as the cause', async () => {
        // Prepare
        ddbMock.on(QueryCommand).resolves({ Items: [{ ...record, entries: gzipSync('n-1\t10\t\t\nn-2\tten\t\t\n') }] });

        // Act
        const error: unknown = await ledger.latest('main', 4, 2, 29447718).catch((caught: unknown) => caught);

        // Assess
        expect(error).toBeInstanceOf(MalformedItemError);
        expect(error).toMatchObject({ tableName: TABLE, attribute: 'entries' });
        expect((error as MalformedItemError).cause).toBeInstanceOf(MalformedPlanEntriesError);
        expect((error as MalformedItemError).cause).toMatchObject({ line: 2 });
      });
    });

    it('rejects a record without its plannedAt', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: [{ segment: 'main#4#2', interval: 29447716, entries: gzipSync('') }] });

      // Act & Assess
      await expect(ledger.latest('main', 4, 2, 29447718)).rejects.toThrow(new MalformedItemError(TABLE, 'plannedAt', 'is missing'));
    });
  });

  describe('commit', () => {
    it('puts the compressed entries, the counts and totals, unless the segment has a record for the interval', async () => {
      // Prepare
      ddbMock.on(PutCommand).resolves({});

      // Act
      const result = await ledger.commit(plan, 1_800_000_000);

      // Assess
      expect(result).toEqual({ committed: true, spilled: [] });
      expect(ddbMock).toHaveReceivedCommandExactlyOnceWith(PutCommand, {
        TableName: TABLE,
        Item: {
          segment: 'main#4#2',
          interval: 29447718,
          plannedAt: '2026-11-27T10:18:00Z',
          entries: gzipSync(encodeEntries(entries)),
          nodes: 4,
          spilled: 0,
          ...totals,
          expiresAt: 1_800_000_000,
        },
        ConditionExpression: 'attribute_not_exists(#interval)',
        ExpressionAttributeNames: { '#interval': 'interval' },
      });
      expect(storedEntries(putItem())).toEqual(entries);
    });

    it('reports a record another run of the segment committed first as not committed, spilling nothing', async () => {
      // Prepare
      ddbMock.on(PutCommand).rejects(conditionFailed());

      // Act & Assess
      await expect(ledger.commit(plan, 1_800_000_000)).resolves.toEqual({ committed: false, spilled: [] });
    });

    it('lets other errors propagate', async () => {
      // Prepare
      const error = throttled();
      ddbMock.on(PutCommand).rejects(error);

      // Act & Assess
      await expect(ledger.commit(plan, 1_800_000_000)).rejects.toBe(error);
    });

    it('keeps 2,000 nodes with 64-character random ids within the default room, as the Plans table’s sizing says', async () => {
      // Prepare
      ddbMock.on(PutCommand).resolves({});
      const segment = manyEntries(2_000);

      // Act
      const { spilled } = await ledger.commit({ ...plan, entries: segment }, 1_800_000_000);

      // Assess
      expect(spilled).toEqual([]);
      expect((putItem().entries as Uint8Array).byteLength).toBeLessThan(MAX_ENTRIES_BYTES);
    });

    describe('with less room than the entries take', () => {
      const segment = manyEntries(200);
      const room = packedBytes(segment, 123) + 10;
      /** The longest prefix that fits, found the slow way. */
      const fitting = Math.max(...Array.from({ length: segment.length + 1 }, (_, count) => count).filter((count) => packedBytes(segment, count) <= room));

      beforeEach(() => {
        ledger = new DynamoPlanLedger(documentClient(), TABLE, room);
        ddbMock.on(PutCommand).resolves({});
      });

      it('stores the longest prefix that fits and returns the rest as spilled', async () => {
        // Act
        const { committed, spilled } = await ledger.commit({ ...plan, entries: segment }, 1_800_000_000);

        // Assess
        expect(fitting).toBeGreaterThanOrEqual(123);
        expect(fitting).toBeLessThan(200);
        expect(committed).toBe(true);
        expect(spilled).toEqual(segment.slice(fitting));
      });

      it('stores exactly the kept prefix, within the room, and counts the nodes it kept and spilled', async () => {
        // Act
        await ledger.commit({ ...plan, entries: segment }, 1_800_000_000);

        // Assess
        const item = putItem();
        expect(storedEntries(item)).toEqual(segment.slice(0, fitting));
        expect((item.entries as Uint8Array).byteLength).toBeLessThanOrEqual(room);
        expect(item).toMatchObject({ nodes: fitting, spilled: 200 - fitting });
      });

      it('keeps nothing when not even the first entry fits', async () => {
        // Prepare
        ledger = new DynamoPlanLedger(documentClient(), TABLE, packedBytes(segment, 1) - 1);

        // Act
        const { spilled } = await ledger.commit({ ...plan, entries: segment }, 1_800_000_000);

        // Assess
        expect(spilled).toEqual(segment);
        expect(storedEntries(putItem())).toEqual([]);
        expect(putItem()).toMatchObject({ nodes: 0, spilled: 200 });
      });
    });
  });

  describe('a committed record read back', () => {
    it('is the plan that was committed, entries with and without a stall clock alike', async () => {
      // Prepare
      ddbMock.on(PutCommand).resolves({});
      await ledger.commit(plan, 1_800_000_000);
      const item = putItem();
      ddbMock.on(QueryCommand).resolves({ Items: [{ ...item, entries: new Uint8Array(item.entries as Uint8Array) }] });

      // Act
      const record = await ledger.latest('main', 4, 2, 29447720);

      // Assess
      expect(record).toStrictEqual(plan);
    });

    it('keeps each entry’s absent fields absent, not present as undefined', async () => {
      // Prepare
      ddbMock.on(PutCommand).resolves({});
      await ledger.commit(plan, 1_800_000_000);
      ddbMock.on(QueryCommand).resolves({ Items: [putItem()] });

      // Act
      const record = await ledger.latest('main', 4, 2, 29447720);

      // Assess
      expect(record?.entries.map((entry) => Object.keys(entry))).toEqual([
        ['nodeId', 'plannedSeq'],
        ['nodeId', 'plannedSeq', 'progressSeq', 'progressInterval'],
        ['nodeId', 'plannedSeq', 'progressSeq', 'progressInterval'],
        ['nodeId', 'plannedSeq'],
      ]);
    });
  });
});
