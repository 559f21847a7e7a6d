import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GENESIS_CHAIN, nextChain } from '#shared/domain/chain.ts';
import { averageIngestPerInterval, evaluateInterval, MAX_LAGGING_NODES_REPORTED, seqsToVerify } from '#shared/domain/convergence.ts';
import type { ConvergenceInput } from '#shared/domain/convergence.ts';
import { sharePerInterval } from '#shared/domain/formula.ts';
import type { LogEntry, NodeState } from '#shared/domain/types.ts';

const LOG_START = Date.UTC(2026, 10, 27, 10, 0, 0);
const LOG_LENGTH = 60;
const NOW = new Date(LOG_START + 3_600_000);

/** A real log of LOG_LENGTH entries, one every 10 seconds from LOG_START. */
const LOG: readonly LogEntry[] = (() => {
  const entries: LogEntry[] = [];
  let chain = GENESIS_CHAIN;
  for (let seq = 1; seq <= LOG_LENGTH; seq += 1) {
    const update = { key: `k${seq % 7}`, op: 'put' as const, value: seq };
    chain = nextChain(chain, seq, update);
    entries.push({ ...update, seq, chain, producedAt: new Date(LOG_START + seq * 10_000).toISOString() });
  }
  return entries;
})();

function logAt(seq: number): LogEntry {
  const entry = LOG[seq - 1];
  if (entry === undefined) throw new Error(`no log entry ${seq}`);
  return entry;
}

const chainAt = (seq: number): string => (seq === 0 ? GENESIS_CHAIN : logAt(seq).chain);
const corrupt = (chain: string): string => chain.slice(0, -1) + (chain.endsWith('0') ? '1' : '0');

function node(nodeId: string, appliedSeq: number, overrides: Partial<NodeState> = {}): NodeState {
  return { nodeId, rate: 5, status: 'active', appliedSeq, appliedChain: chainAt(appliedSeq), plannedSeq: appliedSeq, ...overrides };
}

/** The input the checker builds: the log entries seqsToVerify asks for, and nothing else. */
function inputFor(nodes: readonly NodeState[], head: number, overrides: Partial<ConvergenceInput> = {}): ConvergenceInput {
  const entries = new Map(seqsToVerify(nodes, head).map((seq) => [seq, logAt(seq)]));
  return { interval: 100, head, nodes, entries, now: NOW, intervalSeconds: 60, averageIngestPerInterval: 0, ...overrides };
}

describe('evaluateInterval', () => {
  it('has converged when every node has applied the head with the log’s chain', () => {
    const verdict = evaluateInterval(inputFor([node('n-1', 40), node('n-2', 40), node('n-3', 45)], 40));

    expect(verdict).toMatchObject({ activeNodes: 3, consistentNodes: 3, maxLagUpdates: 0, maxStalenessSeconds: 0, laggingNodes: [], integrityFailures: [], converged: true });
  });

  it('has converged with no nodes at all', () => {
    expect(evaluateInterval(inputFor([], 40))).toMatchObject({ activeNodes: 0, consistentNodes: 0, converged: true });
  });

  it('names a laggard, its lag, and its staleness from the first update it is missing', () => {
    const verdict = evaluateInterval(inputFor([node('n-1', 40), node('n-2', 25)], 40));

    const expectedStaleness = (NOW.getTime() - Date.parse(logAt(26).producedAt)) / 1000;
    expect(verdict.converged).toBe(false);
    expect(verdict.consistentNodes).toBe(1);
    expect(verdict.maxLagUpdates).toBe(15);
    expect(verdict.maxStalenessSeconds).toBe(expectedStaleness);
    expect(verdict.laggingNodes).toEqual([{ nodeId: 'n-2', appliedSeq: 25, lagUpdates: 15, stalenessSeconds: expectedStaleness }]);
  });

  it('does not count a node at the head whose chain differs, and names it as an integrity failure', () => {
    const verdict = evaluateInterval(inputFor([node('n-1', 40), node('n-2', 40, { appliedChain: corrupt(chainAt(40)) })], 40));

    expect(verdict).toMatchObject({ consistentNodes: 1, integrityFailures: ['n-2'], converged: false, laggingNodes: [] });
  });

  it('names a node whose share per interval is below the average ingest as under-provisioned', () => {
    const slow = node('n-slow', 40, { rate: 1 }); // ceil(1 · 60) = 60 per interval
    const fast = node('n-fast', 40, { rate: 2 }); // 120 per interval

    const verdict = evaluateInterval(inputFor([slow, fast], 40, { averageIngestPerInterval: 100 }));

    expect(verdict.underProvisionedNodes).toEqual([{ nodeId: 'n-slow', sharePerInterval: 60, averageIngestPerInterval: 100 }]);
  });

  it('reports the ten biggest laggards, biggest first', () => {
    const nodes = Array.from({ length: 15 }, (_, i) => node(`n-${String(i).padStart(2, '0')}`, i));

    const verdict = evaluateInterval(inputFor(nodes, 40));

    expect(verdict.laggingNodes.map((lagging) => lagging.appliedSeq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(verdict.laggingNodes[0]?.lagUpdates).toBe(40);
  });

  it('judges any set of nodes exactly as the definition says', () => {
    // Mostly caught-up, mostly intact nodes, so that converged intervals come up as often as open ones.
    const nodeArb = fc.record({
      offset: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 15 }), weight: 4 }, { arbitrary: fc.integer({ min: -45, max: -1 }), weight: 1 }),
      corrupted: fc.nat({ max: 9 }).map((n) => n === 0),
      rateCentis: fc.integer({ min: 1, max: 500 }),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 45 }),
        fc.array(nodeArb, { maxLength: 25 }),
        fc.nat({ max: 300 }),
        (head, specs, averageIngest) => {
          const nodes = specs.map(({ offset, corrupted, rateCentis }, i) => {
            const appliedSeq = Math.min(LOG_LENGTH, Math.max(0, head + offset));
            return node(`n-${i}`, appliedSeq, {
              rate: rateCentis / 100,
              appliedChain: corrupted ? corrupt(chainAt(appliedSeq)) : chainAt(appliedSeq),
            });
          });
          const isCorrupted = (i: number): boolean => specs[i]?.corrupted ?? false;

          const verdict = evaluateInterval(inputFor(nodes, head, { averageIngestPerInterval: averageIngest }));

          const consistent = nodes.filter((n, i) => n.appliedSeq >= head && !isCorrupted(i));
          const laggards = nodes.filter((n) => n.appliedSeq < head);
          const lags = laggards.map((n) => head - n.appliedSeq).sort((a, b) => b - a);
          expect(verdict.activeNodes).toBe(nodes.length);
          expect(verdict.consistentNodes).toBe(consistent.length);
          expect(verdict.converged).toBe(consistent.length === nodes.length);
          expect(verdict.integrityFailures).toEqual(nodes.filter((_, i) => isCorrupted(i)).map((n) => n.nodeId));
          expect(verdict.maxLagUpdates).toBe(Math.max(0, ...nodes.map((n) => head - n.appliedSeq)));
          expect(verdict.laggingNodes.length).toBe(Math.min(MAX_LAGGING_NODES_REPORTED, laggards.length));
          expect(verdict.laggingNodes.map((lagging) => lagging.lagUpdates)).toEqual(lags.slice(0, MAX_LAGGING_NODES_REPORTED));
          for (const lagging of verdict.laggingNodes) {
            const laggard = nodes.find((n) => n.nodeId === lagging.nodeId);
            expect(laggard?.appliedSeq).toBe(lagging.appliedSeq);
            expect(lagging.lagUpdates).toBe(head - lagging.appliedSeq);
            expect(lagging.stalenessSeconds).toBe((NOW.getTime() - Date.parse(logAt(lagging.appliedSeq + 1).producedAt)) / 1000);
          }
          const stalenesses = laggards.map((n) => (NOW.getTime() - Date.parse(logAt(n.appliedSeq + 1).producedAt)) / 1000);
          expect(verdict.maxStalenessSeconds).toBe(Math.max(0, ...stalenesses));
          expect(verdict.underProvisionedNodes.map((u) => u.nodeId)).toEqual(
            nodes.filter((n) => sharePerInterval(n.rate, 60) < averageIngest).map((n) => n.nodeId),
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('seqsToVerify', () => {
  it('asks for every cursor and the first missing seq of each laggard, never seq 0', () => {
    expect(seqsToVerify([node('n-1', 0), node('n-2', 40), node('n-3', 38)], 40).sort((a, b) => a - b)).toEqual([1, 38, 39, 40]);
  });

  it('asks for exactly each cursor ≥ 1 and cursor+1 of each laggard, once each', () => {
    fc.assert(
      fc.property(fc.nat({ max: 1000 }), fc.array(fc.nat({ max: 1200 }), { maxLength: 30 }), (head, cursors) => {
        const nodes = cursors.map((appliedSeq, i) => ({ ...node(`n-${i}`, 0), appliedSeq }));

        const seqs = seqsToVerify(nodes, head);

        const expected = new Set([...cursors.filter((c) => c >= 1), ...cursors.filter((c) => c < head).map((c) => c + 1)]);
        expect(seqs).toHaveLength(new Set(seqs).size);
        expect(new Set(seqs)).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });
});

describe('averageIngestPerInterval', () => {
  it('is the head growth per interval between the oldest and newest header', () => {
    expect(
      averageIngestPerInterval([
        { interval: 10, head: 100 },
        { interval: 12, head: 300 },
      ]),
    ).toBe(100);
    expect(
      averageIngestPerInterval([
        { interval: 12, head: 300 },
        { interval: 10, head: 100 },
      ]),
    ).toBe(100);
  });

  it('is 0 with fewer than two headers', () => {
    expect(averageIngestPerInterval([{ interval: 10, head: 100 }])).toBe(0);
    expect(averageIngestPerInterval([])).toBe(0);
  });

  it('does not depend on the order of the headers', () => {
    const headersArb = fc
      .uniqueArray(fc.nat({ max: 10_000 }), { minLength: 1, maxLength: 20 })
      .chain((intervals) =>
        fc.tuple(
          fc.constant(intervals),
          fc.array(fc.nat({ max: 1000 }), { minLength: intervals.length, maxLength: intervals.length }),
        ),
      )
      .map(([intervals, heads]) => intervals.map((interval, i) => ({ interval, head: heads[i] ?? 0 })));
    fc.assert(
      fc.property(
        headersArb.chain((headers) => fc.tuple(fc.constant(headers), fc.shuffledSubarray(headers, { minLength: headers.length }))),
        ([headers, shuffled]) => {
          expect(averageIngestPerInterval(shuffled)).toBe(averageIngestPerInterval(headers));
        },
      ),
      { numRuns: 500 },
    );
  });
});
