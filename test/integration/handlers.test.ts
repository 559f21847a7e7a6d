/**
 * The real handlers, invoked one at a time against DynamoDB Local and fauxqs: what bad input and
 * duplicate schedule deliveries leave behind.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoConvergenceStore } from '#shared/adapters/dynamodb/convergence-store.ts';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { DynamoPlanLedger } from '#shared/adapters/dynamodb/plan-ledger.ts';
import { validateSettings } from '#shared/domain/config.ts';
import type { NewUpdate } from '#shared/domain/types.ts';
import type { AppendResult } from '#shared/usecases/append-updates.ts';
import { readPlans } from '#shared/usecases/read-plans.ts';
import { registerNode } from '#shared/usecases/register-node.ts';
import type { LambdaHost } from '#local/lambda-host.ts';
import type { LocalResources } from '#local/resources.ts';
import { ShardedTicks } from '#local/sharded-ticks.ts';
import { emulatorClients, handlerHost } from './support.ts';

const T = 60;
const settings = validateSettings({ stream: 'main', intervalSeconds: T, batchSize: 100 }, 'local');

const clients = emulatorClients();
let resources: LocalResources;
let host: LambdaHost;
let log: DynamoLogStore;
let nodes: DynamoNodeRepository;
let ticks: ShardedTicks;

function puts(count: number): NewUpdate[] {
  return Array.from({ length: count }, (_, index) => ({ key: `key-${index % 20}`, op: 'put' as const, value: { n: index } }));
}

/** The Scheduler payload of the tick at the start of interval k + offset. */
function tick(offset: number): { scheduledTime: string; executionId: string } {
  const k = Math.floor(Date.now() / 1000 / T) + offset;
  return { scheduledTime: new Date(k * T * 1000).toISOString(), executionId: randomUUID() };
}

async function queueDepth(): Promise<number> {
  const { Attributes = {} } = await clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: resources.queues.microbatch.url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
}

/** Each node's plannedSeq as the segments' newest plan records hold it. */
async function plannedSeqs(): Promise<Record<string, number>> {
  const plans = await readPlans('main', Number.MAX_SAFE_INTEGER, {
    ledger: new DynamoPlanLedger(clients.doc, resources.tables.plans),
    convergence: new DynamoConvergenceStore(clients.doc, resources.tables.convergence),
  });
  return Object.fromEntries([...plans].map(([nodeId, { entry }]): [string, number] => [nodeId, entry.plannedSeq]).sort());
}

beforeAll(async () => {
  ({ resources, host } = await handlerHost(clients, settings, 'handlers'));
  log = new DynamoLogStore(clients.doc, resources.tables.log);
  nodes = new DynamoNodeRepository(clients.doc, resources.tables.nodes);
  ticks = new ShardedTicks({ invoke: (name, event) => host.invoke(name, event), sqs: clients.sqs, doc: clients.doc, resources, stream: 'main' });
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

describe('the planner and its shards', () => {
  it('sends nothing new and records no second plan when the same tick is delivered again', async () => {
    // Prepare
    const event = tick(1);
    const first = await ticks.plan(event);
    const depth = await queueDepth();
    const planned = await plannedSeqs();

    // Act
    const again = await ticks.plan(event);

    // Assess: the header holds the first run's cut and totals, once per shard.
    expect(first.record).toMatchObject({ nodesPlanned: 2, microbatches: 2, updatesPlanned: 120, shardsReported: first.start.shards });
    expect(depth).toBe(2);
    expect(planned).toEqual({ 'n-a': 60, 'n-b': 60 });
    expect(again.start).toMatchObject({ headerWritten: false, shards: first.start.shards });
    expect(again.record).toMatchObject({ nodesPlanned: 2, microbatches: 2, shardsReported: first.start.shards });
    expect(await queueDepth()).toBe(depth);
    expect(await plannedSeqs()).toEqual(planned);
  });

  it('sends each microbatch once when two deliveries of a tick run at the same time', async () => {
    // Prepare
    const depth = await queueDepth();

    // Act
    await ticks.plan(tick(2), 2);

    // Assess: both coordinators sent the same tasks; each segment was recorded once, and the shard
    // that lost the race re-sent the same deduplication ids. Each node's plan 60 → 120 sends
    // ceil((120 − 0) / 100) = 2 tokens: the first share is still unapplied, so the tokens carry it too.
    expect(await queueDepth()).toBe(depth + 4);
    expect(await plannedSeqs()).toEqual({ 'n-a': 120, 'n-b': 120 });
  });
});

describe('a fleet cut into four shards', () => {
  it('plans every node once through four shard tasks, and the last checker shard judges the whole fleet', async () => {
    // Prepare: a deployment of its own, cut into 4 shards whatever its size; 12 nodes, 40 updates.
    const sharded = validateSettings({ stream: 'main', intervalSeconds: T, batchSize: 100, shards: 4 }, 'local');
    const own = await handlerHost(clients, sharded, 'four-shards');
    const ownTicks = new ShardedTicks({ invoke: (name, event) => own.host.invoke(name, event), sqs: clients.sqs, doc: clients.doc, resources: own.resources, stream: 'main' });
    const ownNodes = new DynamoNodeRepository(clients.doc, own.resources.tables.nodes);
    const ids = Array.from({ length: 12 }, (_, index) => `node-${index + 1}`);
    await Promise.all(ids.map((nodeId) => registerNode({ nodeId, rate: 2 }, { nodes: ownNodes })));
    await own.host.invoke<AppendResult>('ingest', { updates: puts(40) });

    // Act: the planner's tick, the applier draining the queue, the checker's next tick.
    const plan = await ownTicks.plan(tick(10));
    const { FifoEventSource } = await import('#local/event-source.ts');
    const { seededRandom } = await import('#local/random.ts');
    await new FifoEventSource({
      sqs: clients.sqs,
      queue: own.resources.queues.microbatch,
      region: 'us-east-1',
      invoke: (event) => own.host.invoke('applier', event),
      faults: () => ({ duplicate: 0, crash: 0, reorder: 0, lose: 0 }),
      random: seededRandom(1),
    }).drain();
    const check = await ownTicks.check(tick(11));

    // Assess
    expect(plan.start).toMatchObject({ shards: 4, segments: 4 });
    expect(plan.record).toMatchObject({ shards: 4, shardsReported: 4, activeNodes: 12, nodesPlanned: 12, microbatches: 12, updatesPlanned: 480, scannedItems: 12 });
    expect(own.host.coldStarts().plannerShard).toBeGreaterThanOrEqual(1);
    expect(check.start).toMatchObject({ shards: 4, judged: [plan.start.interval] });
    expect(check.progress).toMatchObject({ shards: 4, reported: 4, expired: 0, merged: true, outcome: { latest: { interval: plan.start.interval, converged: true } } });
    expect(check.progress.outcome?.current).toMatchObject({ activeNodes: 12, consistentNodes: 12 });
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
    const planned = await ticks.plan(tick(3));
    const checked = await ticks.check(tick(4));

    // Assess
    expect(planned.record).toMatchObject({ rejectedNodes: 3, unsentNodes: 0 });
    expect((await plannedSeqs())['tenant:8']).toBe(60);
    expect(await queueDepth()).toBeGreaterThan(depth);
    expect(checked.progress.outcome?.current.activeNodes).toBe(3);
  });
});
