import type { ScanCommandInput } from '@aws-sdk/lib-dynamodb';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { MalformedItemError, MissingResponseError } from '#shared/adapters/errors.ts';
import { GENESIS_CHAIN } from '#shared/domain/chain.ts';
import { listActive, type NodePage } from '#shared/domain/ports.ts';
import type { NodeState } from '#shared/domain/types.ts';
import { conditionFailed, documentClient, throttled } from './support.ts';

const TABLE = 'Nodes';
const ddbMock = mockClient(DynamoDBDocumentClient);

function node(nodeId: string, extra: Partial<NodeState> = {}): NodeState {
  return { nodeId, rate: 10, status: 'active', appliedSeq: 0, appliedChain: GENESIS_CHAIN, plannedSeq: 0, ...extra };
}

describe('DynamoNodeRepository', () => {
  let repository: DynamoNodeRepository;

  beforeEach(() => {
    ddbMock.reset();
    repository = new DynamoNodeRepository(documentClient(), TABLE);
  });

  /** Every page of a scan, in the order they arrived. */
  async function pagesOf(scan: AsyncIterable<NodePage>): Promise<NodePage[]> {
    const pages: NodePage[] = [];
    for await (const page of scan) pages.push(page);
    return pages;
  }

  describe('scanActive', () => {
    it('scans every item that is not paused with a consistent read, yielding page by page', async () => {
      // Prepare
      repository = new DynamoNodeRepository(documentClient(), TABLE, { scanSegments: 1 });
      ddbMock
        .on(ScanCommand)
        .resolvesOnce({ Items: [node('n-1'), node('n-2')], LastEvaluatedKey: { nodeId: 'n-2' } })
        .resolvesOnce({ Items: [], LastEvaluatedKey: { nodeId: 'n-5' } })
        .resolvesOnce({ Items: [node('n-7')] });

      // Act
      const pages = await pagesOf(repository.scanActive());

      // Assess
      expect(pages.map((page) => page.nodes.map((n) => n.nodeId))).toEqual([['n-1', 'n-2'], [], ['n-7']]);
      expect(ddbMock).toHaveReceivedCommandTimes(ScanCommand, 3);
      expect(ddbMock).toHaveReceivedNthCommandWith(ScanCommand, 1, {
        TableName: TABLE,
        FilterExpression: 'attribute_not_exists(#status) OR #status <> :paused',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':paused': 'paused' },
        ConsistentRead: true,
      });
      expect(ddbMock).toHaveReceivedNthCommandWith(ScanCommand, 2, { ExclusiveStartKey: { nodeId: 'n-2' } });
      expect(ddbMock).toHaveReceivedNthCommandWith(ScanCommand, 3, { ExclusiveStartKey: { nodeId: 'n-5' } });
      const first = ddbMock.commandCalls(ScanCommand)[0]?.args[0].input;
      expect(first).not.toHaveProperty('Segment');
      expect(first?.ExclusiveStartKey).toBeUndefined();
    });

    it('reports items written by hand with a bad rate, status or id, and returns every other node', async () => {
      // Prepare: the README's AWS CLI example with "S" instead of "N" for the rate, a status typo, an id with a space.
      repository = new DynamoNodeRepository(documentClient(), TABLE, { scanSegments: 1 });
      ddbMock.on(ScanCommand).resolves({
        Items: [node('n-1'), { ...node('n-2'), rate: '50' }, { ...node('n-3'), status: 'Active' }, node('tenant 4'), { ...node('n-5'), rate: 0 }, node('tenant:6')],
      });

      // Act
      const [page] = await pagesOf(repository.scanActive());

      // Assess
      expect(page?.nodes.map((n) => n.nodeId)).toEqual(['n-1', 'tenant:6']);
      expect(page?.rejected.map(({ nodeId, attribute }) => `${nodeId}/${attribute}`)).toEqual(['n-2/rate', 'n-3/status', 'tenant 4/nodeId', 'n-5/rate']);
    });

    it('with 4 segments scans 4 segments in parallel, each paged until done', async () => {
      // Prepare
      repository = new DynamoNodeRepository(documentClient(), TABLE, { scanSegments: 4 });
      ddbMock.on(ScanCommand).callsFake((input: ScanCommandInput) => {
        const segment = String(input.Segment);
        return input.ExclusiveStartKey === undefined
          ? { Items: [node(`n-${segment}-a`)], LastEvaluatedKey: { nodeId: `n-${segment}-a` } }
          : { Items: [node(`n-${segment}-b`)] };
      });

      // Act
      const { nodes } = await listActive(repository);

      // Assess
      expect(ddbMock).toHaveReceivedCommandTimes(ScanCommand, 8);
      const inputs = ddbMock.commandCalls(ScanCommand).map((call) => call.args[0].input);
      expect(inputs.every((input) => input.TotalSegments === 4 && input.ConsistentRead === true)).toBe(true);
      for (const segment of [0, 1, 2, 3]) {
        const pages = inputs.filter((input) => input.Segment === segment);
        expect(pages.map((input) => input.ExclusiveStartKey)).toEqual([undefined, { nodeId: `n-${segment}-a` }]);
      }
      expect(nodes.map((n) => n.nodeId).sort()).toEqual(['n-0-a', 'n-0-b', 'n-1-a', 'n-1-b', 'n-2-a', 'n-2-b', 'n-3-a', 'n-3-b']);
    });

    it('fails naming DescribeTable and the table, not on destructuring, when the client answers only ScanCommand', async () => {
      // Prepare: a test that forgets that the fleet size comes first; the mock answers DescribeTable with undefined.
      ddbMock.on(ScanCommand).resolves({ Items: [node('n-1')] });

      // Act
      const scan = pagesOf(repository.scanActive());

      // Assess
      await expect(scan).rejects.toThrow(MissingResponseError);
      await expect(scan).rejects.toThrow('DescribeTable on Nodes returned no response (a mocked client that does not answer DescribeTable?)');
      expect(ddbMock).not.toHaveReceivedCommand(ScanCommand);
    });

    it('chooses one segment per 5,000 items of the table, at most 16, and reads the count once per 10 minutes', async () => {
      // Prepare
      let clock = 0;
      repository = new DynamoNodeRepository(documentClient(), TABLE, { now: () => clock });
      ddbMock.on(DescribeTableCommand).resolvesOnce({ Table: { ItemCount: 12_001 } }).resolvesOnce({ Table: { ItemCount: 1_000_000 } });
      ddbMock.on(ScanCommand).resolves({ Items: [] });
      const segmentsOfLastScan = (): number | undefined => ddbMock.commandCalls(ScanCommand).at(-1)?.args[0].input.TotalSegments;

      // Act & Assess
      await pagesOf(repository.scanActive());
      expect(segmentsOfLastScan()).toBe(3);
      clock += 599_000;
      await pagesOf(repository.scanActive());
      expect(segmentsOfLastScan()).toBe(3);
      clock += 2_000;
      await pagesOf(repository.scanActive());
      expect(segmentsOfLastScan()).toBe(16);
      expect(ddbMock).toHaveReceivedCommandTimes(DescribeTableCommand, 2);
      expect(ddbMock).toHaveReceivedCommandWith(DescribeTableCommand, { TableName: TABLE });
    });

    it('scans a small table in one segment', async () => {
      // Prepare
      ddbMock.on(DescribeTableCommand).resolves({ Table: { ItemCount: 40 } });
      ddbMock.on(ScanCommand).resolves({ Items: [node('n-1')] });

      // Act
      await pagesOf(repository.scanActive());

      // Assess
      expect(ddbMock.commandCalls(ScanCommand)[0]?.args[0].input).not.toHaveProperty('Segment');
    });

    it('refuses a segment count below 1', () => {
      // Act & Assess
      expect(() => new DynamoNodeRepository(documentClient(), TABLE, { scanSegments: 0 })).toThrow(RangeError);
    });
  });

  describe('scanSegment', () => {
    it('scans the whole table in one segment, consistently, without a status filter, when there is one segment', async () => {
      // Prepare
      ddbMock.on(ScanCommand).resolves({ Items: [node('n-1')], ScannedCount: 1 });

      // Act
      await pagesOf(repository.scanSegment(0, 1, { includePaused: false }));

      // Assess
      const input = ddbMock.commandCalls(ScanCommand)[0]?.args[0].input;
      expect(input).toStrictEqual({ TableName: TABLE, ConsistentRead: true });
      expect(ddbMock).not.toHaveReceivedCommand(DescribeTableCommand);
    });

    it('scans its own segment of a parallel Scan, page by page, the segment kept on every page', async () => {
      // Prepare
      ddbMock
        .on(ScanCommand)
        .resolvesOnce({ Items: [node('n-1')], ScannedCount: 1, LastEvaluatedKey: { nodeId: 'n-1' } })
        .resolvesOnce({ Items: [node('n-9')], ScannedCount: 1 });

      // Act
      const pages = await pagesOf(repository.scanSegment(2, 6, { includePaused: false }));

      // Assess
      expect(pages.map((page) => page.nodes.map((n) => n.nodeId))).toEqual([['n-1'], ['n-9']]);
      expect(ddbMock).toHaveReceivedCommandTimes(ScanCommand, 2);
      expect(ddbMock.commandCalls(ScanCommand).map((call) => call.args[0].input)).toStrictEqual([
        { TableName: TABLE, ConsistentRead: true, Segment: 2, TotalSegments: 6 },
        { TableName: TABLE, ConsistentRead: true, Segment: 2, TotalSegments: 6, ExclusiveStartKey: { nodeId: 'n-1' } },
      ]);
    });

    it('leaves paused nodes out unless asked to include them, and reports invalid items either way', async () => {
      // Prepare
      const items = [node('n-1'), node('n-2', { status: 'paused' }), { ...node('n-3'), status: 'Active' }];
      ddbMock.on(ScanCommand).resolves({ Items: items, ScannedCount: 3 });

      // Act
      const [active] = await pagesOf(repository.scanSegment(0, 2, { includePaused: false }));
      const [all] = await pagesOf(repository.scanSegment(0, 2, { includePaused: true }));

      // Assess
      expect(active?.nodes.map((n) => n.nodeId)).toEqual(['n-1']);
      expect(all?.nodes.map((n) => `${n.nodeId}/${n.status}`)).toEqual(['n-1/active', 'n-2/paused']);
      expect([active, all].map((page) => page?.rejected.map(({ nodeId, attribute }) => `${nodeId}/${attribute}`))).toEqual([['n-3/status'], ['n-3/status']]);
    });

    it('counts every item each page read as scanned, paused and invalid ones included', async () => {
      // Prepare: DynamoDB's count, which a page reports even when it returns fewer items than it read.
      ddbMock
        .on(ScanCommand)
        .resolvesOnce({ Items: [node('n-1'), node('n-2', { status: 'paused' }), { ...node('n-3'), rate: 0 }], ScannedCount: 7, LastEvaluatedKey: { nodeId: 'n-3' } })
        .resolvesOnce({ Items: [node('n-4'), node('n-5')] });

      // Act
      const pages = await pagesOf(repository.scanSegment(1, 4, { includePaused: false }));

      // Assess
      expect(pages.map((page) => page.scanned)).toEqual([7, 2]);
    });
  });

  describe('fleetSize', () => {
    it('is the table’s item count as DescribeTable reports it', async () => {
      // Prepare
      ddbMock.on(DescribeTableCommand).resolves({ Table: { TableName: TABLE, ItemCount: 12_001 } });

      // Act & Assess
      await expect(repository.fleetSize()).resolves.toBe(12_001);
      expect(ddbMock).toHaveReceivedCommandExactlyOnceWith(DescribeTableCommand, { TableName: TABLE });
    });

    it('trusts the count for itemCountTtlMs, then reads it again', async () => {
      // Prepare
      let clock = 1_000;
      repository = new DynamoNodeRepository(documentClient(), TABLE, { itemCountTtlMs: 60_000, now: () => clock });
      ddbMock.on(DescribeTableCommand).resolvesOnce({ Table: { ItemCount: 40 } }).resolvesOnce({ Table: { ItemCount: 90 } });

      // Act
      const sizes = [await repository.fleetSize()];
      clock += 60_000;
      sizes.push(await repository.fleetSize());
      clock += 1;
      sizes.push(await repository.fleetSize());

      // Assess
      expect(sizes).toEqual([40, 40, 90]);
      expect(ddbMock).toHaveReceivedCommandTimes(DescribeTableCommand, 2);
    });

    it('shares its cached count with scanActive’s choice of segments', async () => {
      // Prepare
      ddbMock.on(DescribeTableCommand).resolves({ Table: { ItemCount: 12_001 } });
      ddbMock.on(ScanCommand).resolves({ Items: [] });

      // Act
      await repository.fleetSize();
      await pagesOf(repository.scanActive());

      // Assess
      expect(ddbMock).toHaveReceivedCommandTimes(DescribeTableCommand, 1);
      expect(ddbMock).toHaveReceivedCommandWith(ScanCommand, { TotalSegments: 3 });
    });

    it('reads a table DynamoDB has not counted yet as empty', async () => {
      // Prepare
      ddbMock.on(DescribeTableCommand).resolves({ Table: { TableName: TABLE } });

      // Act & Assess
      await expect(repository.fleetSize()).resolves.toBe(0);
    });

    it('fails naming DescribeTable and the table when the answer has no table description', async () => {
      // Prepare
      ddbMock.on(DescribeTableCommand).resolves({});

      // Act
      const error: unknown = await repository.fleetSize().catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(MissingResponseError);
      expect(error).toMatchObject({ operation: 'DescribeTable', resource: TABLE, message: 'DescribeTable on Nodes returned no Table' });
    });

    it('lets DescribeTable’s errors propagate, and caches nothing from a failed read', async () => {
      // Prepare
      const error = throttled();
      ddbMock.on(DescribeTableCommand).rejectsOnce(error).resolves({ Table: { ItemCount: 40 } });

      // Act & Assess
      await expect(repository.fleetSize()).rejects.toBe(error);
      await expect(repository.fleetSize()).resolves.toBe(40);
    });
  });

  describe('get', () => {
    it('reads the node consistently and keeps every stored field', async () => {
      // Prepare
      const stored = node('n-1', {
        appliedSeq: 40,
        appliedChain: 'c40',
        progressSeq: 40,
        progressInterval: 29447717,
        appliedAt: '2026-11-27T10:00:05Z',
        plannedSeq: 60,
        plannedAt: '2026-11-27T10:00:00Z',
        plannedInterval: 29447718,
        lastProducedAt: '2026-11-27T09:59:59Z',
        status: 'paused',
      });
      ddbMock.on(GetCommand).resolves({ Item: stored });

      // Act
      const result = await repository.get('n-1');

      // Assess
      expect(result).toEqual(stored);
      expect(ddbMock).toHaveReceivedCommandWith(GetCommand, { TableName: TABLE, Key: { nodeId: 'n-1' }, ConsistentRead: true });
    });

    it('leaves optional fields absent for a node never planned or applied', async () => {
      // Prepare
      ddbMock.on(GetCommand).resolves({ Item: node('n-1') });

      // Act
      const result = await repository.get('n-1');

      // Assess
      expect(result).toStrictEqual(node('n-1'));
    });

    it('returns undefined for an unknown node', async () => {
      // Prepare
      ddbMock.on(GetCommand).resolves({});

      // Act & Assess
      await expect(repository.get('n-9')).resolves.toBeUndefined();
    });

    it('fails naming GetItem and the table, not taking the node for unknown, when the client does not answer', async () => {
      // Act & Assess: no GetCommand behaviour, so the mock answers undefined.
      await expect(repository.get('n-1')).rejects.toThrow('GetItem on Nodes returned no response (a mocked client that does not answer GetItem?)');
    });

    it('rejects a node whose status is neither active nor paused, naming the attribute and the node', async () => {
      // Prepare
      ddbMock.on(GetCommand).resolves({ Item: { ...node('n-1'), status: 'retired' } });

      // Act & Assess
      await expect(repository.get('n-1')).rejects.toThrow(MalformedItemError);
      await expect(repository.get('n-1')).rejects.toThrow('Nodes: attribute status must be one of active, paused (got "retired") in the item of node n-1');
    });
  });

  describe('claimPlan', () => {
    const claim = { plannedSeq: 300, plannedAt: '2026-11-27T10:18:00Z', plannedInterval: 29447718, progressSeq: 150, progressInterval: 29447716 };

    it('sets the plan and progress fields on the condition that plannedSeq is unchanged', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).resolves({});

      // Act
      const claimed = await repository.claimPlan('n-1', 200, claim);

      // Assess
      expect(claimed).toBe(true);
      expect(ddbMock).toHaveReceivedCommandExactlyOnceWith(UpdateCommand, {
        TableName: TABLE,
        Key: { nodeId: 'n-1' },
        UpdateExpression:
          'SET #plannedSeq = :plannedSeq, #plannedAt = :plannedAt, #plannedInterval = :plannedInterval, #progressSeq = :progressSeq, #progressInterval = :progressInterval',
        ConditionExpression: '#plannedSeq = :expected AND (attribute_not_exists(#plannedInterval) OR #plannedInterval < :plannedInterval)',
        ExpressionAttributeNames: {
          '#plannedSeq': 'plannedSeq',
          '#plannedAt': 'plannedAt',
          '#plannedInterval': 'plannedInterval',
          '#progressSeq': 'progressSeq',
          '#progressInterval': 'progressInterval',
        },
        ExpressionAttributeValues: {
          ':plannedSeq': 300,
          ':plannedAt': '2026-11-27T10:18:00Z',
          ':plannedInterval': 29447718,
          ':progressSeq': 150,
          ':progressInterval': 29447716,
          ':expected': 200,
        },
      });
    });

    it('returns false when another planner run claimed first', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).rejects(conditionFailed());

      // Act & Assess
      await expect(repository.claimPlan('n-1', 200, claim)).resolves.toBe(false);
    });

    it('lets other errors propagate', async () => {
      // Prepare
      const error = throttled();
      ddbMock.on(UpdateCommand).rejects(error);

      // Act & Assess
      await expect(repository.claimPlan('n-1', 200, claim)).rejects.toBe(error);
    });
  });

  describe('advanceCursor', () => {
    it('moves the cursor on the condition that appliedSeq is unchanged', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).resolves({});

      // Act
      const advanced = await repository.advanceCursor('n-1', 100, {
        appliedSeq: 200,
        appliedChain: 'c200',
        appliedAt: '2026-11-27T10:18:03Z',
        lastProducedAt: '2026-11-27T10:17:00Z',
      });

      // Assess
      expect(advanced).toBe(true);
      expect(ddbMock).toHaveReceivedCommandExactlyOnceWith(UpdateCommand, {
        TableName: TABLE,
        Key: { nodeId: 'n-1' },
        UpdateExpression: 'SET #appliedSeq = :appliedSeq, #appliedChain = :appliedChain, #appliedAt = :appliedAt, #lastProducedAt = :lastProducedAt',
        ConditionExpression: '#appliedSeq = :expected',
        ExpressionAttributeNames: { '#appliedSeq': 'appliedSeq', '#appliedChain': 'appliedChain', '#appliedAt': 'appliedAt', '#lastProducedAt': 'lastProducedAt' },
        ExpressionAttributeValues: {
          ':appliedSeq': 200,
          ':appliedChain': 'c200',
          ':appliedAt': '2026-11-27T10:18:03Z',
          ':lastProducedAt': '2026-11-27T10:17:00Z',
          ':expected': 100,
        },
      });
    });

    it('leaves lastProducedAt alone when the cursor carries none', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).resolves({});

      // Act
      await repository.advanceCursor('n-1', 100, { appliedSeq: 200, appliedChain: 'c200', appliedAt: '2026-11-27T10:18:03Z' });

      // Assess
      const input = ddbMock.commandCalls(UpdateCommand)[0]?.args[0].input;
      expect(input?.UpdateExpression).toBe('SET #appliedSeq = :appliedSeq, #appliedChain = :appliedChain, #appliedAt = :appliedAt');
      expect(input?.ExpressionAttributeNames).not.toHaveProperty('#lastProducedAt');
      expect(input?.ExpressionAttributeValues).not.toHaveProperty(':lastProducedAt');
    });

    it('returns false when another delivery moved the cursor first', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).rejects(conditionFailed());

      // Act & Assess
      await expect(repository.advanceCursor('n-1', 100, { appliedSeq: 200, appliedChain: 'c200', appliedAt: '2026-11-27T10:18:03Z' })).resolves.toBe(false);
    });

    it('lets other errors propagate', async () => {
      // Prepare
      const error = throttled();
      ddbMock.on(UpdateCommand).rejects(error);

      // Act & Assess
      await expect(repository.advanceCursor('n-1', 100, { appliedSeq: 200, appliedChain: 'c200', appliedAt: '2026-11-27T10:18:03Z' })).rejects.toBe(error);
    });
  });

  describe('register', () => {
    it('creates an active node with empty cursors, keeping the cursors of one that exists', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).resolves({});

      // Act
      await repository.register({ nodeId: 'n-1', rate: 25 });

      // Assess
      expect(ddbMock).toHaveReceivedCommandExactlyOnceWith(UpdateCommand, {
        TableName: TABLE,
        Key: { nodeId: 'n-1' },
        UpdateExpression:
          'SET #rate = :rate, #status = :status, #appliedSeq = if_not_exists(#appliedSeq, :zero), ' +
          '#appliedChain = if_not_exists(#appliedChain, :genesis), #plannedSeq = if_not_exists(#plannedSeq, :zero)',
        ExpressionAttributeNames: { '#rate': 'rate', '#status': 'status', '#appliedSeq': 'appliedSeq', '#appliedChain': 'appliedChain', '#plannedSeq': 'plannedSeq' },
        ExpressionAttributeValues: { ':rate': 25, ':status': 'active', ':zero': 0, ':genesis': GENESIS_CHAIN },
      });
    });

    it('stores the status it is given', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).resolves({});

      // Act
      await repository.register({ nodeId: 'n-1', rate: 25, status: 'paused' });

      // Assess
      expect(ddbMock.commandCalls(UpdateCommand)[0]?.args[0].input.ExpressionAttributeValues).toMatchObject({ ':status': 'paused' });
    });
  });

  describe('scanAll', () => {
    it('scans every item, paused ones too, and reports the invalid ones', async () => {
      // Prepare
      ddbMock.on(ScanCommand).resolvesOnce({ Items: [node('n-1'), node('n-2', { status: 'paused' })], LastEvaluatedKey: { nodeId: 'n-2' } }).resolvesOnce({ Items: [{ ...node('n-3'), rate: 0 }] });

      // Act
      const pages = await pagesOf(repository.scanAll());

      // Assess
      expect(pages.flatMap((page) => page.nodes.map((n) => `${n.nodeId}/${n.status}`))).toEqual(['n-1/active', 'n-2/paused']);
      expect(pages.flatMap((page) => page.rejected.map((r) => r.nodeId))).toEqual(['n-3']);
      expect(ddbMock).toHaveReceivedNthCommandWith(ScanCommand, 1, { TableName: TABLE, ConsistentRead: true });
      expect(ddbMock.commandCalls(ScanCommand)[0]?.args[0].input).not.toHaveProperty('FilterExpression');
    });
  });

  describe('change', () => {
    it('sets only the fields given, on the condition that the node exists', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).resolves({});

      // Act
      const changed = await repository.change('n-1', { status: 'paused' });

      // Assess
      expect(changed).toBe(true);
      expect(ddbMock).toHaveReceivedCommandWith(UpdateCommand, {
        TableName: TABLE,
        Key: { nodeId: 'n-1' },
        UpdateExpression: 'SET #status = :status',
        ConditionExpression: 'attribute_exists(#nodeId)',
        ExpressionAttributeNames: { '#nodeId': 'nodeId', '#status': 'status' },
        ExpressionAttributeValues: { ':status': 'paused' },
      });
    });

    it('returns false for a node that does not exist, and never creates one', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).rejects(conditionFailed());

      // Act
      const changed = await repository.change('ghost', { rate: 5 });

      // Assess
      expect(changed).toBe(false);
    });

    it('refuses a change of nothing', async () => {
      // Act / Assess
      await expect(repository.change('n-1', {})).rejects.toThrow(RangeError);
      expect(ddbMock).not.toHaveReceivedCommand(UpdateCommand);
    });
  });

  describe('remove', () => {
    it('deletes the item of a node that exists, and returns false for one that does not', async () => {
      // Prepare
      ddbMock.on(DeleteCommand, { Key: { nodeId: 'n-1' } }).resolves({}).on(DeleteCommand, { Key: { nodeId: 'ghost' } }).rejects(conditionFailed());

      // Act
      const removed = await repository.remove('n-1');
      const missing = await repository.remove('ghost');

      // Assess
      expect([removed, missing]).toEqual([true, false]);
      expect(ddbMock).toHaveReceivedCommandWith(DeleteCommand, { TableName: TABLE, Key: { nodeId: 'n-1' }, ConditionExpression: 'attribute_exists(#nodeId)' });
    });

    it('lets an error other than a failed condition through', async () => {
      // Prepare
      ddbMock.on(DeleteCommand).rejects(throttled());

      // Act / Assess
      await expect(repository.remove('n-1')).rejects.toThrow(/throughput/);
    });
  });
});
