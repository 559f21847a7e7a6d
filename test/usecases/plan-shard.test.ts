/**
 * The planner's use cases on the in-memory ports — the coordinator (start-plan.ts) and one shard
 * (plan-shard.ts): the cut, the plan records that replace a claim per node, what a duplicate,
 * retried, crashed or late shard leaves behind, and a node's history across a change of the cut.
 */
import { describe, expect, it } from 'vitest';
import { intervalStart } from '#shared/domain/interval.ts';
import { parseMicrobatch } from '#shared/domain/microbatch.ts';
import type { NewUpdate } from '#shared/domain/types.ts';
import { appendUpdates } from '#shared/usecases/append-updates.ts';
import { planShard } from '#shared/usecases/plan-shard.ts';
import { startPlan } from '#shared/usecases/start-plan.ts';
import { registerNode } from '#shared/usecases/register-node.ts';
import { createInMemoryPorts, FaultPlan, InjectedCrash, InMemoryPlanLedger, segmentOf } from '#test/support/in-memory.ts';
import { planTick, tickDeps, type TickSettings } from '#test/support/sharded-runs.ts';

const STREAM = 'main';
const T = 60;
const K = 29_447_718;
const NOW = intervalStart(K, T);

function puts(count: number): NewUpdate[] {
  return Array.from({ length: count }, (_, index) => ({ key: `key-${index % 5}`, op: 'put' as const, value: index }));
}

/** A deployment with `nodes` nodes of rate 1/s (a share of 60) and `head` updates in the log. */
async function world(nodes: number, head: number, settings: Partial<TickSettings> = {}): Promise<{ ports: ReturnType<typeof createInMemoryPorts>; deps: ReturnType<typeof tickDeps> }> {
  const ports = createInMemoryPorts();
  for (let index = 0; index < nodes; index += 1) await registerNode({ nodeId: `n-${index}`, rate: 1 }, { nodes: ports.nodes });
  if (head > 0) await appendUpdates({ updates: puts(head) }, { stream: STREAM, log: ports.log, now: () => NOW, sleep: async () => {}, random: Math.random });
  const deps = tickDeps(ports, { stream: STREAM, intervalSeconds: T, batchSize: 10, sharding: { nodesPerShard: 3, nodesPerSegment: 2, shards: 0 }, ...settings });
  return { ports, deps };
}

/** Each node's plannedSeq as the newest plan records hold it. */
function planned(ledger: InMemoryPlanLedger): Record<string, number> {
  const newest = new Map<string, { interval: number; plannedSeq: number }>();
  for (const record of ledger.committed) {
    for (const entry of record.entries) {
      const known = newest.get(entry.nodeId);
      if (known === undefined || known.interval <= record.interval) newest.set(entry.nodeId, { interval: record.interval, plannedSeq: entry.plannedSeq });
    }
  }
  return Object.fromEntries([...newest].map(([nodeId, { plannedSeq }]): [string, number] => [nodeId, plannedSeq]).sort());
}

describe('the planner coordinator', () => {
  it('cuts the fleet by its size into S shards over B segments, fixes the cut in the header and sends one task per shard', async () => {
    // Prepare: 10 nodes, 3 per shard, 2 per segment: S = 4 over B = 8.
    const { ports, deps } = await world(10, 100);

    // Act
    const result = await startPlan({ scheduledTime: NOW }, deps.plan.start);

    // Assess
    expect(result).toMatchObject({ interval: K, head: 100, headerWritten: true, shards: 4, segments: 8, fleetSize: 10 });
    const [header] = await ports.convergence.recent(STREAM, K, 1);
    expect(header).toMatchObject({ head: 100, shards: 4, segments: 8, previousSegments: 8, shardsReported: 0 });
    expect(ports.planTasks.tasks.map((task) => [task.shard, task.head, task.segments, task.plannedAt])).toEqual([0, 1, 2, 3].map((shard) => [shard, 100, 8, NOW.toISOString()]));
  });

  it('re-sends the same tasks, with the first run’s head and cut, when the tick is delivered again after more ingest', async () => {
    // Prepare
    const { ports, deps } = await world(10, 100);
    await startPlan({ scheduledTime: NOW }, deps.plan.start);
    await appendUpdates({ updates: puts(50) }, { stream: STREAM, log: ports.log, now: () => NOW, sleep: async () => {}, random: Math.random });
    for (let index = 10; index < 40; index += 1) await registerNode({ nodeId: `n-${index}`, rate: 1 }, { nodes: ports.nodes });
    const first = ports.planTasks.take();

    // Act
    const again = await startPlan({ scheduledTime: NOW }, deps.plan.start);

    // Assess
    expect(again).toMatchObject({ headerWritten: false, head: 100, shards: 4, segments: 8 });
    expect(ports.planTasks.take()).toEqual(first);
  });

  it('sizes the cut by the last interval’s scans when DynamoDB’s item count lags behind the fleet', async () => {
    // Prepare: a header whose shards scanned 40 items, while the table's count says 10.
    const { ports, deps } = await world(10, 10);
    await startPlan({ scheduledTime: intervalStart(K - 1, T) }, deps.plan.start);
    await ports.convergence.reportPlanShard(STREAM, K - 1, 0, { totals: { activeNodes: 40, nodesPlanned: 0, microbatches: 0, updatesPlanned: 0, resends: 0, observations: 0, rejectedNodes: 0, unsentNodes: 0, scannedItems: 40 } });

    // Act
    const result = await startPlan({ scheduledTime: NOW }, deps.plan.start);

    // Assess: 40 nodes, 3 a shard: 14 shards over 32 segments (2 a segment: 20 → 32); the old B was 8.
    expect(result).toMatchObject({ fleetSize: 40, shards: 14, segments: 32 });
    expect((await ports.convergence.recent(STREAM, K, 1))[0]).toMatchObject({ previousSegments: 8 });
  });
});

describe('a planner shard', () => {
  it('plans every node of its segments once and records each segment’s plan in one record, claiming no node', async () => {
    // Prepare
    const { ports, deps } = await world(10, 100);

    // Act
    const result = await planTick({ scheduledTime: NOW }, deps.plan);

    // Assess: ten plans of 0 → 60, six tokens each; 8 records (one per segment); no claim.
    expect(result.totals).toMatchObject({ activeNodes: 10, nodesPlanned: 10, microbatches: 60, updatesPlanned: 600, scannedItems: 10 });
    expect(ports.ledger.committed.map((record) => record.segment).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(planned(ports.ledger)).toEqual(Object.fromEntries(Array.from({ length: 10 }, (_, index) => [`n-${index}`, 60]).sort()));
    expect(ports.nodes.claims).toEqual([]);
    for (const record of ports.ledger.committed) for (const entry of record.entries) expect(segmentOf(entry.nodeId, 8)).toBe(record.segment);
    expect((await ports.convergence.recent(STREAM, K, 1))[0]).toMatchObject({ shardsReported: 4, nodesPlanned: 10, microbatches: 60 });
  });

  it('sends tokens in calls of 10 across its segments: ceil(tokens / 10) sends for the whole shard', async () => {
    // Prepare: one shard over 8 segments; 7 nodes of 6 tokens each = 42 tokens.
    const { ports, deps } = await world(7, 100, { sharding: { nodesPerShard: 100, nodesPerSegment: 1, shards: 1 } });
    const sizes: number[] = [];
    const counting = { send: (tokens: Parameters<typeof ports.queue.send>[0]) => (sizes.push(tokens.length), ports.queue.send(tokens)) };

    // Act
    await planTick({ scheduledTime: NOW }, { ...deps.plan, shard: { ...deps.plan.shard, queue: counting, sendChunk: 10 } });

    // Assess
    expect(sizes).toEqual([10, 10, 10, 10, 2]);
    expect(ports.queue.messages).toHaveLength(42);
  });

  it('sends nothing and reports nothing twice when its task is delivered again', async () => {
    // Prepare
    const { ports, deps } = await world(10, 100);
    await startPlan({ scheduledTime: NOW }, deps.plan.start);
    const tasks = ports.planTasks.take();
    for (const task of tasks) await planShard(task, deps.plan.shard);
    const sent = ports.queue.messages.length;

    // Act
    const again = await Promise.all(tasks.map((task) => planShard(task, deps.plan.shard)));

    // Assess: every segment was recorded; the totals come back from the records, the header counts each shard once.
    expect(ports.queue.messages).toHaveLength(sent);
    expect(again.every((result) => !result.reported && result.segmentsPlanned === 0)).toBe(true);
    expect(again.reduce((sum, result) => sum + result.totals.nodesPlanned, 0)).toBe(10);
    expect((await ports.convergence.recent(STREAM, K, 1))[0]).toMatchObject({ shardsReported: 4, nodesPlanned: 10 });
  });

  it('plans the same targets again after a crash between sending and recording, and records them once', async () => {
    // Prepare: one shard; the record of its segment crashes before it lands.
    const { ports, deps } = await world(3, 100, { sharding: { nodesPerShard: 100, nodesPerSegment: 100, shards: 1 } });
    const faults = new FaultPlan().crash('ledger.commit', 1, 'before');
    const crashing = { ...deps.plan.shard, ledger: faults.wrap('ledger', ports.ledger) };
    await startPlan({ scheduledTime: NOW }, deps.plan.start);
    const [task] = ports.planTasks.take();
    if (task === undefined) throw new Error('no task');

    // Act: the first run dies; SQS delivers the task again.
    await expect(planShard(task, crashing)).rejects.toBeInstanceOf(InjectedCrash);
    const first = ports.queue.messages.map((message) => message.deduplicationId);
    await planShard(task, crashing);

    // Assess: the retry re-sent the same deduplication ids (SQS dropped them), and one record stands.
    expect(ports.queue.messages.map((message) => message.deduplicationId)).toEqual(first);
    expect(ports.queue.duplicatesDropped).toBe(first.length);
    expect(ports.ledger.committed).toHaveLength(1);
  });

  it('gives up a task that arrives after the next tick, reporting the shard as expired', async () => {
    // Prepare
    const { ports, deps } = await world(3, 100, { sharding: { nodesPerShard: 100, nodesPerSegment: 100, shards: 1 } });
    await startPlan({ scheduledTime: NOW }, deps.plan.start);
    const [task] = ports.planTasks.take();
    if (task === undefined) throw new Error('no task');

    // Act: the next tick has written its header before the task arrives.
    await startPlan({ scheduledTime: intervalStart(K + 1, T) }, deps.plan.start);
    const result = await planShard(task, deps.plan.shard);

    // Assess
    expect(result).toMatchObject({ expired: true, reported: true, segmentsPlanned: 0 });
    expect(ports.queue.messages).toEqual([]);
    expect((await ports.convergence.recent(STREAM, K, 1))[0]).toMatchObject({ shardsReported: 0, shardsExpired: 1 });
  });

  it('keeps the plan of a node whose tokens SQS refused, and plans it again at the next interval', async () => {
    // Prepare: SQS refuses n-1's tokens.
    const { ports, deps } = await world(3, 500, { sharding: { nodesPerShard: 100, nodesPerSegment: 100, shards: 1 } });
    ports.queue.refuseWhen((microbatch) => microbatch.nodeId === 'n-1');

    // Act
    const first = await planTick({ scheduledTime: NOW }, deps.plan);
    ports.queue.refuseWhen(undefined);
    await planTick({ scheduledTime: intervalStart(K + 1, T) }, deps.plan);

    // Assess: n-1 kept plannedSeq 0 at K, and was planned 0 → 60 at K + 1; the others went on to 120.
    expect(first.totals).toMatchObject({ unsentNodes: 1 });
    expect(ports.ledger.committed[0]?.entries.find((entry) => entry.nodeId === 'n-1')?.plannedSeq).toBe(0);
    expect(planned(ports.ledger)).toEqual({ 'n-0': 120, 'n-1': 60, 'n-2': 120 });
  });

  it('carries a paused node’s plan forward untouched, and plans it from there once resumed', async () => {
    // Prepare
    const { ports, deps } = await world(2, 500, { sharding: { nodesPerShard: 100, nodesPerSegment: 100, shards: 1 } });
    await planTick({ scheduledTime: NOW }, deps.plan);
    await registerNode({ nodeId: 'n-1', rate: 1, status: 'paused' }, { nodes: ports.nodes });

    // Act
    const paused = await planTick({ scheduledTime: intervalStart(K + 1, T) }, deps.plan);

    await registerNode({ nodeId: 'n-1', rate: 1, status: 'active' }, { nodes: ports.nodes });
    await planTick({ scheduledTime: intervalStart(K + 2, T) }, deps.plan);

    // Assess: paused at K + 1, n-1 kept its 60; resumed, it went on from there to 120. n-0, with
    // nothing applied, stopped at the in-flight cap of two shares (120).
    expect(paused.totals).toMatchObject({ activeNodes: 1, nodesPlanned: 1 });
    expect(planned(ports.ledger)).toEqual({ 'n-0': 120, 'n-1': 120 });
  });

  it('finds a node’s history in the old segments that cover its new one when B changes, so outstanding work is not planned twice', async () => {
    // Prepare: interval K planned under B = 1; nothing applied since (60 outstanding per node).
    const { ports, deps } = await world(6, 500, { sharding: { nodesPerShard: 100, nodesPerSegment: 100, shards: 1 } });
    await planTick({ scheduledTime: NOW }, deps.plan);
    const cutAnew = { ...deps.plan, start: { ...deps.plan.start, sharding: { nodesPerShard: 2, nodesPerSegment: 1, shards: 0 } } };

    // Act: interval K + 1 under B = 8, S = 3.
    const next = await planTick({ scheduledTime: intervalStart(K + 1, T) }, cutAnew);

    // Assess: each node continues from 60 to 120 (its second share), none starts again from 0.
    expect(next.start).toMatchObject({ shards: 3, segments: 8 });
    expect(next.shards.reduce((sum, shard) => sum + shard.withoutHistory, 0)).toBe(0);
    expect(planned(ports.ledger)).toEqual(Object.fromEntries(Array.from({ length: 6 }, (_, index) => [`n-${index}`, 120])));
    const tokens = ports.queue.messages.map((message) => parseMicrobatch(message.body)).filter((token) => token.interval === K + 1);
    expect(new Set(tokens.map((token) => `${token.from}→${token.target}`))).toEqual(new Set(['60→120']));
  });

  it('claims the plans of nodes its segment’s record has no room for on their items, and plans them from there next', async () => {
    // Prepare: a record with room for about two entries.
    const { ports, deps } = await world(5, 500, { sharding: { nodesPerShard: 100, nodesPerSegment: 100, shards: 1 } });
    const small = new InMemoryPlanLedger(40);
    const shard = { ...deps.plan.shard, ledger: small };

    // Act
    const first = await planTick({ scheduledTime: NOW }, { ...deps.plan, shard });
    await planTick({ scheduledTime: intervalStart(K + 1, T) }, { ...deps.plan, shard });

    // Assess: the spilled nodes were claimed at K, and at K + 1 every node went on to its second share.
    const spilled = first.shards[0]?.spilled ?? 0;
    expect(spilled).toBeGreaterThan(0);
    expect(ports.nodes.claims.filter((claim) => claim.claim.plannedInterval === K)).toHaveLength(spilled);
    for (let index = 0; index < 5; index += 1) {
      const node = await ports.nodes.get(`n-${index}`);
      const inRecord = small.committed.at(-1)?.entries.find((entry) => entry.nodeId === `n-${index}`);
      expect(inRecord?.plannedSeq ?? node?.plannedSeq).toBe(120);
    }
  });

  it('plans identical deduplication ids in two concurrent runs of one task, and one record wins', async () => {
    // Prepare
    const { ports, deps } = await world(4, 100, { sharding: { nodesPerShard: 100, nodesPerSegment: 100, shards: 1 } });
    await startPlan({ scheduledTime: NOW }, deps.plan.start);
    const [task] = ports.planTasks.take();
    if (task === undefined) throw new Error('no task');

    // Act
    const [one, other] = await Promise.all([planShard(task, deps.plan.shard), planShard(task, deps.plan.shard)]);

    // Assess
    expect(ports.queue.messages).toHaveLength(24);
    expect(ports.queue.duplicatesDropped).toBe(24);
    expect(ports.ledger.committed).toHaveLength(1);
    expect([one.reported, other.reported].sort()).toEqual([false, true]);
  });
});
