/**
 * The checker's use case on the in-memory ports: how it walks the fleet, and what it leaves in the
 * Convergence table when runs overlap, ticks are missed and intervals leave the open window.
 */
import { describe, expect, it } from 'vitest';
import { GENESIS_CHAIN } from '#shared/domain/chain.ts';
import { intervalStart } from '#shared/domain/interval.ts';
import type { RejectedNode } from '#shared/domain/node.ts';
import type { NodePage } from '#shared/domain/ports.ts';
import type { ChainLink, LogEntry } from '#shared/domain/types.ts';
import { chainEntries } from '#shared/usecases/append-updates.ts';
import { checkConvergence, type CheckConvergenceDeps, type CheckConvergenceResult } from '#shared/usecases/check-convergence.ts';
import { InMemoryConvergenceStore, InMemoryLog, InMemoryNodeRepository } from '#test/support/in-memory.ts';

const STREAM = 'main';
const T = 60;
/** The checker's own tick in most tests: it judges the plans of intervals before K. */
const K = 29_447_718;

/** A log of `length` entries and a world of in-memory ports around it. */
async function world(length = 40): Promise<{ log: InMemoryLog; nodes: InMemoryNodeRepository; convergence: InMemoryConvergenceStore; entries: LogEntry[] }> {
  const log = new InMemoryLog();
  const entries = chainEntries({ head: 0, headChain: GENESIS_CHAIN }, Array.from({ length }, (_, i) => ({ key: `k-${i % 5}`, op: 'put' as const, value: i })), intervalStart(K - 10, T).toISOString());
  for (let start = 0; start < entries.length; start += 99) {
    const head = start === 0 ? { head: 0, headChain: GENESIS_CHAIN } : { head: start, headChain: entries[start - 1]?.chain ?? GENESIS_CHAIN };
    await log.append(STREAM, head, entries.slice(start, start + 99), intervalStart(K - 10, T).toISOString());
  }
  return { log, nodes: new InMemoryNodeRepository(), convergence: new InMemoryConvergenceStore(), entries };
}

/** A node item at `appliedSeq` with the log's chain there, as the applier would leave it. */
function nodeAt(entries: readonly LogEntry[], nodeId: string, appliedSeq: number): Record<string, unknown> {
  const appliedChain = appliedSeq === 0 ? GENESIS_CHAIN : entries[appliedSeq - 1]?.chain;
  return { nodeId, rate: 1, status: 'active', appliedSeq, appliedChain, plannedSeq: appliedSeq };
}

function depsOf(ports: Pick<CheckConvergenceDeps, 'log' | 'nodes' | 'convergence'>, extra: Partial<CheckConvergenceDeps> = {}): CheckConvergenceDeps {
  return { stream: STREAM, intervalSeconds: T, openIntervals: 5, reportTopN: 10, ...ports, ...extra };
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
  await convergence.putPlanHeader({ stream: STREAM, interval, head, headChain, plannedAt: intervalStart(interval, T).toISOString() }, 2_000_000_000);
}

describe('checkConvergence', () => {
  describe('at fleet scale', () => {
    it('reads the chains of each page of nodes before it scans the next: it never holds the whole fleet', async () => {
      // Prepare: 12 nodes in pages of 3; record how far the scan had gone at each chain read.
      const { log, nodes, convergence, entries } = await world();
      for (let i = 0; i < 12; i += 1) nodes.putItem(nodeAt(entries, `n-${String(i).padStart(2, '0')}`, 20 + i));
      await planned(convergence, K - 1, 30, entries);
      let pagesScanned = 0;
      const pagesAtEachRead: number[] = [];
      const countingNodes = {
        async *scanActive(): AsyncGenerator<NodePage, void, undefined> {
          for await (const page of nodes.scanActive()) {
            pagesScanned += 1;
            yield page;
          }
        },
      };
      const countingLog = {
        readHead: (stream: string) => log.readHead(stream),
        readRange: (stream: string, from: number, to: number) => log.readRange(stream, from, to),
        readChains: (stream: string, seqs: readonly number[]): Promise<Map<number, ChainLink>> => {
          pagesAtEachRead.push(pagesScanned);
          return log.readChains(stream, seqs);
        },
      };

      // Act
      const result = await checkConvergence({ interval: K, now: intervalStart(K, T) }, depsOf({ log: countingLog, nodes: countingNodes, convergence }));

      // Assess
      expect(pagesAtEachRead).toEqual([1, 2, 3, 4]);
      expect(result.evaluated[0]).toMatchObject({ interval: K - 1, activeNodes: 12, laggingCount: 10, consistentNodes: 2 });
    });

    it('counts a Nodes item that is not a node, reports it with its key, and judges every other node', async () => {
      // Prepare
      const { log, nodes, convergence, entries } = await world();
      nodes.putItem(nodeAt(entries, 'n-1', 30));
      nodes.putItem({ ...nodeAt(entries, 'n-bad', 30), rate: '5' });
      nodes.putItem(nodeAt(entries, 'n-2', 30));
      await planned(convergence, K - 1, 30, entries);
      const reported: RejectedNode[] = [];

      // Act
      const result = await checkConvergence(
        { interval: K, now: intervalStart(K, T) },
        depsOf({ log, nodes, convergence }, { onRejected: (rejected) => reported.push(...rejected) }),
      );

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
    async function stalledRunThenProgress(movedTo: number): Promise<Awaited<ReturnType<typeof world>> & { finishStalled: () => Promise<CheckConvergenceResult> }> {
      const ports = await world();
      ports.nodes.putItem(nodeAt(ports.entries, 'n-1', 20));
      await planned(ports.convergence, K - 1, 30, ports.entries);
      const slow = stallingWrites(ports.convergence);
      const stalled = checkConvergence({ interval: K, now: intervalStart(K, T) }, depsOf({ ...ports, convergence: slow.store }));
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
      const { log, nodes, convergence, finishStalled } = await stalledRunThenProgress(30);

      // Act: the run of tick K + 1 judges k converged and writes first; then the slow run writes.
      const prompt = await checkConvergence({ interval: K + 1, now: intervalStart(K + 1, T) }, depsOf({ log, nodes, convergence }));
      const late = await finishStalled();

      // Assess
      expect(prompt.evaluated).toMatchObject([{ interval: K - 1, converged: true }]);
      expect(late.evaluated).toEqual([]);
      expect(late.superseded).toEqual([K - 1]);
      const [record] = await convergence.recent(STREAM, K - 1, 1);
      expect(record).toMatchObject({ converged: true, convergedAt: intervalStart(K + 1, T).toISOString(), verdict: { consistentNodes: 1 } });
    });

    it('keeps the verdict of the later read when two runs of one tick overlap', async () => {
      // Prepare: both runs judge tick K; the slow one saw n-1 10 behind, the prompt one sees it 5 behind.
      const { log, nodes, convergence, finishStalled } = await stalledRunThenProgress(25);

      // Act
      await checkConvergence({ interval: K, now: intervalStart(K, T) }, depsOf({ log, nodes, convergence }));
      const late = await finishStalled();

      // Assess
      expect(late.superseded).toEqual([K - 1]);
      const [record] = await convergence.recent(STREAM, K - 1, 1);
      expect(record?.verdict).toMatchObject({ maxLagUpdates: 5, converged: false });
    });

    it('never lets a retried run of an earlier tick overwrite the verdict of a later one', async () => {
      // Prepare: tick K + 1 has judged k; a retry of tick K runs afterwards, reading that verdict.
      const { log, nodes, convergence, entries } = await world();
      nodes.putItem(nodeAt(entries, 'n-1', 20));
      await planned(convergence, K - 1, 30, entries);
      await checkConvergence({ interval: K + 1, now: intervalStart(K + 1, T) }, depsOf({ log, nodes, convergence }));
      await advance(nodes, entries, 'n-1', 20, 25);

      // Act
      const retry = await checkConvergence({ interval: K, now: intervalStart(K, T) }, depsOf({ log, nodes, convergence }));

      // Assess
      expect(retry.superseded).toEqual([K - 1]);
      const [record] = await convergence.recent(STREAM, K - 1, 1);
      expect(record).toMatchObject({ checkedAt: intervalStart(K + 1, T).toISOString(), verdict: { maxLagUpdates: 10 } });
    });
  });

  describe('when intervals leave the open window', () => {
    it('expires an interval that leaves the window without converging, with the time, and never judges it again', async () => {
      // Prepare: a window of 5 intervals; k = K − 6 is the first outside the window of tick K.
      const { log, nodes, convergence, entries } = await world();
      nodes.putItem(nodeAt(entries, 'n-1', 20));
      await planned(convergence, K - 6, 30, entries);
      await planned(convergence, K - 1, 30, entries);

      // Act
      const first = await checkConvergence({ interval: K, now: intervalStart(K, T) }, depsOf({ log, nodes, convergence }));
      await advance(nodes, entries, 'n-1', 20, 30);
      const second = await checkConvergence({ interval: K + 1, now: intervalStart(K + 1, T) }, depsOf({ log, nodes, convergence }));

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
      const { log, nodes, convergence, entries } = await world();
      nodes.putItem(nodeAt(entries, 'n-1', 5));
      for (let interval = K - 20; interval <= K - 1; interval += 1) await planned(convergence, interval, 10, entries);

      // Act
      const first = await checkConvergence({ interval: K, now: intervalStart(K, T) }, depsOf({ log, nodes, convergence }));
      const next = await checkConvergence({ interval: K + 1, now: intervalStart(K + 1, T) }, depsOf({ log, nodes, convergence }));

      // Assess
      expect(first.expired).toEqual(Array.from({ length: 15 }, (_, i) => K - 20 + i));
      expect(first.evaluated.map((verdict) => verdict.interval).sort()).toEqual([K - 5, K - 4, K - 3, K - 2, K - 1]);
      expect(next.expired).toEqual([K - 5]);
      expect((await convergence.statuses(STREAM, K)).records.map((record) => record.interval)).toEqual([K - 4, K - 3, K - 2, K - 1]);
    });

    it('never expires an interval that converged, and never counts an expired one as converged', async () => {
      // Prepare: k = K − 7 converged at tick K − 6; k = K − 6 did not, and both leave the window at tick K.
      const { log, nodes, convergence, entries } = await world();
      nodes.putItem(nodeAt(entries, 'n-1', 20));
      await planned(convergence, K - 7, 20, entries);
      await planned(convergence, K - 6, 30, entries);
      await checkConvergence({ interval: K - 6, now: intervalStart(K - 6, T) }, depsOf({ log, nodes, convergence }));

      // Act
      const result = await checkConvergence({ interval: K, now: intervalStart(K, T) }, depsOf({ log, nodes, convergence }));

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
