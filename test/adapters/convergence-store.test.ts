import type { UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoConvergenceStore } from '#shared/adapters/dynamodb/convergence-store.ts';
import { MalformedItemError } from '#shared/adapters/errors.ts';
import { FleetTally } from '#shared/domain/convergence.ts';
import type { IntervalVerdict, NodeState, PlanHeader, PlanTotals } from '#shared/domain/types.ts';
import { conditionFailed, documentClient, placeholders, throttled } from './support.ts';

const TABLE = 'Convergence';
const ddbMock = mockClient(DynamoDBDocumentClient);

const header: PlanHeader = {
  stream: 'main',
  interval: 29447718,
  head: 1300,
  headChain: 'c1300',
  plannedAt: '2026-11-27T10:18:00Z',
  shards: 3,
  segments: 6,
  previousSegments: 4,
};

/** A header as the planner wrote it before planning was sharded: no cut, no shard sets. */
const unshardedItem = { stream: 'main', interval: 29447718, head: 1300, headChain: 'c1300', plannedAt: '2026-11-27T10:18:00Z', expiresAt: 1_800_000_000, converged: false };

/** What each planner shard reports, and what three such reports add up to. */
const totals: PlanTotals = {
  activeNodes: 2_000,
  nodesPlanned: 1_500,
  microbatches: 4_200,
  updatesPlanned: 90_000,
  resends: 12,
  observations: 300,
  rejectedNodes: 1,
  unsentNodes: 2,
  scannedItems: 2_010,
};

/** The totals as the item holds them: the planner's count of active nodes, beside the verdict's, has a name of its own. */
const { activeNodes: plannedActiveNodes, ...otherTotals } = totals;
const storedTotals = { plannedActiveNodes, ...otherTotals };

const verdict: IntervalVerdict = {
  interval: 29447718,
  head: 1300,
  activeNodes: 3,
  consistentNodes: 1,
  maxLagUpdates: 250,
  maxStalenessSeconds: 42.5,
  laggingCount: 2,
  laggingNodes: [
    { nodeId: 'n-2', appliedSeq: 1050, lagUpdates: 250, stalenessSeconds: 42.5 },
    { nodeId: 'n-3', appliedSeq: 1200, lagUpdates: 100, stalenessSeconds: 12 },
  ],
  underProvisionedCount: 1,
  underProvisionedNodes: [{ nodeId: 'n-2', sharePerInterval: 60, averageIngestPerInterval: 80 }],
  integrityFailureCount: 0,
  integrityFailures: [],
  converged: false,
};

/**
 * An item's size by DynamoDB's rules (developer guide, "Item sizes and formats"): names and strings
 * in UTF-8 bytes, a number 1 byte per two significant digits plus 1, a boolean or null 1, a list or
 * map 3 bytes plus 1 per element plus its elements (a map's keys counted as names).
 */
function itemSize(item: Readonly<Record<string, unknown>>): number {
  const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');
  const valueSize = (value: unknown): number => {
    if (typeof value === 'string') return bytes(value);
    if (typeof value === 'number') return Math.ceil(String(Math.abs(value)).replace(/[.e+-]/g, '').replace(/^0+|0+$/g, '').length / 2) + 1;
    if (typeof value === 'boolean' || value === null) return 1;
    if (Array.isArray(value)) return 3 + value.reduce((sum: number, element: unknown) => sum + 1 + valueSize(element), 0);
    if (typeof value === 'object') return 3 + Object.entries(value).reduce((sum, [name, element]) => sum + 1 + bytes(name) + valueSize(element), 0);
    throw new Error(`no DynamoDB type for ${typeof value}`);
  };
  return Object.entries(item).reduce((sum, [name, value]) => sum + bytes(name) + valueSize(value), 0);
}

/** The stored item after the planner's put and the checker's update, as DynamoDB would hold it. */
function checkedItem(update: UpdateCommandInput): Record<string, unknown> {
  const item: Record<string, unknown> = { ...header, expiresAt: 1_800_000_000, converged: false };
  const names = update.ExpressionAttributeNames ?? {};
  const values = update.ExpressionAttributeValues ?? {};
  for (const assignment of (update.UpdateExpression ?? '').replace(/^SET /, '').split(/, (?=#)/)) {
    const [name = '', value = ''] = assignment.split(' = ');
    const source = /^if_not_exists\(#\w+, (:\w+)\)$/.exec(value)?.[1] ?? value;
    item[names[name] ?? name] = values[source];
  }
  return item;
}

describe('DynamoConvergenceStore', () => {
  let store: DynamoConvergenceStore;

  beforeEach(() => {
    ddbMock.reset();
    store = new DynamoConvergenceStore(documentClient(), TABLE);
  });

  describe('putPlanHeader', () => {
    it('writes the header with its cut (shards, segments, previous segments), its expiry and converged false if no header exists yet', async () => {
      // Prepare
      ddbMock.on(PutCommand).resolves({});

      // Act
      const written = await store.putPlanHeader(header, 1_800_000_000);

      // Assess
      expect(written).toEqual({ written: true, header });
      expect(ddbMock).toHaveReceivedCommandExactlyOnceWith(PutCommand, {
        TableName: TABLE,
        Item: {
          stream: 'main',
          interval: 29447718,
          head: 1300,
          headChain: 'c1300',
          plannedAt: '2026-11-27T10:18:00Z',
          shards: 3,
          segments: 6,
          previousSegments: 4,
          expiresAt: 1_800_000_000,
          converged: false,
        },
        ConditionExpression: 'attribute_not_exists(#interval)',
        ExpressionAttributeNames: { '#interval': 'interval' },
      });
    });

    it('lets the first writer win: a second header is not written, and the first is read back consistently, cut included', async () => {
      // Prepare
      ddbMock.on(PutCommand).resolvesOnce({}).rejectsOnce(conditionFailed());
      ddbMock.on(GetCommand).resolves({ Item: { ...header, expiresAt: 1_800_000_000, converged: false, plannedShards: new Set([0]) } });

      // Act
      const first = await store.putPlanHeader(header, 1_800_000_000);
      const second = await store.putPlanHeader({ ...header, head: 1400, shards: 1, segments: 1, previousSegments: 6 }, 1_800_000_060);

      // Assess
      expect([first, second]).toStrictEqual([
        { written: true, header },
        { written: false, header },
      ]);
      expect(ddbMock).toHaveReceivedCommandExactlyOnceWith(GetCommand, { TableName: TABLE, Key: { stream: 'main', interval: header.interval }, ConsistentRead: true });
    });

    it('reads a header written before planning was sharded as one shard of one segment, its history in one segment too', async () => {
      // Prepare
      ddbMock.on(PutCommand).rejects(conditionFailed());
      ddbMock.on(GetCommand).resolves({ Item: unshardedItem });

      // Act
      const { header: stored } = await store.putPlanHeader(header, 1_800_000_000);

      // Assess
      expect(stored).toStrictEqual({ ...header, shards: 1, segments: 1, previousSegments: 1 });
    });

    it('takes the previous segments to be the segments when a header has no previousSegments', async () => {
      // Prepare
      ddbMock.on(PutCommand).rejects(conditionFailed());
      ddbMock.on(GetCommand).resolves({ Item: { ...unshardedItem, shards: 2, segments: 8 } });

      // Act
      const { header: stored } = await store.putPlanHeader(header, 1_800_000_000);

      // Assess
      expect(stored).toMatchObject({ shards: 2, segments: 8, previousSegments: 8 });
    });

    it('fails naming the table and interval when the header it lost to cannot be read back', async () => {
      // Prepare
      ddbMock.on(PutCommand).rejects(conditionFailed());
      ddbMock.on(GetCommand).resolves({});

      // Act & Assess
      await expect(store.putPlanHeader(header, 1_800_000_000)).rejects.toThrow(new MalformedItemError(TABLE, 'interval', '29447718: the plan header exists but cannot be read back'));
    });

    it('rejects a stored header whose cut is not a number', async () => {
      // Prepare
      ddbMock.on(PutCommand).rejects(conditionFailed());
      ddbMock.on(GetCommand).resolves({ Item: { ...unshardedItem, shards: '3' } });

      // Act & Assess
      await expect(store.putPlanHeader(header, 1_800_000_000)).rejects.toThrow('Convergence: attribute shards is not a number');
    });

    it('lets other errors propagate', async () => {
      // Prepare
      const error = throttled();
      ddbMock.on(PutCommand).rejects(error);

      // Act & Assess
      await expect(store.putPlanHeader(header, 1_800_000_000)).rejects.toBe(error);
    });
  });

  describe('latestPlanHeader', () => {
    it('queries the newest header before the interval, consistently, for the header attributes, shard sets and totals alone', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: [] });

      // Act
      await store.latestPlanHeader('main', 29447718);

      // Assess
      expect(ddbMock).toHaveReceivedCommandExactlyOnceWith(QueryCommand, {
        TableName: TABLE,
        KeyConditionExpression: '#stream = :stream AND #interval < :before',
        ExpressionAttributeValues: { ':stream': 'main', ':before': 29447718 },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      });
      const query = ddbMock.commandCalls(QueryCommand)[0]?.args[0].input;
      expect(query?.ProjectionExpression?.split(', ').map((name) => query.ExpressionAttributeNames?.[name]).sort()).toEqual(
        [
          'expiredShards',
          'head',
          'headChain',
          'interval',
          'microbatches',
          'nodesPlanned',
          'observations',
          'plannedActiveNodes',
          'plannedAt',
          'plannedShards',
          'previousSegments',
          'rejectedNodes',
          'resends',
          'scannedItems',
          'segments',
          'shards',
          'stream',
          'unsentNodes',
          'updatesPlanned',
        ],
      );
      const { used, defined } = placeholders(query);
      expect(defined).toEqual(used);
    });

    it('returns the header with the totals its shards reported', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: [{ ...header, interval: 29447717, ...storedTotals, plannedShards: new Set([0, 1, 2]) }] });

      // Act
      const latest = await store.latestPlanHeader('main', 29447718);

      // Assess
      expect(latest).toStrictEqual({ ...header, interval: 29447717, ...totals });
    });

    it('returns a header no shard has reported to yet without totals', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: [{ ...header, interval: 29447717 }] });

      // Act
      const latest = await store.latestPlanHeader('main', 29447718);

      // Assess
      expect(latest).toStrictEqual({ ...header, interval: 29447717 });
    });

    it('reads a header from before sharding as one shard of one segment, with the totals its run added', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: [{ ...unshardedItem, nodesPlanned: 3, microbatches: 7 }] });

      // Act
      const latest = await store.latestPlanHeader('main', 29447719);

      // Assess
      expect(latest).toStrictEqual({ ...header, shards: 1, segments: 1, previousSegments: 1, nodesPlanned: 3, microbatches: 7 });
    });

    it('returns undefined when the stream has no header before the interval', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: [] });

      // Act & Assess
      await expect(store.latestPlanHeader('main', 29447718)).resolves.toBeUndefined();
    });

    it('rejects a total that is not a number', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: [{ ...header, nodesPlanned: '3' }] });

      // Act & Assess
      await expect(store.latestPlanHeader('main', 29447719)).rejects.toThrow(new MalformedItemError(TABLE, 'nodesPlanned', 'is not a number'));
    });
  });

  describe('reportPlanShard', () => {
    it('adds a shard’s totals and marks it planned, on the condition that the header exists and neither set holds the shard', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).resolves({});

      // Act
      const reported = await store.reportPlanShard('main', header.interval, 2, { totals });

      // Assess
      expect(reported).toBe(true);
      expect(ddbMock).toHaveReceivedCommandExactlyOnceWith(UpdateCommand, {
        TableName: TABLE,
        Key: { stream: 'main', interval: header.interval },
        UpdateExpression:
          'ADD #plannedShards :shardSet, #plannedActiveNodes :activeNodes, #nodesPlanned :nodesPlanned, #microbatches :microbatches, #updatesPlanned :updatesPlanned, ' +
          '#resends :resends, #observations :observations, #rejectedNodes :rejectedNodes, #unsentNodes :unsentNodes, #scannedItems :scannedItems',
        ConditionExpression:
          'attribute_exists(#interval) AND (attribute_not_exists(#plannedShards) OR NOT contains(#plannedShards, :shard)) AND ' +
          '(attribute_not_exists(#expiredShards) OR NOT contains(#expiredShards, :shard))',
        ExpressionAttributeNames: {
          '#interval': 'interval',
          '#plannedShards': 'plannedShards',
          '#expiredShards': 'expiredShards',
          '#plannedActiveNodes': 'plannedActiveNodes',
          '#nodesPlanned': 'nodesPlanned',
          '#microbatches': 'microbatches',
          '#updatesPlanned': 'updatesPlanned',
          '#resends': 'resends',
          '#observations': 'observations',
          '#rejectedNodes': 'rejectedNodes',
          '#unsentNodes': 'unsentNodes',
          '#scannedItems': 'scannedItems',
        },
        ExpressionAttributeValues: {
          ':shard': 2,
          ':shardSet': new Set([2]),
          ':activeNodes': 2_000,
          ':nodesPlanned': 1_500,
          ':microbatches': 4_200,
          ':updatesPlanned': 90_000,
          ':resends': 12,
          ':observations': 300,
          ':rejectedNodes': 1,
          ':unsentNodes': 2,
          ':scannedItems': 2_010,
        },
      });
      const { used, defined } = placeholders(ddbMock.commandCalls(UpdateCommand)[0]?.args[0].input);
      expect(defined).toEqual(used);
    });

    it('adds a shard that gave up to the expired set alone, on the same condition, with no totals', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).resolves({});

      // Act
      const reported = await store.reportPlanShard('main', header.interval, 1, { expired: true });

      // Assess
      expect(reported).toBe(true);
      expect(ddbMock).toHaveReceivedCommandExactlyOnceWith(UpdateCommand, {
        TableName: TABLE,
        Key: { stream: 'main', interval: header.interval },
        UpdateExpression: 'ADD #expiredShards :shardSet',
        ConditionExpression:
          'attribute_exists(#interval) AND (attribute_not_exists(#plannedShards) OR NOT contains(#plannedShards, :shard)) AND ' +
          '(attribute_not_exists(#expiredShards) OR NOT contains(#expiredShards, :shard))',
        ExpressionAttributeNames: { '#interval': 'interval', '#plannedShards': 'plannedShards', '#expiredShards': 'expiredShards' },
        ExpressionAttributeValues: { ':shard': 1, ':shardSet': new Set([1]) },
      });
      const { used, defined } = placeholders(ddbMock.commandCalls(UpdateCommand)[0]?.args[0].input);
      expect(defined).toEqual(used);
    });

    it('returns false for a shard that had reported already, or a header that is gone', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).rejects(conditionFailed());

      // Act & Assess
      await expect(store.reportPlanShard('main', header.interval, 2, { totals })).resolves.toBe(false);
      await expect(store.reportPlanShard('main', header.interval, 2, { expired: true })).resolves.toBe(false);
    });

    it('lets other errors propagate', async () => {
      // Prepare
      const error = throttled();
      ddbMock.on(UpdateCommand).rejects(error);

      // Act & Assess
      await expect(store.reportPlanShard('main', header.interval, 0, { totals })).rejects.toBe(error);
    });
  });

  describe('recent', () => {
    it('reads the newest records up to an interval, newest first, consistently', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: [] });

      // Act
      await store.recent('main', 29447718, 5);

      // Assess
      expect(ddbMock).toHaveReceivedCommandExactlyOnceWith(QueryCommand, {
        TableName: TABLE,
        KeyConditionExpression: '#stream = :stream AND #interval <= :upTo',
        ExpressionAttributeNames: { '#stream': 'stream', '#interval': 'interval' },
        ExpressionAttributeValues: { ':stream': 'main', ':upTo': 29447718 },
        ScanIndexForward: false,
        Limit: 5,
        ConsistentRead: true,
      });
    });

    it('gives an unchecked header no verdict', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: [{ ...header, expiresAt: 1_800_000_000, converged: false }] });

      // Act
      const [record] = await store.recent('main', 29447718, 1);

      // Assess
      expect(record).toStrictEqual({ ...header, shardsReported: 0, shardsExpired: 0, converged: false });
    });

    it('reads back the totals the shards added and how many shards reported', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: [{ ...header, expiresAt: 1_800_000_000, converged: false, ...storedTotals, plannedShards: new Set([0, 1, 2]) }] });

      // Act
      const [record] = await store.recent('main', 29447718, 1);

      // Assess
      expect(record).toStrictEqual({ ...header, shardsReported: 3, shardsExpired: 0, converged: false, ...totals });
    });

    it('reads back the verdict the checker recorded', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).resolves({});
      await store.recordVerdict('main', verdict, { checkedAt: '2026-11-27T10:19:00Z', readVersion: 0 });
      const update = ddbMock.commandCalls(UpdateCommand)[0]?.args[0].input as UpdateCommandInput;
      ddbMock.on(QueryCommand).resolves({ Items: [checkedItem(update)] });

      // Act
      const [record] = await store.recent('main', 29447718, 1);

      // Assess
      expect(record).toStrictEqual({ ...header, shardsReported: 0, shardsExpired: 0, converged: false, checkedAt: '2026-11-27T10:19:00Z', version: 1, verdict });
    });

    it('reads back when the interval converged', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).resolves({});
      const converged = { ...verdict, consistentNodes: 3, maxLagUpdates: 0, maxStalenessSeconds: 0, laggingCount: 0, laggingNodes: [], converged: true };
      await store.recordVerdict('main', converged, { checkedAt: '2026-11-27T10:20:00Z', readVersion: 0 });
      const update = ddbMock.commandCalls(UpdateCommand)[0]?.args[0].input as UpdateCommandInput;
      ddbMock.on(QueryCommand).resolves({ Items: [checkedItem(update)] });

      // Act
      const [record] = await store.recent('main', 29447718, 1);

      // Assess
      expect(record).toStrictEqual({
        ...header,
        shardsReported: 0,
        shardsExpired: 0,
        converged: true,
        checkedAt: '2026-11-27T10:20:00Z',
        convergedAt: '2026-11-27T10:20:00Z',
        version: 1,
        verdict: converged,
      });
    });

    it('keeps paging until it has the records asked for', async () => {
      // Prepare
      const item = (interval: number) => ({ ...header, interval, expiresAt: 1_800_000_000, converged: false });
      ddbMock
        .on(QueryCommand)
        .resolvesOnce({ Items: [item(10), item(9)], LastEvaluatedKey: { stream: 'main', interval: 9 } })
        .resolvesOnce({ Items: [item(8)], LastEvaluatedKey: { stream: 'main', interval: 8 } });

      // Act
      const records = await store.recent('main', 10, 3);

      // Assess
      expect(records.map((record) => record.interval)).toEqual([10, 9, 8]);
      expect(ddbMock).toHaveReceivedCommandTimes(QueryCommand, 2);
      expect(ddbMock).toHaveReceivedNthCommandWith(QueryCommand, 2, { Limit: 1, ExclusiveStartKey: { stream: 'main', interval: 9 } });
    });

    it('stops when the stream has fewer records than asked', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: [{ ...header, expiresAt: 1_800_000_000, converged: false }] });

      // Act
      const records = await store.recent('main', 29447718, 10);

      // Assess
      expect(records).toHaveLength(1);
      expect(ddbMock).toHaveReceivedCommandTimes(QueryCommand, 1);
    });

    it('reads nothing for a limit of 0', async () => {
      // Act & Assess
      await expect(store.recent('main', 29447718, 0)).resolves.toEqual([]);
      expect(ddbMock).not.toHaveReceivedAnyCommand();
    });

    it('rejects a lagging node stored without its lag', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({
        Items: [{ ...header, checkedAt: 't', ...verdict, laggingNodes: [{ nodeId: 'n-2', appliedSeq: 1 }] }],
      });

      // Act & Assess
      await expect(store.recent('main', 29447718, 1)).rejects.toThrow(MalformedItemError);
    });
  });

  describe('recordVerdict', () => {
    it('keeps a verdict on 100,000 nodes with 64-character ids, every one lagging, under-provisioned and broken, under 8 KB', async () => {
      // Prepare: no log entry is known, so no chain matches; a share of 1 per interval against an ingest of 1,000.
      const nodes = Array.from({ length: 100_000 }, (_, i): NodeState => ({
        nodeId: `node-${String(i).padStart(59, '0')}`,
        rate: 1 / 60,
        status: 'active',
        appliedSeq: i % 5_000,
        appliedChain: 'f'.repeat(64),
        plannedSeq: i % 5_000,
      }));
      const tally = new FleetTally([5_000], { now: new Date('2026-11-27T10:19:00Z'), intervalSeconds: 60, averageIngestPerInterval: 1_000, topN: 10 });
      for (const node of nodes) tally.add(node, new Map());
      const fleetVerdict = tally.verdict(header.interval, 5_000);
      ddbMock.on(UpdateCommand).resolves({});

      // Act
      await store.recordVerdict('main', fleetVerdict, { checkedAt: '2026-11-27T10:19:00Z', readVersion: 0 });

      // Assess
      const update = ddbMock.commandCalls(UpdateCommand)[0]?.args[0].input as UpdateCommandInput;
      expect(itemSize(checkedItem(update))).toBeLessThan(8 * 1024);
    });

    it('sets every verdict field, checkedAt, converged and the next version on the existing header, without convergedAt', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).resolves({});

      // Act
      const written = await store.recordVerdict('main', verdict, { checkedAt: '2026-11-27T10:19:00Z', readVersion: 4 });

      // Assess
      expect(written).toBe(true);
      const input = ddbMock.commandCalls(UpdateCommand)[0]?.args[0].input;
      expect(input).toMatchObject({
        TableName: TABLE,
        Key: { stream: 'main', interval: 29447718 },
        ExpressionAttributeValues: {
          ':version': 5,
          ':checkedAt': '2026-11-27T10:19:00Z',
          ':activeNodes': 3,
          ':consistentNodes': 1,
          ':maxLagUpdates': 250,
          ':maxStalenessSeconds': 42.5,
          ':laggingCount': 2,
          ':laggingNodes': verdict.laggingNodes,
          ':underProvisionedCount': 1,
          ':underProvisionedNodes': verdict.underProvisionedNodes,
          ':integrityFailureCount': 0,
          ':integrityFailures': [],
          ':converged': false,
        },
      });
      expect(input?.UpdateExpression).toBe(
        'SET #version = :version, #checkedAt = :checkedAt, #activeNodes = :activeNodes, #consistentNodes = :consistentNodes, #maxLagUpdates = :maxLagUpdates, ' +
          '#maxStalenessSeconds = :maxStalenessSeconds, #laggingCount = :laggingCount, #laggingNodes = :laggingNodes, ' +
          '#underProvisionedCount = :underProvisionedCount, #underProvisionedNodes = :underProvisionedNodes, ' +
          '#integrityFailureCount = :integrityFailureCount, #integrityFailures = :integrityFailures, #converged = :converged',
      );
      expect(input?.ExpressionAttributeNames).not.toHaveProperty('#convergedAt');
    });

    it('writes only over what it read: a record neither converged nor expired, judged at this tick or before, at the version read', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).resolves({});

      // Act
      await store.recordVerdict('main', verdict, { checkedAt: '2026-11-27T10:19:00Z', readVersion: 4 });

      // Assess
      const input = ddbMock.commandCalls(UpdateCommand)[0]?.args[0].input;
      expect(input?.ConditionExpression).toBe(
        'attribute_exists(#interval) AND #converged = :false AND attribute_not_exists(#expiredAt) AND ' +
          '(attribute_not_exists(#checkedAt) OR #checkedAt <= :checkedAt) AND #version = :readVersion',
      );
      expect(input?.ExpressionAttributeValues).toMatchObject({ ':false': false, ':readVersion': 4, ':checkedAt': '2026-11-27T10:19:00Z' });
    });

    it('expects no version at all on a record it read without one', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).resolves({});

      // Act
      await store.recordVerdict('main', verdict, { checkedAt: '2026-11-27T10:19:00Z', readVersion: 0 });

      // Assess
      const input = ddbMock.commandCalls(UpdateCommand)[0]?.args[0].input;
      expect(input?.ConditionExpression).toMatch(/ AND attribute_not_exists\(#version\)$/);
      expect(input?.ExpressionAttributeValues).toMatchObject({ ':version': 1 });
      expect(input?.ExpressionAttributeValues).not.toHaveProperty(':readVersion');
    });

    it('reports a verdict the record has moved past as not written', async () => {
      // Prepare: converged, expired, judged at a later tick, or written since the read — DynamoDB does not say which.
      ddbMock.on(UpdateCommand).rejects(conditionFailed());

      // Act & Assess
      await expect(store.recordVerdict('main', verdict, { checkedAt: '2026-11-27T10:19:00Z', readVersion: 2 })).resolves.toBe(false);
    });

    it('sets convergedAt when converged: the condition makes it the first time', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).resolves({});

      // Act
      await store.recordVerdict('main', { ...verdict, converged: true }, { checkedAt: '2026-11-27T10:20:00Z', readVersion: 0 });

      // Assess
      const input = ddbMock.commandCalls(UpdateCommand)[0]?.args[0].input;
      expect(input?.UpdateExpression).toMatch(/, #convergedAt = :checkedAt$/);
      expect(input?.ExpressionAttributeNames).toMatchObject({ '#convergedAt': 'convergedAt' });
      expect(input?.ExpressionAttributeValues).toMatchObject({ ':converged': true, ':checkedAt': '2026-11-27T10:20:00Z' });
    });

    it('defines exactly the names and values its expressions use', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).resolves({});

      // Act
      await store.recordVerdict('main', { ...verdict, converged: true }, { checkedAt: '2026-11-27T10:20:00Z', readVersion: 0 });

      // Assess
      const input = ddbMock.commandCalls(UpdateCommand)[0]?.args[0].input;
      const expressions = `${input?.UpdateExpression ?? ''} ${input?.ConditionExpression ?? ''}`;
      const used = (pattern: RegExp) => [...new Set(expressions.match(pattern))].sort();
      expect(Object.keys(input?.ExpressionAttributeNames ?? {}).sort()).toEqual(used(/#\w+/g));
      expect(Object.keys(input?.ExpressionAttributeValues ?? {}).sort()).toEqual(used(/:\w+/g));
    });

    it('writes nothing for an interval without a plan header', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).rejects(conditionFailed());

      // Act & Assess
      await expect(store.recordVerdict('main', verdict, { checkedAt: '2026-11-27T10:19:00Z', readVersion: 0 })).resolves.toBe(false);
    });

    it('lets other errors propagate', async () => {
      // Prepare
      const error = throttled();
      ddbMock.on(UpdateCommand).rejects(error);

      // Act & Assess
      await expect(store.recordVerdict('main', verdict, { checkedAt: '2026-11-27T10:19:00Z', readVersion: 0 })).rejects.toBe(error);
    });
  });

  describe('the planner’s totals beside the verdict', () => {
    /** The attributes an update writes: every name its UpdateExpression touches. */
    const written = (input: UpdateCommandInput | undefined): string[] =>
      [...new Set(input?.UpdateExpression?.match(/#\w+/g))].map((name) => input?.ExpressionAttributeNames?.[name] ?? name).sort();

    it('never writes a plan total and a verdict field to the same attribute of the item', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).resolves({});

      // Act
      await store.reportPlanShard('main', header.interval, 0, { totals });
      await store.recordVerdict('main', { ...verdict, converged: true }, { checkedAt: '2026-11-27T10:19:00Z', readVersion: 0 });

      // Assess
      const [report, judged] = ddbMock.commandCalls(UpdateCommand).map((call) => written(call.args[0].input));
      expect(judged).toContain('activeNodes');
      expect(report).toContain('plannedActiveNodes');
      expect(report?.filter((attribute) => judged?.includes(attribute))).toEqual([]);
    });

    it('reads the planner’s count of active nodes and the checker’s back apart', async () => {
      // Prepare: all three shards reported 2,000 active nodes in all; the checker then judged 3 of them.
      ddbMock.on(UpdateCommand).resolves({});
      await store.recordVerdict('main', verdict, { checkedAt: '2026-11-27T10:19:00Z', readVersion: 0 });
      const update = ddbMock.commandCalls(UpdateCommand)[0]?.args[0].input as UpdateCommandInput;
      ddbMock.on(QueryCommand).resolves({ Items: [{ ...checkedItem(update), ...storedTotals, plannedShards: new Set([0, 1, 2]) }] });

      // Act
      const [record] = await store.recent('main', 29447718, 1);

      // Assess
      expect(record?.activeNodes).toBe(2_000);
      expect(record?.verdict?.activeNodes).toBe(3);
    });
  });

  describe('statuses', () => {
    it('reads the watermark, then every record above it up to an interval, oldest first, consistently, without verdicts', async () => {
      // Prepare
      ddbMock.on(GetCommand).resolves({ Item: { stream: 'main#checker', interval: 0, closedThrough: 29447700 } });
      ddbMock.on(QueryCommand).resolves({ Items: [{ ...header, expiresAt: 1_800_000_000, converged: false, version: 3, checkedAt: '2026-11-27T10:19:00Z' }] });

      // Act
      const { closedThrough, records } = await store.statuses('main', 29447718);

      // Assess
      expect(ddbMock).toHaveReceivedCommandExactlyOnceWith(GetCommand, { TableName: TABLE, Key: { stream: 'main#checker', interval: 0 }, ConsistentRead: true });
      expect(ddbMock).toHaveReceivedCommandExactlyOnceWith(QueryCommand, {
        TableName: TABLE,
        KeyConditionExpression: '#stream = :stream AND #interval BETWEEN :after AND :upTo',
        ExpressionAttributeValues: { ':stream': 'main', ':after': 29447701, ':upTo': 29447718 },
        ScanIndexForward: true,
        ConsistentRead: true,
      });
      const query = ddbMock.commandCalls(QueryCommand)[0]?.args[0].input;
      expect(query?.ProjectionExpression?.split(', ').map((name) => query.ExpressionAttributeNames?.[name]).sort()).toEqual([
        'checkedAt',
        'converged',
        'convergedAt',
        'expiredAt',
        'expiredReason',
        'expiredShards',
        'head',
        'headChain',
        'interval',
        'plannedAt',
        'plannedShards',
        'previousSegments',
        'segments',
        'shards',
        'stream',
        'version',
      ]);
      const { used, defined } = placeholders(query);
      expect(defined).toEqual(used);
      expect(closedThrough).toBe(29447700);
      expect(records).toStrictEqual([{ ...header, shardsReported: 0, shardsExpired: 0, converged: false, checkedAt: '2026-11-27T10:19:00Z', version: 3 }]);
    });

    it('counts the shards that reported and the shards that gave up from their sets', async () => {
      // Prepare
      ddbMock.on(GetCommand).resolves({});
      ddbMock.on(QueryCommand).resolves({ Items: [{ ...header, expiresAt: 1_800_000_000, converged: false, ...storedTotals, plannedShards: new Set([0, 2]), expiredShards: new Set([1]) }] });

      // Act
      const { records } = await store.statuses('main', 29447718);

      // Assess
      expect(records).toStrictEqual([{ ...header, shardsReported: 2, shardsExpired: 1, converged: false }]);
    });

    it('counts a header written before planning was sharded as whole: its one run planned it', async () => {
      // Prepare
      ddbMock.on(GetCommand).resolves({});
      ddbMock.on(QueryCommand).resolves({ Items: [unshardedItem] });

      // Act
      const { records } = await store.statuses('main', 29447718);

      // Assess
      expect(records).toStrictEqual([{ ...header, shards: 1, segments: 1, previousSegments: 1, shardsReported: 1, shardsExpired: 0, converged: false }]);
    });

    it('reads back why and when an interval expired', async () => {
      // Prepare
      ddbMock.on(GetCommand).resolves({});
      ddbMock.on(QueryCommand).resolves({
        Items: [{ ...header, expiresAt: 1_800_000_000, converged: false, expiredAt: '2026-11-27T11:19:00Z', expiredReason: 'plan-incomplete', version: 1 }],
      });

      // Act
      const { records } = await store.statuses('main', 29447718);

      // Assess
      expect(records[0]).toMatchObject({ expiredAt: '2026-11-27T11:19:00Z', expiredReason: 'plan-incomplete', version: 1 });
    });

    it('rejects an expiry reason it does not know, and a shard set that is not a number set', async () => {
      // Prepare
      ddbMock.on(GetCommand).resolves({});
      const item = { ...header, expiresAt: 1_800_000_000, converged: false };
      ddbMock
        .on(QueryCommand)
        .resolvesOnce({ Items: [{ ...item, expiredAt: '2026-11-27T11:19:00Z', expiredReason: 'timeout' }] })
        .resolvesOnce({ Items: [{ ...item, plannedShards: [0, 1] }] })
        .resolvesOnce({ Items: [{ ...item, expiredShards: new Set(['1']) }] });

      // Act & Assess
      await expect(store.statuses('main', 29447718)).rejects.toThrow(new MalformedItemError(TABLE, 'expiredReason', 'must be one of left-window, plan-incomplete'));
      await expect(store.statuses('main', 29447718)).rejects.toThrow(new MalformedItemError(TABLE, 'plannedShards', 'is not a number set'));
      await expect(store.statuses('main', 29447718)).rejects.toThrow(new MalformedItemError(TABLE, 'expiredShards', 'is not a number set'));
    });

    it('reads the whole stream up to the interval when no watermark was ever set', async () => {
      // Prepare
      ddbMock.on(GetCommand).resolves({});
      ddbMock.on(QueryCommand).resolves({ Items: [] });

      // Act
      const { closedThrough } = await store.statuses('main', 29447718);

      // Assess
      expect(closedThrough).toBeUndefined();
      expect(ddbMock).toHaveReceivedCommandWith(QueryCommand, {
        KeyConditionExpression: '#stream = :stream AND #interval <= :upTo',
        ExpressionAttributeValues: { ':stream': 'main', ':upTo': 29447718 },
      });
    });

    it('pages until the last record', async () => {
      // Prepare
      ddbMock.on(GetCommand).resolves({});
      const item = (interval: number) => ({ ...header, interval, expiresAt: 1_800_000_000, converged: false });
      ddbMock
        .on(QueryCommand)
        .resolvesOnce({ Items: [item(8), item(9)], LastEvaluatedKey: { stream: 'main', interval: 9 } })
        .resolvesOnce({ Items: [item(10)] });

      // Act
      const { records } = await store.statuses('main', 10);

      // Assess
      expect(records.map((record) => record.interval)).toEqual([8, 9, 10]);
      expect(ddbMock).toHaveReceivedNthCommandWith(QueryCommand, 2, { ExclusiveStartKey: { stream: 'main', interval: 9 } });
    });
  });

  describe('expire', () => {
    it('marks a header that is neither converged nor expired as expired, with the time and the reason, and moves its version on', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).resolves({});

      // Act
      const expired = await store.expire('main', 29447718, '2026-11-27T11:19:00Z', 'left-window');

      // Assess
      expect(expired).toBe(true);
      expect(ddbMock).toHaveReceivedCommandExactlyOnceWith(UpdateCommand, {
        TableName: TABLE,
        Key: { stream: 'main', interval: 29447718 },
        UpdateExpression: 'SET #expiredAt = :expiredAt, #expiredReason = :reason, #version = if_not_exists(#version, :zero) + :one',
        ConditionExpression: 'attribute_exists(#interval) AND #converged = :false AND attribute_not_exists(#expiredAt)',
        ExpressionAttributeNames: { '#interval': 'interval', '#converged': 'converged', '#expiredAt': 'expiredAt', '#expiredReason': 'expiredReason', '#version': 'version' },
        ExpressionAttributeValues: { ':expiredAt': '2026-11-27T11:19:00Z', ':reason': 'left-window', ':false': false, ':zero': 0, ':one': 1 },
      });
    });

    it('stores a plan that was never whole as the reason', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).resolves({});

      // Act
      await store.expire('main', 29447718, '2026-11-27T11:19:00Z', 'plan-incomplete');

      // Assess
      expect(ddbMock.commandCalls(UpdateCommand)[0]?.args[0].input.ExpressionAttributeValues).toMatchObject({ ':reason': 'plan-incomplete' });
    });

    it('leaves a header that converged or expired meanwhile as it is', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).rejects(conditionFailed());

      // Act & Assess
      await expect(store.expire('main', 29447718, '2026-11-27T11:19:00Z', 'left-window')).resolves.toBe(false);
    });

    it('lets other errors propagate', async () => {
      // Prepare
      const error = throttled();
      ddbMock.on(UpdateCommand).rejects(error);

      // Act & Assess
      await expect(store.expire('main', 29447718, '2026-11-27T11:19:00Z', 'left-window')).rejects.toBe(error);
    });
  });
  describe('closeThrough', () => {
    it('raises the stream’s watermark and never lowers it', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).resolvesOnce({}).rejectsOnce(conditionFailed());

      // Act
      await store.closeThrough('main', 29447700);
      await store.closeThrough('main', 29447650);

      // Assess
      expect(ddbMock).toHaveReceivedNthCommandWith(UpdateCommand, 1, {
        TableName: TABLE,
        Key: { stream: 'main#checker', interval: 0 },
        UpdateExpression: 'SET #closedThrough = :through',
        ConditionExpression: 'attribute_not_exists(#closedThrough) OR #closedThrough < :through',
        ExpressionAttributeNames: { '#closedThrough': 'closedThrough' },
        ExpressionAttributeValues: { ':through': 29447700 },
      });
    });

    it('lets other errors propagate', async () => {
      // Prepare
      const error = throttled();
      ddbMock.on(UpdateCommand).rejects(error);

      // Act & Assess
      await expect(store.closeThrough('main', 29447700)).rejects.toBe(error);
    });
  });
});
