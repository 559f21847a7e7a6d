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
import { checkConvergence, type CheckConvergenceDeps } from '#shared/usecases/check-convergence.ts';
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
});
