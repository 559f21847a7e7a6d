/**
 * The real handlers, invoked one at a time against DynamoDB Local and fauxqs: what bad input and
 * duplicate schedule deliveries leave behind.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { validateSettings } from '#shared/domain/config.ts';
import { listActive } from '#shared/domain/ports.ts';
import type { NewUpdate, NodeState } from '#shared/domain/types.ts';
import type { AppendResult } from '#shared/usecases/append-updates.ts';
import type { CheckConvergenceResult } from '#shared/usecases/check-convergence.ts';
import type { PlanIntervalResult } from '#shared/usecases/plan-interval.ts';
import { registerNode } from '#shared/usecases/register-node.ts';
import type { LambdaHost } from '#local/lambda-host.ts';
import type { LocalResources } from '#local/resources.ts';
import { emulatorClients, handlerHost } from './support.ts';

const T = 60;
const settings = validateSettings({ stream: 'main', intervalSeconds: T, batchSize: 100 }, 'local');

const clients = emulatorClients();
let resources: LocalResources;
let host: LambdaHost;
let log: DynamoLogStore;
let nodes: DynamoNodeRepository;

function puts(count: number): NewUpdate[] {
  return Array.from({ length: count }, (_, index) => ({ key: `key-${index % 20}`, op: 'put' as const, value: { n: index } }));
}

/** The Scheduler payload of the tick at the start of interval k + offset. */
function tick(offset: number): { scheduledTime: string; executionId: string; attempt: string } {
  const k = Math.floor(Date.now() / 1000 / T) + offset;
  return { scheduledTime: new Date(k * T * 1000).toISOString(), executionId: randomUUID(), attempt: '1' };
}

async function queueDepth(): Promise<number> {
  const { Attributes = {} } = await clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: resources.queues.microbatch.url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
}

async function claims(): Promise<Pick<NodeState, 'nodeId' | 'plannedSeq' | 'plannedInterval' | 'plannedAt'>[]> {
  const { nodes: states } = await listActive(nodes);
  return states
    .map(({ nodeId, plannedSeq, plannedInterval, plannedAt }) => ({ nodeId, plannedSeq, plannedInterval, plannedAt }))
    .sort((a, b) => a.nodeId.localeCompare(b.nodeId));
}

beforeAll(async () => {
  ({ resources, host } = await handlerHost(clients, settings, 'handlers'));
  log = new DynamoLogStore(clients.doc, resources.tables.log);
  nodes = new DynamoNodeRepository(clients.doc, resources.tables.nodes);
  // One update per second: a share of 60 per interval, well below the backlog.
  await Promise.all(['n-a', 'n-b'].map((nodeId) => registerNode({ nodeId, rate: 1 }, { nodes })));
  await host.invoke<AppendResult>('ingest', { updates: puts(250) });
});

afterAll(() => {
  clients.destroy();
});

describe('the ingest handler', () => {
  it('appends nothing and names the bad update when one update of a request is invalid', async () => {
    // Prepare
    const before = await log.readHead('main');
    const updates = [{ key: 'good-1', op: 'put', value: 1 }, { key: '', op: 'put', value: 2 }, { key: 'good-2', op: 'delete' }];

    // Act
    const attempt = host.invoke('ingest', { updates, idempotencyKey: 'bad-request' });

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'ValidationError', message: expect.stringContaining('updates.1.key') as unknown });
    expect(await log.readHead('main')).toEqual(before);
    expect(await log.readRange('main', before.head, before.head + 3)).toEqual([]);
  });
});

describe('the planner handler', () => {
  it('sends nothing new and changes no claim when the same tick is delivered again', async () => {
    // Prepare
    const event = tick(1);
    const first = await host.invoke<PlanIntervalResult>('planner', event);
    const depth = await queueDepth();
    const claimed = await claims();

    // Act
    const again = await host.invoke<PlanIntervalResult>('planner', event);

    // Assess
    expect(first).toMatchObject({ nodesPlanned: 2, microbatches: 2, updatesPlanned: 120 });
    expect(depth).toBe(2);
    expect(again).toMatchObject({ nodesPlanned: 0, microbatches: 0, skipped: { 'already-planned': 2 } });
    expect(await queueDepth()).toBe(depth);
    expect(await claims()).toEqual(claimed);
  });

  it('sends each microbatch once when two deliveries of a tick run at the same time', async () => {
    // Prepare
    const depth = await queueDepth();
    const event = tick(2);

    // Act
    const [one, other] = await Promise.all([host.invoke<PlanIntervalResult>('planner', event), host.invoke<PlanIntervalResult>('planner', event)]);

    // Assess: both planned the same, SQS dropped the second copy by its deduplication id, one claim
    // won per node. Each node's plan 60 → 120 sends ceil((120 − 0) / 100) = 2 tokens: the first
    // share is still unapplied, so the tokens carry it too.
    expect(one.microbatches + other.microbatches).toBeGreaterThan(0);
    expect(await queueDepth()).toBe(depth + 4);
    expect((await claims()).map((claim) => claim.plannedSeq)).toEqual([120, 120]);
    expect(host.coldStarts().planner).toBe(2);
  });
});

describe('Nodes items written by hand', () => {
  it('are skipped and reported by the planner and the checker, while every other node is planned and judged', async () => {
    // Prepare: the README's AWS CLI example with "S" instead of "N" for the rate, an id with a
    // space (SQS refuses it as a message group id), a rate of 0, and an id with a colon (fine).
    const items = [
      { nodeId: 'hand-string-rate', rate: '5', status: 'active', appliedSeq: 0, appliedChain: '0'.repeat(64), plannedSeq: 0 },
      { nodeId: 'tenant 7', rate: 1, status: 'active', appliedSeq: 0, appliedChain: '0'.repeat(64), plannedSeq: 0 },
      { nodeId: 'hand-zero-rate', rate: 0, status: 'active', appliedSeq: 0, appliedChain: '0'.repeat(64), plannedSeq: 0 },
    ];
    await Promise.all(items.map((Item) => clients.doc.send(new PutCommand({ TableName: resources.tables.nodes, Item }))));
    await registerNode({ nodeId: 'tenant:8', rate: 1 }, { nodes });
    const depth = await queueDepth();

    // Act
    const planned = await host.invoke<PlanIntervalResult>('planner', tick(3));
    const checked = await host.invoke<CheckConvergenceResult>('checker', tick(4));

    // Assess
    expect(planned).toMatchObject({ rejectedNodes: 3, unsentNodes: 0 });
    expect((await listActive(nodes)).nodes.find((node) => node.nodeId === 'tenant:8')).toMatchObject({ plannedSeq: 60 });
    expect(await queueDepth()).toBeGreaterThan(depth);
    expect(checked.current.activeNodes).toBe(3);
  });
});

