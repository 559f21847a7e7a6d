import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoCheckStore } from '#shared/adapters/dynamodb/check-store.ts';
import { MalformedItemError } from '#shared/adapters/errors.ts';
import { GENESIS_CHAIN } from '#shared/domain/chain.ts';
import { FleetTally, type TallyState } from '#shared/domain/convergence.ts';
import type { CheckHeader, CheckOutcome } from '#shared/domain/ports.ts';
import { conditionFailed, documentClient, placeholders, throttled } from './support.ts';

const TABLE = 'Convergence';
const ddbMock = mockClient(DynamoDBDocumentClient);

const header: CheckHeader = {
  stream: 'main',
  interval: 29447720,
  checkedAt: '2026-11-27T10:20:00Z',
  shards: 3,
  segments: 6,
  heads: [1400, 1300, 1350],
  averageIngestPerInterval: 80.5,
  judged: [
    { interval: 29447718, head: 1300, version: 2 },
    { interval: 29447719, head: 1350, version: 0 },
  ],
  newest: { interval: 29447719, converged: false },
};

/** The header's item as the store writes it, in the stream's check partition. */
const headerItem = {
  stream: 'main#check',
  interval: 29447720,
  checkedAt: '2026-11-27T10:20:00Z',
  shards: 3,
  segments: 6,
  heads: [1400, 1300, 1350],
  averageIngestPerInterval: 80.5,
  judged: [
    { interval: 29447718, head: 1300, version: 2 },
    { interval: 29447719, head: 1350, version: 0 },
  ],
  newest: { interval: 29447719, converged: false },
  merged: false,
  expiresAt: 1_800_086_400,
};

const outcome: CheckOutcome = {
  current: {
    interval: 29447720,
    head: 1400,
    activeNodes: 2,
    consistentNodes: 1,
    maxLagUpdates: 100,
    maxStalenessSeconds: 30,
    laggingCount: 1,
    laggingNodes: [{ nodeId: 'n-2', appliedSeq: 1300, lagUpdates: 100, stalenessSeconds: 30 }],
    underProvisionedCount: 0,
    underProvisionedNodes: [],
    integrityFailureCount: 0,
    integrityFailures: [],
    converged: false,
  },
  latest: { interval: 29447719, converged: true, convergedAt: '2026-11-27T10:20:00Z' },
};

/** A shard's partial tally of two nodes against the header's heads, one of them lagging and under-provisioned. */
function partialTally(): TallyState {
  const tally = new FleetTally(header.heads, { now: new Date(header.checkedAt), intervalSeconds: 60, averageIngestPerInterval: 80.5, topN: 10 });
  tally.add({ nodeId: 'n-1', rate: 10, status: 'active', appliedSeq: 0, appliedChain: GENESIS_CHAIN, plannedSeq: 0 }, new Map());
  tally.add({ nodeId: 'n-2', rate: 100, status: 'active', appliedSeq: 0, appliedChain: GENESIS_CHAIN, plannedSeq: 0 }, new Map());
  return tally.state();
}

/** A header or item as a tick before any plan has it: no newest interval. */
function withoutNewest<T extends { readonly newest?: unknown }>(value: T): Omit<T, 'newest'> {
  return Object.fromEntries(Object.entries(value).filter(([name]) => name !== 'newest')) as Omit<T, 'newest'>;
}

const REPORT_CONDITION =
  'attribute_exists(#interval) AND (attribute_not_exists(#reportedShards) OR NOT contains(#reportedShards, :shard)) AND ' +
  '(attribute_not_exists(#expiredShards) OR NOT contains(#expiredShards, :shard))';

describe('DynamoCheckStore', () => {
  let store: DynamoCheckStore;

  beforeEach(() => {
    ddbMock.reset();
    store = new DynamoCheckStore(documentClient(), TABLE);
  });

  describe('putCheckHeader', () => {
    it('writes the header in the stream’s check partition, unmerged, with its expiry, if the tick has none yet', async () => {
      // Prepare
      ddbMock.on(PutCommand).resolves({});

      // Act
      const written = await store.putCheckHeader(header, 1_800_086_400);

      // Assess
      expect(written).toEqual({ written: true, header });
      expect(ddbMock).toHaveReceivedCommandExactlyOnceWith(PutCommand, {
        TableName: TABLE,
        Item: headerItem,
        ConditionExpression: 'attribute_not_exists(#interval)',
        ExpressionAttributeNames: { '#interval': 'interval' },
      });
    });

    it('writes no newest interval for a stream that has no plan yet', async () => {
      // Prepare
      ddbMock.on(PutCommand).resolves({});

      // Act
      await store.putCheckHeader(withoutNewest(header), 1_800_086_400);

      // Assess
      expect(ddbMock.commandCalls(PutCommand)[0]?.args[0].input.Item).not.toHaveProperty('newest');
    });

    it('lets the first writer win: on a lost race it reads the stored header back consistently and returns that one', async () => {
      // Prepare: the earlier run judged one interval only, cut in one shard.
      ddbMock.on(PutCommand).rejects(conditionFailed());
      ddbMock.on(GetCommand).resolves({ Item: { ...headerItem, shards: 1, segments: 1, heads: [1400, 1300], judged: [{ interval: 29447718, head: 1300, version: 2 }] } });

      // Act
      const result = await store.putCheckHeader(header, 1_800_086_400);

      // Assess
      expect(result).toStrictEqual({ written: false, header: { ...header, shards: 1, segments: 1, heads: [1400, 1300], judged: [{ interval: 29447718, head: 1300, version: 2 }] } });
      expect(ddbMock).toHaveReceivedCommandExactlyOnceWith(GetCommand, { TableName: TABLE, Key: { stream: 'main#check', interval: 29447720 }, ConsistentRead: true });
    });

    it('fails naming the table and tick when the header it lost to cannot be read back', async () => {
      // Prepare
      ddbMock.on(PutCommand).rejects(conditionFailed());
      ddbMock.on(GetCommand).resolves({});

      // Act & Assess
      await expect(store.putCheckHeader(header, 1_800_086_400)).rejects.toThrow(new MalformedItemError(TABLE, 'interval', '29447720: the check header exists but cannot be read back'));
    });

    it('lets other errors propagate', async () => {
      // Prepare
      const error = throttled();
      ddbMock.on(PutCommand).rejects(error);

      // Act & Assess
      await expect(store.putCheckHeader(header, 1_800_086_400)).rejects.toBe(error);
      expect(ddbMock).not.toHaveReceivedCommand(GetCommand);
    });
  });

  describe('getCheckHeader', () => {
    it('reads a fresh header consistently: no shard in, none given up, not merged, no outcome', async () => {
      // Prepare
      ddbMock.on(GetCommand).resolves({ Item: headerItem });

      // Act
      const stored = await store.getCheckHeader('main', 29447720);

      // Assess
      expect(stored).toStrictEqual({ header, progress: { shards: 3, reported: 0, expired: 0, merged: false } });
      expect(ddbMock).toHaveReceivedCommandExactlyOnceWith(GetCommand, { TableName: TABLE, Key: { stream: 'main#check', interval: 29447720 }, ConsistentRead: true });
    });

    it('counts the shards in each set and reads the outcome of a merged tick', async () => {
      // Prepare
      ddbMock.on(GetCommand).resolves({
        Item: { ...headerItem, reportedShards: new Set([0, 2]), expiredShards: new Set([1]), merged: true, outcome: JSON.stringify(outcome) },
      });

      // Act
      const stored = await store.getCheckHeader('main', 29447720);

      // Assess
      expect(stored?.progress).toStrictEqual({ shards: 3, reported: 2, expired: 1, merged: true, outcome });
    });

    it('reads the newest interval with when it converged, and a header without one', async () => {
      // Prepare
      ddbMock
        .on(GetCommand)
        .resolvesOnce({ Item: { ...headerItem, newest: { interval: 29447719, converged: true, convergedAt: '2026-11-27T10:19:30Z' } } })
        .resolvesOnce({ Item: withoutNewest(headerItem) });

      // Act
      const converged = await store.getCheckHeader('main', 29447720);
      const none = await store.getCheckHeader('main', 29447720);

      // Assess
      expect(converged?.header.newest).toStrictEqual({ interval: 29447719, converged: true, convergedAt: '2026-11-27T10:19:30Z' });
      expect(none?.header).not.toHaveProperty('newest');
    });

    it('returns undefined for a tick without a header', async () => {
      // Prepare
      ddbMock.on(GetCommand).resolves({});

      // Act & Assess
      await expect(store.getCheckHeader('main', 29447720)).resolves.toBeUndefined();
    });

    it.each([
      ['an outcome that is not JSON', { outcome: '{"current":' }, 'outcome', 'of tick 29447720 is not JSON'],
      ['a judged interval without its version', { judged: [{ interval: 29447718, head: 1300 }] }, 'version', 'is missing'],
      ['a shard set that is not a number set', { reportedShards: [0, 1] }, 'reportedShards', 'is not a number set'],
      ['no merged flag', { merged: undefined }, 'merged', 'is missing'],
      ['heads that are not numbers', { heads: ['1400'] }, 'heads', 'is not a list of numbers'],
      ['a newest interval that is not a map', { newest: 29447719 }, 'newest', 'is not a map'],
    ])('rejects a header with %s, naming the attribute', async (_case, change, attribute, problem) => {
      // Prepare
      ddbMock.on(GetCommand).resolves({ Item: { ...headerItem, ...change } });

      // Act & Assess
      await expect(store.getCheckHeader('main', 29447720)).rejects.toThrow(new MalformedItemError(TABLE, attribute, problem));
    });
  });

  describe('latestTick', () => {
    it('reads the newest check header of the stream, newest first, one item, consistently', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: [{ interval: 29_447_720 }] });

      // Act
      const tick = await store.latestTick('main');

      // Assess
      expect(tick).toBe(29_447_720);
      const input = ddbMock.commandCalls(QueryCommand)[0]?.args[0].input;
      expect(input).toMatchObject({ TableName: TABLE, KeyConditionExpression: '#stream = :stream', ExpressionAttributeValues: { ':stream': 'main#check' }, ScanIndexForward: false, Limit: 1, ConsistentRead: true });
      const { used, defined } = placeholders(input);
      expect(used).toEqual(defined);
    });

    it('is undefined for a stream without a check tick yet', async () => {
      ddbMock.on(QueryCommand).resolves({ Items: [] });
      expect(await store.latestTick('main')).toBeUndefined();
    });
  });

  describe('putPartial', () => {
    it('stores a shard’s tally as JSON in the tick’s partial partition, keyed by shard, unless the shard has one', async () => {
      // Prepare
      ddbMock.on(PutCommand).resolves({});
      const tally = partialTally();

      // Act
      await store.putPartial('main', 29447720, 2, tally, 1_800_086_400);

      // Assess
      expect(ddbMock).toHaveReceivedCommandExactlyOnceWith(PutCommand, {
        TableName: TABLE,
        Item: { stream: 'main#check#29447720', interval: 2, tally: JSON.stringify(tally), expiresAt: 1_800_086_400 },
        ConditionExpression: 'attribute_not_exists(#interval)',
        ExpressionAttributeNames: { '#interval': 'interval' },
      });
    });

    it('keeps the tally a duplicate run of the shard stored first', async () => {
      // Prepare
      ddbMock.on(PutCommand).rejects(conditionFailed());

      // Act & Assess
      await expect(store.putPartial('main', 29447720, 2, partialTally(), 1_800_086_400)).resolves.toBeUndefined();
    });

    it('lets every other error propagate', async () => {
      // Prepare
      const error = throttled();
      ddbMock.on(PutCommand).rejects(error);

      // Act & Assess
      await expect(store.putPartial('main', 29447720, 2, partialTally(), 1_800_086_400)).rejects.toBe(error);
    });
  });

  describe('reportCheckShard', () => {
    it('adds a shard that judged to the reported set, once, and returns the progress the update left', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).resolves({ Attributes: { ...headerItem, reportedShards: new Set([0, 1]) } });

      // Act
      const result = await store.reportCheckShard('main', 29447720, 1, false);

      // Assess
      expect(result).toStrictEqual({ counted: true, progress: { shards: 3, reported: 2, expired: 0, merged: false } });
      expect(ddbMock).toHaveReceivedCommandExactlyOnceWith(UpdateCommand, {
        TableName: TABLE,
        Key: { stream: 'main#check', interval: 29447720 },
        UpdateExpression: 'ADD #reportedShards :shardSet',
        ConditionExpression: REPORT_CONDITION,
        ExpressionAttributeNames: { '#interval': 'interval', '#reportedShards': 'reportedShards', '#expiredShards': 'expiredShards' },
        ExpressionAttributeValues: { ':shard': 1, ':shardSet': new Set([1]) },
        ReturnValues: 'ALL_NEW',
      });
      const { used, defined } = placeholders(ddbMock.commandCalls(UpdateCommand)[0]?.args[0].input);
      expect(defined).toEqual(used);
      expect(ddbMock).not.toHaveReceivedCommand(GetCommand);
    });

    it('adds a shard that came too late to the expired set, on the same condition', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).resolves({ Attributes: { ...headerItem, reportedShards: new Set([0]), expiredShards: new Set([2]) } });

      // Act
      const result = await store.reportCheckShard('main', 29447720, 2, true);

      // Assess
      expect(result).toStrictEqual({ counted: true, progress: { shards: 3, reported: 1, expired: 1, merged: false } });
      expect(ddbMock).toHaveReceivedCommandExactlyOnceWith(UpdateCommand, {
        Key: { stream: 'main#check', interval: 29447720 },
        UpdateExpression: 'ADD #expiredShards :shardSet',
        ConditionExpression: REPORT_CONDITION,
        ExpressionAttributeValues: { ':shard': 2, ':shardSet': new Set([2]) },
        ReturnValues: 'ALL_NEW',
      });
      const { used, defined } = placeholders(ddbMock.commandCalls(UpdateCommand)[0]?.args[0].input);
      expect(defined).toEqual(used);
    });

    it('does not count a shard that had reported, and returns the progress read back consistently', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).rejects(conditionFailed());
      ddbMock.on(GetCommand).resolves({ Item: { ...headerItem, reportedShards: new Set([0, 1, 2]), merged: true, outcome: JSON.stringify(outcome) } });

      // Act
      const result = await store.reportCheckShard('main', 29447720, 1, false);

      // Assess
      expect(result).toStrictEqual({ counted: false, progress: { shards: 3, reported: 3, expired: 0, merged: true, outcome } });
      expect(ddbMock).toHaveReceivedCommandExactlyOnceWith(GetCommand, { TableName: TABLE, Key: { stream: 'main#check', interval: 29447720 }, ConsistentRead: true });
    });

    it('fails naming the tick when a shard reports to a tick without a header', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).rejects(conditionFailed());
      ddbMock.on(GetCommand).resolves({});

      // Act & Assess
      await expect(store.reportCheckShard('main', 29447720, 1, false)).rejects.toThrow(
        new MalformedItemError(TABLE, 'interval', '29447720: a check shard reported to a tick without a header'),
      );
    });

    it('fails when the update returns no attributes', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).resolves({});

      // Act & Assess
      await expect(store.reportCheckShard('main', 29447720, 1, false)).rejects.toThrow(new MalformedItemError(TABLE, 'interval', '29447720: the check header returned no attributes'));
    });

    it('lets other errors propagate without reading the header', async () => {
      // Prepare
      const error = throttled();
      ddbMock.on(UpdateCommand).rejects(error);

      // Act & Assess
      await expect(store.reportCheckShard('main', 29447720, 1, false)).rejects.toBe(error);
      expect(ddbMock).not.toHaveReceivedCommand(GetCommand);
    });
  });

  describe('partials', () => {
    it('queries the tick’s partial partition consistently and parses every shard’s tally, page by page', async () => {
      // Prepare
      const tally = partialTally();
      const other = { ...tally, activeNodes: 0, nodesIn: [0, 0, 0, 0], intactIn: [0, 0, 0, 0], laggards: [], underProvisioned: [], lowestCursor: null };
      const item = (shard: number, state: TallyState) => ({ stream: 'main#check#29447720', interval: shard, tally: JSON.stringify(state), expiresAt: 1_800_086_400 });
      ddbMock
        .on(QueryCommand)
        .resolvesOnce({ Items: [item(0, tally), item(1, other)], LastEvaluatedKey: { stream: 'main#check#29447720', interval: 1 } })
        .resolvesOnce({ Items: [item(2, tally)] });

      // Act
      const partials = await store.partials('main', 29447720);

      // Assess
      expect(partials).toEqual([tally, other, tally]);
      expect(ddbMock).toHaveReceivedNthCommandWith(QueryCommand, 1, {
        TableName: TABLE,
        KeyConditionExpression: '#stream = :stream',
        ExpressionAttributeNames: { '#stream': 'stream' },
        ExpressionAttributeValues: { ':stream': 'main#check#29447720' },
        ConsistentRead: true,
      });
      expect(ddbMock).toHaveReceivedNthCommandWith(QueryCommand, 2, { ExclusiveStartKey: { stream: 'main#check#29447720', interval: 1 } });
    });

    it('returns no tallies for a tick no shard has stored one for', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: [] });

      // Act & Assess
      await expect(store.partials('main', 29447720)).resolves.toEqual([]);
    });

    it('rejects a tally that is not JSON, and a partial without one, naming the attribute', async () => {
      // Prepare
      ddbMock
        .on(QueryCommand)
        .resolvesOnce({ Items: [{ stream: 'main#check#29447720', interval: 0, tally: '{"heads":[' }] })
        .resolvesOnce({ Items: [{ stream: 'main#check#29447720', interval: 0 }] });

      // Act & Assess
      await expect(store.partials('main', 29447720)).rejects.toThrow(new MalformedItemError(TABLE, 'tally', 'of tick 29447720 is not JSON'));
      await expect(store.partials('main', 29447720)).rejects.toThrow(new MalformedItemError(TABLE, 'tally', 'is missing'));
    });
  });

  describe('markMerged', () => {
    it('marks the tick merged with the outcome as JSON, on the condition that no shard had', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).resolves({});

      // Act
      const marked = await store.markMerged('main', 29447720, outcome);

      // Assess
      expect(marked).toBe(true);
      expect(ddbMock).toHaveReceivedCommandExactlyOnceWith(UpdateCommand, {
        TableName: TABLE,
        Key: { stream: 'main#check', interval: 29447720 },
        UpdateExpression: 'SET #merged = :true, #outcome = :outcome',
        ConditionExpression: 'attribute_exists(#interval) AND #merged = :false',
        ExpressionAttributeNames: { '#interval': 'interval', '#merged': 'merged', '#outcome': 'outcome' },
        ExpressionAttributeValues: { ':true': true, ':false': false, ':outcome': JSON.stringify(outcome) },
      });
    });

    it('stores an outcome that reads back as it was', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).resolves({});
      await store.markMerged('main', 29447720, outcome);
      const stored = ddbMock.commandCalls(UpdateCommand)[0]?.args[0].input.ExpressionAttributeValues?.[':outcome'] as unknown;
      ddbMock.on(GetCommand).resolves({ Item: { ...headerItem, merged: true, outcome: stored } });

      // Act
      const read = await store.getCheckHeader('main', 29447720);

      // Assess
      expect(read?.progress.outcome).toStrictEqual(outcome);
    });

    it('returns false when another shard had marked the tick merged first', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).rejects(conditionFailed());

      // Act & Assess
      await expect(store.markMerged('main', 29447720, outcome)).resolves.toBe(false);
    });

    it('lets other errors propagate', async () => {
      // Prepare
      const error = throttled();
      ddbMock.on(UpdateCommand).rejects(error);

      // Act & Assess
      await expect(store.markMerged('main', 29447720, outcome)).rejects.toBe(error);
    });
  });
});
