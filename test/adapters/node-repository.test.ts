import type { ScanCommandInput } from '@aws-sdk/lib-dynamodb';
import { DynamoDBDocumentClient, GetCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { MalformedItemError } from '#shared/adapters/errors.ts';
import { GENESIS_CHAIN } from '#shared/domain/chain.ts';
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

  describe('listActive', () => {
    it('scans for active nodes with a consistent read, paging until done', async () => {
      // Prepare
      ddbMock
        .on(ScanCommand)
        .resolvesOnce({ Items: [node('n-1'), node('n-2')], LastEvaluatedKey: { nodeId: 'n-2' } })
        .resolvesOnce({ Items: [], LastEvaluatedKey: { nodeId: 'n-5' } })
        .resolvesOnce({ Items: [node('n-7')] });

      // Act
      const nodes = await repository.listActive();

      // Assess
      expect(nodes.map((n) => n.nodeId)).toEqual(['n-1', 'n-2', 'n-7']);
      expect(ddbMock).toHaveReceivedCommandTimes(ScanCommand, 3);
      expect(ddbMock).toHaveReceivedNthCommandWith(ScanCommand, 1, {
        TableName: TABLE,
        FilterExpression: '#status = :active',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':active': 'active' },
        ConsistentRead: true,
      });
      expect(ddbMock).toHaveReceivedNthCommandWith(ScanCommand, 2, { ExclusiveStartKey: { nodeId: 'n-2' } });
      expect(ddbMock).toHaveReceivedNthCommandWith(ScanCommand, 3, { ExclusiveStartKey: { nodeId: 'n-5' } });
      const first = ddbMock.commandCalls(ScanCommand)[0]?.args[0].input;
      expect(first).not.toHaveProperty('Segment');
      expect(first?.ExclusiveStartKey).toBeUndefined();
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
      const nodes = await repository.listActive();

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

    it('refuses a segment count below 1', () => {
      // Act & Assess
      expect(() => new DynamoNodeRepository(documentClient(), TABLE, { scanSegments: 0 })).toThrow(RangeError);
    });
  });

  describe('get', () => {
    it('reads the node consistently and keeps every stored field', async () => {
      // Prepare
      const stored = node('n-1', {
        appliedSeq: 40,
        appliedChain: 'c40',
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

    it('rejects a node whose status is neither active nor paused', async () => {
      // Prepare
      ddbMock.on(GetCommand).resolves({ Item: { ...node('n-1'), status: 'retired' } });

      // Act & Assess
      await expect(repository.get('n-1')).rejects.toThrow(MalformedItemError);
    });
  });

  describe('claimPlan', () => {
    const claim = { plannedSeq: 300, plannedAt: '2026-11-27T10:18:00Z', plannedInterval: 29447718 };

    it('sets the plan fields on the condition that plannedSeq is unchanged', async () => {
      // Prepare
      ddbMock.on(UpdateCommand).resolves({});

      // Act
      const claimed = await repository.claimPlan('n-1', 200, claim);

      // Assess
      expect(claimed).toBe(true);
      expect(ddbMock).toHaveReceivedCommandExactlyOnceWith(UpdateCommand, {
        TableName: TABLE,
        Key: { nodeId: 'n-1' },
        UpdateExpression: 'SET #plannedSeq = :plannedSeq, #plannedAt = :plannedAt, #plannedInterval = :plannedInterval',
        ConditionExpression: '#plannedSeq = :expected AND (attribute_not_exists(#plannedInterval) OR #plannedInterval < :plannedInterval)',
        ExpressionAttributeNames: { '#plannedSeq': 'plannedSeq', '#plannedAt': 'plannedAt', '#plannedInterval': 'plannedInterval' },
        ExpressionAttributeValues: { ':plannedSeq': 300, ':plannedAt': '2026-11-27T10:18:00Z', ':plannedInterval': 29447718, ':expected': 200 },
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
});
