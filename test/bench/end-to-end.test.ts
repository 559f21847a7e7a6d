/**
 * The end-to-end benchmark's bookkeeping: which recorded requests make the write floor, how SQS
 * requests are billed, where a run's wall time went, and how the figures meet their targets.
 */
import { describe, expect, it } from 'vitest';
import { markdownTable, rows, valueAt } from '#bench/figures.ts';
import { floorWrites } from '#bench/pipeline/write-floor.ts';
import { timeline } from '#bench/pipeline/timeline.ts';
import { billableSqsRequests, costOf, perMillion } from '#bench/pricing.ts';
import type { Exchange } from '#bench/request-recorder.ts';

const REPLICA = 'bench-e2e-ab-12345678-ReplicaTable';
const NODES = 'bench-e2e-ab-12345678-NodesTable';
const LOG = 'bench-e2e-ab-12345678-LogTable';

function exchange(operation: string, request: Record<string, unknown>, at: [number, number] = [0, 0], service: Exchange['service'] = 'dynamodb', response: Record<string, unknown> = {}): Exchange {
  return { service, operation, status: 200, request, response, startedAt: at[0], endedAt: at[1] };
}

const put = (nodeId: string, key: string, seq: number, at?: [number, number]): Exchange =>
  exchange('PutItem', { TableName: REPLICA, Item: { nodeId: { S: nodeId }, key: { S: key }, value: { S: '{"n":1}' }, seq: { N: String(seq) }, updatedAt: { S: 't' } } }, at);

describe('floorWrites', () => {
  it('groups a node’s replica puts up to its cursor move as one microbatch, however the nodes of a batch interleave', () => {
    const cursor = (nodeId: string): Exchange => exchange('UpdateItem', { TableName: NODES, Key: { nodeId: { S: nodeId } } });
    const writes = floorWrites([
      exchange('GetItem', { TableName: NODES }),
      put('n-1', 'a', 1),
      put('n-2', 'a', 1),
      put('n-1', 'b', 2),
      cursor('n-1'),
      exchange('GetItem', { TableName: NODES }),
      put('n-1', 'c', 3),
      put('n-2', 'b', 2),
      cursor('n-2'),
    ]);
    expect(writes.groups.map((group) => [group.nodeId, group.writes.map((write) => write.key)])).toEqual([
      ['n-1', ['a', 'b']],
      ['n-2', ['a', 'b']],
      ['n-1', ['c']],
    ]);
    expect(writes.groups[0]?.writes[0]).toEqual({ key: 'a', value: { n: 1 }, seq: 1, updatedAt: 't' });
  });

  it("keeps ingest's transactions without the SDK's idempotency token", () => {
    const writes = floorWrites([exchange('TransactWriteItems', { ClientRequestToken: 'token', ReturnConsumedCapacity: 'TOTAL', TransactItems: [{ Put: { TableName: LOG } }] })]);
    expect(writes.transactions).toEqual([{ TransactItems: [{ Put: { TableName: LOG } }] }]);
  });
});

describe('billableSqsRequests', () => {
  it('bills sends, deliveries and deletes per started 64 KB, and leaves idle polling out', () => {
    const sqs = (operation: string, request: Record<string, unknown> = {}, response: Record<string, unknown> = {}): Exchange => exchange(operation, request, [0, 0], 'sqs', response);
    const counted = billableSqsRequests([
      sqs('SendMessageBatch', { Entries: [{ MessageBody: 'x'.repeat(40_000) }, { MessageBody: 'y'.repeat(40_000) }] }),
      sqs('ReceiveMessage', {}, { Messages: [{ Body: 'small' }] }),
      sqs('ReceiveMessage', {}, { Messages: [] }),
      sqs('DeleteMessageBatch'),
      sqs('GetQueueAttributes'),
    ]);
    expect(counted).toEqual({ billable: 2 + 1 + 1, leftOut: 2 });
  });
});

describe('timeline', () => {
  it('gives each moment to the most essential request in flight, and the rest to the processes', () => {
    const spent = timeline(
      [
        put('n-1', 'a', 1, [10, 30]),
        exchange('GetItem', { TableName: NODES }, [20, 50]),
        exchange('ReceiveMessage', {}, [40, 60], 'sqs'),
      ],
      0,
      100,
    );
    expect(spent).toEqual({ floorWrites: 20, otherDynamoDb: 20, sqs: 10, nothingInFlight: 50 });
  });
});

describe('pricing', () => {
  it('prices units, requests and GB-seconds, and scales a run to a million updates', () => {
    const cost = costOf({ writeRequestUnits: 1_000_000, readRequestUnits: 1_000_000, sqsRequests: 1_000_000, lambdaRequests: 1_000_000, lambdaGbSeconds: 1 });
    expect(cost.dynamodb).toBeCloseTo(0.75);
    expect(cost.sqs).toBeCloseTo(0.5);
    expect(cost.lambda).toBeCloseTo(0.2000133334);
    expect(perMillion(cost, 2_000_000).total).toBeCloseTo(cost.total / 2, 3);
  });
});

describe('figures', () => {
  const shard = (wallMs: number, messages: number, sendMessageBatchCalls: number): Record<string, number> => ({ wallMs, wallCpuMs: 2_000, cpuMs: 1_400, messages, sendMessageBatchCalls });
  const results = {
    apply: { wruPerUpdate: { microbatch: 1.01, microbatchRepeatedKeys: 0.26, seedBaseline: 2, transactional: 2.02 }, dynamoDbLocalWruPerUpdate: { transactional: 0.04 } },
    planner: {
      nodes1M: {
        steady: { shards: 20, shard: shard(3_801, 48_630, 4_863), fleet: { callsPerPlannedNode: 0.1016 }, cost: { total: 0.0622 } },
        catchUp: { shards: 20, shard: shard(31_000, 153_390, 15_340), fleet: { callsPerPlannedNode: 0.3174, messages: 3_158_098 } },
      },
    },
  };

  it('reads each figure beside its target and says whether a budget is met', () => {
    const byPath = new Map(rows(results).map((row) => [row.path, row]));
    expect(byPath.get('apply.wruPerUpdate.microbatch')).toMatchObject({ verdict: '✓' });
    expect(byPath.get('apply.wruPerUpdate.transactional')).toMatchObject({ measured: '2.02 (DynamoDB Local says 0.04)', verdict: '' });
    expect(byPath.get('planner.nodes1M.steady.shard.wallMs')).toMatchObject({ measured: '3,801 ms (CPU 2,000 ms)', verdict: '✓' });
    expect(byPath.get('planner.nodes1M.catchUp.shard.wallMs')).toMatchObject({ verdict: '✗' });
    expect(byPath.get('planner.nodes1M.steady.fleet.callsPerPlannedNode')).toMatchObject({ measured: '0.10', verdict: '✓' });
    expect(byPath.get('planner.nodes1M.steady.shard.sendMessageBatchCalls')).toMatchObject({ verdict: '✓' });
    expect(byPath.get('planner.nodes1M.catchUp.shard.sendMessageBatchCalls')).toMatchObject({ verdict: '✗' });
    expect(byPath.get('planner.nodes1M.steady.cost.total')).toMatchObject({ measured: '$0.0622' });
    expect(byPath.get('planner.nodes100k.steady.shard.wallMs')).toMatchObject({ measured: '—', verdict: '' });
    expect(byPath.has('checker.nodes1M.shard.wallMs')).toBe(false);
    expect(valueAt(results, 'planner.nodes1M.catchUp.fleet.messages')).toBe(3_158_098);
  });

  it('derives a figure from two parts, and shows none while one is missing', () => {
    const both = { ...results, checker: { nodes1M: { cost: { total: 0.2004 } } } };
    expect(rows(both).find((row) => row.path === 'plannerAndChecker.costPerMillionNodeIntervals')).toMatchObject({ measured: '$0.26' });
    expect(rows({ checker: both.checker }).find((row) => row.path === 'plannerAndChecker.costPerMillionNodeIntervals')).toMatchObject({ measured: '—' });
  });

  it('prints them as a Markdown table', () => {
    expect(markdownTable(results).split('\n')[2]).toBe('| `apply.wruPerUpdate.microbatch` | write units per applied update, b = 100, distinct keys | 1.01 | ≤ 1.02 (floor 1 + 1/b) | ✓ |');
  });
});
