/**
 * The checker's use cases on the in-memory ports — the coordinator (start-check.ts) and its shards
 * (check-shard.ts), a whole tick at a time: how a shard walks its segments, and what a tick leaves
 * in the Convergence table when runs overlap, ticks are missed and intervals leave the open window.
 */
import { describe, expect, it } from 'vitest';
import { GENESIS_CHAIN } from '#shared/domain/chain.ts';
import { intervalStart } from '#shared/domain/interval.ts';
import type { RejectedNode } from '#shared/domain/node.ts';
import type { NodePage } from '#shared/domain/ports.ts';
import { NO_PLAN_TOTALS, type ChainLink, type IntervalVerdict, type LogEntry } from '#shared/domain/types.ts';
import { chainEntries } from '#shared/usecases/append-updates.ts';
import { checkShard, type CheckShardDeps, type TickVerdicts } from '#shared/usecases/check-shard.ts';
import { startCheck } from '#shared/usecases/start-check.ts';
import { InMemoryCheckStore, InMemoryClockStore, InMemoryConvergenceStore, InMemoryLog, InMemoryNodeRepository, InMemoryTaskQueue } from '#test/support/in-memory.ts';
import { checkTick } from '#test/support/sharded-runs.ts';
import type { CheckTask } from '#shared/domain/shard-task.ts';

const STREAM = 'main';
const T = 60;
/** The checker's own tick in most tests: it judges the plans of intervals before K. */
const K = 29_447_718;

/** A log of `length` entries and a world of in-memory ports around it. */
async function world(length = 40): Promise<{ log: InMemoryLog; nodes: InMemoryNodeRepository; convergence: InMemoryConvergenceStore; checks: InMemoryCheckStore; entries: LogEntry[] }> {
  const log = new InMemoryLog();
  const entries = chainEntries({ head: 0, headChain: GENESIS_CHAIN }, Array.from({ length }, (_, i) => ({ key: `k-${i % 5}`, op: 'put' as const, value: i })), intervalStart(K - 10, T).toISOString());
  for (let start = 0; start < entries.length; start += 99) {
    const head = start === 0 ? { head: 0, headChain: GENESIS_CHAIN } : { head: start, headChain: entries[start - 1]?.chain ?? GENESIS_CHAIN };
    await log.append(STREAM, head, entries.slice(start, start + 99), intervalStart(K - 10, T).toISOString());
  }
  return { log, nodes: new InMemoryNodeRepository(), convergence: new InMemoryConvergenceStore(), checks: new InMemoryCheckStore(), entries };
}

/** A node item at `appliedSeq` with the log's chain there, as the applier would leave it. */
function nodeAt(entries: readonly LogEntry[], nodeId: string, appliedSeq: number): Record<string, unknown> {
  const appliedChain = appliedSeq === 0 ? GENESIS_CHAIN : entries[appliedSeq - 1]?.chain;
  return { nodeId, rate: 1, status: 'active', appliedSeq, appliedChain, plannedSeq: appliedSeq };
}

/** The ports a tick reads and writes; `nodes` and `log` may be counting stand-ins. */
interface TickPorts {
  readonly log: Pick<InMemoryLog, 'readHead' | 'readChains'>;
  readonly nodes: Pick<InMemoryNodeRepository, 'scanSegment' | 'fleetSize'>;
  readonly convergence: InMemoryConvergenceStore;
  readonly checks: InMemoryCheckStore;
}

/** What one tick did, flattened: the coordinator's expiries and the merging shard's verdicts. */
interface TickOutcome extends Partial<TickVerdicts> {
  readonly evaluated: readonly IntervalVerdict[];
  readonly superseded: readonly number[];
  readonly expired: readonly number[];
  readonly rejectedNodes: number;
}

/**
 * One checker tick: the coordinator, then its shard tasks. One shard over one segment unless
 * `shards` says otherwise; `extra` replaces shard deps (a stalling store, a listener).
 */
async function checkConvergence(
  input: { readonly now: Date },
  ports: TickPorts,
  extra: Partial<CheckShardDeps> & { readonly shards?: number } = {},
): Promise<TickOutcome> {
  const sharding = { nodesPerShard: 1_000, nodesPerSegment: 1_000, shards: extra.shards ?? 1 };
  const tasks = new InMemoryTaskQueue<CheckTask>();
  const result = await checkTick(input, {
    start: { stream: STREAM, intervalSeconds: T, openIntervals: 5, sharding, log: ports.log, nodes: ports.nodes, convergence: ports.convergence, checks: ports.checks, clock: new InMemoryClockStore(), tasks },
    shard: { stream: STREAM, intervalSeconds: T, reportTopN: 10, log: ports.log, nodes: ports.nodes, convergence: ports.convergence, checks: ports.checks, ...extra },
    tasks,
  });
  return {
    evaluated: result.merged?.evaluated ?? [],
    superseded: result.merged?.superseded ?? [],
    ...(result.merged === undefined ? {} : { current: result.merged.current, ...(result.merged.latest === undefined ? {} : { latest: result.merged.latest }) }),
    expired: result.start.expired,
    rejectedNodes: result.shards.reduce((sum, shard) => sum + shard.rejectedNodes, 0),
  };
}

/**
 * `store` as a run that stalls after judging sees it: its verdict writes wait until `release()`;
 * `writing` settles once the first of them is waiting.
 */
function stallingWrites(store: InMemoryConvergenceStore): { store: InMemoryConvergenceStore; writing: Promise<void>; release: () => void } {
  let release = (): void => undefined;
  let reached = (): void => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const writing = new Promise<void>((resolve) => (reached = resolve));
  const stalled = new Proxy(store, {
    get: (target, property, receiver): unknown => {
      const member: unknown = Reflect.get(target, property, receiver);
      if (typeof member !== 'function') return member;
      const method = member as (...args: unknown[]) => Promise<unknown>;
      if (property !== 'recordVerdict') return method.bind(target);
      return async (...args: unknown[]): Promise<unknown> => {
        reached();
        await gate;
        return method.apply(target, args);
      };
    },
  });
  return {
    store: stalled,
    writing,
    release: () => {
      release();
    },
  };
}

/** Moves a node's cursor to `appliedSeq` with the log's chain there, as an applier would. */
async function advance(nodes: InMemoryNodeRepository, entries: readonly LogEntry[], nodeId: string, from: number, to: number): Promise<void> {
  const moved = await nodes.advanceCursor(nodeId, from, { appliedSeq: to, appliedChain: entries[to - 1]?.chain ?? GENESIS_CHAIN, appliedAt: intervalStart(K, T).toISOString() });
  if (!moved) throw new Error(`${nodeId} was not at ${from}`);
}

async function planned(convergence: InMemoryConvergenceStore, interval: number, head: number, entries: readonly LogEntry[]): Promise<void> {
  const headChain = head === 0 ? GENESIS_CHAIN : (entries[head - 1]?.chain ?? GENESIS_CHAIN);
  await convergence.putPlanHeader({ stream: STREAM, interval, head, headChain, plannedAt: intervalStart(interval, T).toISOString(), shards: 1, segments: 1, previousSegments: 1 }, 2_000_000_000);
  await convergence.reportPlanShard(STREAM, interval, 0, { totals: NO_PLAN_TOTALS });
}

describe('a checker tick (coordinator and shards)', () => {
  describe('at fleet scale', () => {
    it('reads the chains of each page of nodes before it scans the next: it never holds the whole fleet', async () => {
      // Prepare: 12 nodes in pages of 3; record how far the scan had gone at each chain read.
      const { log, nodes, convergence, checks, entries } = await world();
      for (let i = 0; i < 12; i += 1) nodes.putItem(nodeAt(entries, `n-${String(i).padStart(2, '0')}`, 20 + i));
      await planned(convergence, K - 1, 30, entries);
      let pagesScanned = 0;
      const pagesAtEachRead: number[] = [];
      const countingNodes = {
        fleetSize: () => nodes.fleetSize(),
        async *scanSegment(segment: number, segments: number, options: { readonly includePaused: boolean }): AsyncGenerator<NodePage, void, undefined> {
          for await (const page of nodes.scanSegment(segment, segments, options)) {
            pagesScanned += 1;
            yield page;
          }
        },
      };
      const countingLog = {
        readHead: (stream: string) => log.readHead(stream),
        readChains: (stream: string, seqs: readonly number[]): Promise<Map<number, ChainLink>> => {
          pagesAtEachRead.push(pagesScanned);
          return log.readChains(stream, seqs);
        },
      };

      // Act
      const result = await checkConvergence({ now: intervalStart(K, T) }, { log: countingLog, nodes: countingNodes, convergence, checks });

      // Assess
      expect(pagesAtEachRead).toEqual([1, 2, 3, 4]);
      expect(result.evaluated[0]).toMatchObject({ interval: K - 1, activeNodes: 12, laggingCount: 10, consistentNodes: 2 });
    });

    it('reads each chain link once per shard, however many pages ask for it', async () => {
      // Prepare: 12 nodes in pages of 3, in three groups of cursors.
      const { log, nodes, convergence, checks, entries } = await world();
      for (let i = 0; i < 12; i += 1) nodes.putItem(nodeAt(entries, `n-${String(i).padStart(2, '0')}`, 20 + (i % 3)));
      await planned(convergence, K - 1, 30, entries);
      const asked: number[][] = [];
      const countingLog = {
        readHead: (stream: string) => log.readHead(stream),
        readChains: (stream: string, seqs: readonly number[]): Promise<Map<number, ChainLink>> => {
          asked.push([...seqs].sort((a, b) => a - b));
          return log.readChains(stream, seqs);
        },
      };

      // Act
      const result = await checkConvergence({ now: intervalStart(K, T) }, { log: countingLog, nodes, convergence, checks });

      // Assess: the links 20…23 were read once between them; the verdict is the same as without the cache.
      expect(asked.flat().sort((a, b) => a - b)).toEqual([20, 21, 22, 23]);
      expect(result.evaluated[0]).toMatchObject({ activeNodes: 12, laggingCount: 12, integrityFailureCount: 0, maxLagUpdates: 10 });
    });

    it('counts a Nodes item that is not a node, reports it with its key, and judges every other node', async () => {
      // Prepare
      const { log, nodes, convergence, checks, entries } = await world();
      nodes.putItem(nodeAt(entries, 'n-1', 30));
      nodes.putItem({ ...nodeAt(entries, 'n-bad', 30), rate: '5' });
      nodes.putItem(nodeAt(entries, 'n-2', 30));
      await planned(convergence, K - 1, 30, entries);
      const reported: RejectedNode[] = [];

      // Act
      const result = await checkConvergence({ now: intervalStart(K, T) }, { log, nodes, convergence, checks }, { onRejected: (rejected) => reported.push(...rejected) });

      // Assess
      expect(result.rejectedNodes).toBe(1);
      expect(reported).toEqual([{ nodeId: 'n-bad', attribute: 'rate', problem: 'must be a positive number of updates per second (got "5")' }]);
      expect(result.evaluated[0]).toMatchObject({ activeNodes: 2, consistentNodes: 2, converged: true });
    });
  });

  describe('when runs overlap', () => {
    /**
     * n-1 at 20, below a plan with head 30; a run of tick K judges it and stalls before it writes;
     * then n-1 moves to `movedTo`. `finishStalled` lets the stalled run write.
     */
    async function stalledRunThenProgress(movedTo: number): Promise<Awaited<ReturnType<typeof world>> & { finishStalled: () => Promise<TickOutcome> }> {
      const ports = await world();
      ports.nodes.putItem(nodeAt(ports.entries, 'n-1', 20));
      await planned(ports.convergence, K - 1, 30, ports.entries);
      const slow = stallingWrites(ports.convergence);
      const stalled = checkConvergence({ now: intervalStart(K, T) }, ports, { convergence: slow.store });
      await slow.writing;
      await advance(ports.nodes, ports.entries, 'n-1', 20, movedTo);
      return {
        ...ports,
        finishStalled: () => {
          slow.release();
          return stalled;
        },
      };
    }

    it('never turns converged back into not converged: a slower run that read first and writes last loses', async () => {
      // Prepare: the slow run of tick K saw n-1 at 20; n-1 then reaches the head.
      const { log, nodes, convergence, checks, finishStalled } = await stalledRunThenProgress(30);

      // Act: the run of tick K + 1 judges k converged and writes first; then the slow run writes.
      const prompt = await checkConvergence({ now: intervalStart(K + 1, T) }, { log, nodes, convergence, checks });
      const late = await finishStalled();

      // Assess
      expect(prompt.evaluated).toMatchObject([{ interval: K - 1, converged: true }]);
      expect(late.evaluated).toEqual([]);
      expect(late.superseded).toEqual([K - 1]);
      const [record] = await convergence.recent(STREAM, K - 1, 1);
      expect(record).toMatchObject({ converged: true, convergedAt: intervalStart(K + 1, T).toISOString(), verdict: { consistentNodes: 1 } });
    });

    it('writes one tally per shard when two runs of one tick overlap: the duplicate merges the first run\'s partial, and the stalled write loses', async () => {
      // Prepare: the slow run of tick K stored its shard's partial with n-1 10 behind; n-1 then moves to 5 behind.
      const { log, nodes, convergence, checks, finishStalled } = await stalledRunThenProgress(25);

      // Act: a duplicate delivery of tick K finds the tick's header and the shard's partial already stored.
      const duplicate = await checkConvergence({ now: intervalStart(K, T) }, { log, nodes, convergence, checks });
      const late = await finishStalled();

      // Assess: the tick's verdict is its one tally (the next tick judges afresh); the stalled write is superseded.
      expect(duplicate.evaluated).toMatchObject([{ interval: K - 1, maxLagUpdates: 10 }]);
      expect(late.superseded).toEqual([K - 1]);
      const [record] = await convergence.recent(STREAM, K - 1, 1);
      expect(record?.verdict).toMatchObject({ maxLagUpdates: 10, converged: false });
    });

    it('never lets a retried run of an earlier tick overwrite the verdict of a later one: its shard gives up as expired', async () => {
      // Prepare: tick K + 1 has judged k; a retry of tick K runs afterwards, reading that verdict.
      const { log, nodes, convergence, checks, entries } = await world();
      nodes.putItem(nodeAt(entries, 'n-1', 20));
      await planned(convergence, K - 1, 30, entries);
      await checkConvergence({ now: intervalStart(K + 1, T) }, { log, nodes, convergence, checks });
      await advance(nodes, entries, 'n-1', 20, 25);

      // Act
      const retry = await checkConvergence({ now: intervalStart(K, T) }, { log, nodes, convergence, checks });

      // Assess: tick K's shard finds tick K + 1's header, so it judges nothing; K + 1's verdict stands.
      expect(retry.evaluated).toEqual([]);
      expect((await checks.getCheckHeader(STREAM, K))?.progress).toMatchObject({ expired: 1, merged: false });
      const [record] = await convergence.recent(STREAM, K - 1, 1);
      expect(record).toMatchObject({ checkedAt: intervalStart(K + 1, T).toISOString(), verdict: { maxLagUpdates: 10 } });
    });
  });

  describe('when intervals leave the open window', () => {
    it('expires an interval that leaves the window without converging, with the time, and never judges it again', async () => {
      // Prepare: a window of 5 intervals; k = K − 6 is the first outside the window of tick K.
      const { log, nodes, convergence, checks, entries } = await world();
      nodes.putItem(nodeAt(entries, 'n-1', 20));
      await planned(convergence, K - 6, 30, entries);
      await planned(convergence, K - 1, 30, entries);

      // Act
      const first = await checkConvergence({ now: intervalStart(K, T) }, { log, nodes, convergence, checks });
      await advance(nodes, entries, 'n-1', 20, 30);
      const second = await checkConvergence({ now: intervalStart(K + 1, T) }, { log, nodes, convergence, checks });

      // Assess
      expect(first.expired).toEqual([K - 6]);
      expect(first.evaluated.map((verdict) => verdict.interval)).toEqual([K - 1]);
      expect(second.expired).toEqual([]);
      expect(second.evaluated.map((verdict) => verdict.interval)).toEqual([K - 1]);
      const [expired] = await convergence.recent(STREAM, K - 6, 1);
      expect(expired).toMatchObject({ interval: K - 6, converged: false, expiredAt: intervalStart(K, T).toISOString() });
      expect(expired?.checkedAt).toBeUndefined();
    });

    it('closes every interval that left the window while the checker was not running, and reads none of them again', async () => {
      // Prepare: plans for the last 20 intervals, none ever judged; n-1 is behind all of them.
      const { log, nodes, convergence, checks, entries } = await world();
      nodes.putItem(nodeAt(entries, 'n-1', 5));
      for (let interval = K - 20; interval <= K - 1; interval += 1) await planned(convergence, interval, 10, entries);

      // Act
      const first = await checkConvergence({ now: intervalStart(K, T) }, { log, nodes, convergence, checks });
      const next = await checkConvergence({ now: intervalStart(K + 1, T) }, { log, nodes, convergence, checks });

      // Assess
      expect(first.expired).toEqual(Array.from({ length: 15 }, (_, i) => K - 20 + i));
      expect(first.evaluated.map((verdict) => verdict.interval).sort()).toEqual([K - 5, K - 4, K - 3, K - 2, K - 1]);
      expect(next.expired).toEqual([K - 5]);
      expect((await convergence.statuses(STREAM, K)).records.map((record) => record.interval)).toEqual([K - 4, K - 3, K - 2, K - 1]);
    });

    it('never expires an interval that converged, and never counts an expired one as converged', async () => {
      // Prepare: k = K − 7 converged at tick K − 6; k = K − 6 did not, and both leave the window at tick K.
      const { log, nodes, convergence, checks, entries } = await world();
      nodes.putItem(nodeAt(entries, 'n-1', 20));
      await planned(convergence, K - 7, 20, entries);
      await planned(convergence, K - 6, 30, entries);
      await checkConvergence({ now: intervalStart(K - 6, T) }, { log, nodes, convergence, checks });

      // Act
      const result = await checkConvergence({ now: intervalStart(K, T) }, { log, nodes, convergence, checks });

      // Assess
      expect(result.expired).toEqual([K - 6]);
      expect(result.latest).toEqual({ interval: K - 6, converged: false });
      const records = await convergence.recent(STREAM, K - 1, 10);
      expect(records.map(({ interval, converged, expiredAt }) => ({ interval, converged, expired: expiredAt !== undefined }))).toEqual([
        { interval: K - 6, converged: false, expired: true },
        { interval: K - 7, converged: true, expired: false },
      ]);
    });
  });
});

describe('a checker tick cut into shards', () => {
  /** Eight nodes at cursors 20, 22 … 34, one more whose chain is broken, a plan of head 30 before K. */
  async function fleet(): Promise<Awaited<ReturnType<typeof world>>> {
    const ports = await world();
    for (let i = 0; i < 8; i += 1) ports.nodes.putItem(nodeAt(ports.entries, `n-${i}`, 20 + 2 * i));
    ports.nodes.putItem({ ...nodeAt(ports.entries, 'n-broken', 32), appliedChain: 'f'.repeat(64) });
    await planned(ports.convergence, K - 1, 30, ports.entries);
    return ports;
  }

  it('judges the same verdict whatever the number of shards: each shard tallies its segments, the last merges', async () => {
    // Prepare: the same fleet twice.
    const one = await fleet();
    const four = await fleet();

    // Act
    const whole = await checkConvergence({ now: intervalStart(K, T) }, one, { shards: 1 });
    const cut = await checkConvergence({ now: intervalStart(K, T) }, four, { shards: 4 });

    // Assess
    expect(cut.evaluated).toEqual(whole.evaluated);
    expect(cut.current).toEqual(whole.current);
    expect(cut.evaluated[0]).toMatchObject({ activeNodes: 9, laggingCount: 5, consistentNodes: 3, integrityFailureCount: 1, integrityFailures: ['n-broken'] });
  });

  it('waits for a plan whose shards have not all reported, and closes it as plan-incomplete once a shard gave up', async () => {
    // Prepare: interval K − 1 was cut into two planner shards; only shard 0 has reported.
    const { log, nodes, convergence, checks, entries } = await world();
    nodes.putItem(nodeAt(entries, 'n-1', 30));
    await convergence.putPlanHeader({ stream: STREAM, interval: K - 1, head: 30, headChain: entries[29]?.chain ?? '', plannedAt: intervalStart(K - 1, T).toISOString(), shards: 2, segments: 2, previousSegments: 2 }, 2_000_000_000);
    await convergence.reportPlanShard(STREAM, K - 1, 0, { totals: NO_PLAN_TOTALS });

    // Act: tick K waits; then shard 1's task arrives stale; tick K + 1 closes the interval.
    const waiting = await checkConvergence({ now: intervalStart(K, T) }, { log, nodes, convergence, checks });
    const [before] = await convergence.recent(STREAM, K - 1, 1);
    await convergence.reportPlanShard(STREAM, K - 1, 1, { expired: true });
    const tasks = new InMemoryTaskQueue<CheckTask>();
    const closing = await checkTick(
      { now: intervalStart(K + 1, T) },
      {
        start: { stream: STREAM, intervalSeconds: T, openIntervals: 5, sharding: { nodesPerShard: 1_000, nodesPerSegment: 1_000, shards: 1 }, log, nodes, convergence, checks, clock: new InMemoryClockStore(), tasks },
        shard: { stream: STREAM, intervalSeconds: T, log, nodes, convergence, checks },
        tasks,
      },
    );

    // Assess
    expect(waiting.evaluated).toEqual([]);
    expect(before).toMatchObject({ converged: false, shardsReported: 1, shards: 2 });
    expect(before?.checkedAt).toBeUndefined();
    expect(closing.start.incomplete).toEqual([K - 1]);
    expect(closing.start.judged).toEqual([]);
    const [after] = await convergence.recent(STREAM, K - 1, 1);
    expect(after).toMatchObject({ expiredReason: 'plan-incomplete', expiredAt: intervalStart(K + 1, T).toISOString(), converged: false });
  });

  it('counts a check task that arrives after the next tick as expired, merges nothing, and the tick after next reports it unmerged', async () => {
    // Prepare: tick K's coordinator ran, its task is held; tick K + 1's coordinator has written its header.
    const { log, nodes, convergence, checks, entries } = await world();
    nodes.putItem(nodeAt(entries, 'n-1', 30));
    await planned(convergence, K - 1, 30, entries);
    const tasks = new InMemoryTaskQueue<CheckTask>();
    const sharding = { nodesPerShard: 1_000, nodesPerSegment: 1_000, shards: 1 };
    const start = { stream: STREAM, intervalSeconds: T, openIntervals: 5, sharding, log, nodes, convergence, checks, clock: new InMemoryClockStore(), tasks };
    const shard = { stream: STREAM, intervalSeconds: T, log, nodes, convergence, checks };
    await startCheck({ now: intervalStart(K, T) }, start);
    const [held] = tasks.take();
    if (held === undefined) throw new Error('tick K sent no task');
    await startCheck({ now: intervalStart(K + 1, T) }, start);
    tasks.take();

    // Act: the held task arrives; then tick K + 2 runs whole.
    const late = await checkShard(held, shard);
    const later = await checkTick({ now: intervalStart(K + 2, T) }, { start, shard, tasks });

    // Assess: nothing was judged at K; K + 2 judges k afresh and names tick K as never merged.
    expect(late).toMatchObject({ expired: true, counted: true, activeNodes: 0 });
    expect(late.merged).toBeUndefined();
    expect((await checks.getCheckHeader(STREAM, K))?.progress).toMatchObject({ reported: 0, expired: 1, merged: false });
    expect(later.start.unmergedTick).toBe(K);
    expect(later.merged?.evaluated).toMatchObject([{ interval: K - 1, converged: true }]);
  });

  it('merges on the redelivery of a shard that counted itself in and then crashed', async () => {
    // Prepare: the shard's first run dies right after its report, before it could merge.
    const { log, nodes, convergence, checks, entries } = await world();
    nodes.putItem(nodeAt(entries, 'n-1', 30));
    await planned(convergence, K - 1, 30, entries);
    const crashing = new Proxy(checks, {
      get: (target, property, receiver): unknown => {
        const member: unknown = Reflect.get(target, property, receiver);
        if (typeof member !== 'function') return member;
        if (property !== 'reportCheckShard') return (member as (...args: unknown[]) => unknown).bind(target);
        return async (...args: unknown[]): Promise<never> => {
          await (member as (...inner: unknown[]) => Promise<unknown>).apply(target, args);
          throw new Error('the shard died after its report');
        };
      },
    });
    const tasks = new InMemoryTaskQueue<CheckTask>();
    const sharding = { nodesPerShard: 1_000, nodesPerSegment: 1_000, shards: 1 };
    const start = { stream: STREAM, intervalSeconds: T, openIntervals: 5, sharding, log, nodes, convergence, checks, clock: new InMemoryClockStore(), tasks };
    const shard = { stream: STREAM, intervalSeconds: T, log, nodes, convergence, checks };

    // Act
    await expect(checkTick({ now: intervalStart(K, T) }, { start, shard: { ...shard, checks: crashing }, tasks })).rejects.toThrow('died after its report');
    const [task] = (await checks.getCheckHeader(STREAM, K)) === undefined ? [] : tasks.tasks;
    if (task === undefined) throw new Error('the tick sent no task');
    const again = await checkShard(task, shard);

    // Assess
    expect(again).toMatchObject({ counted: false, merged: { evaluated: [{ interval: K - 1, converged: true }] } });
    expect((await checks.getCheckHeader(STREAM, K))?.progress).toMatchObject({ reported: 1, merged: true });
  });
});
