import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GENESIS_CHAIN, nextChain } from '#shared/domain/chain.ts';
import { averageIngestPerInterval, FleetTally, seqsToVerify, type TallyRules, type TallyState } from '#shared/domain/convergence.ts';
import { sharePerInterval } from '#shared/domain/formula.ts';
import type { IntervalVerdict, LogEntry, NodeState } from '#shared/domain/types.ts';

const LOG_START = Date.UTC(2026, 10, 27, 10, 0, 0);
const LOG_LENGTH = 60;
const NOW = new Date(LOG_START + 3_600_000);
/** Fewer than the property test's 25 nodes, so its lists are cut. */
const TOP_N = 4;

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

const RULES: TallyRules = { now: NOW, intervalSeconds: 60, averageIngestPerInterval: 0, topN: 10 };

/** A tally of `nodes` against `heads`, given the log entries seqsToVerify asks for and nothing else. */
function tallyOf(nodes: readonly NodeState[], heads: readonly number[], rules: Partial<TallyRules> = {}): FleetTally {
  const entries = new Map(seqsToVerify(nodes, Math.max(0, ...heads)).map((seq) => [seq, logAt(seq)]));
  const tally = new FleetTally(heads, { ...RULES, ...rules });
  for (const n of nodes) tally.add(n, entries);
  return tally;
}

/** The verdict on interval 100 planned against `head`. */
function judge(nodes: readonly NodeState[], head: number, rules: Partial<TallyRules> = {}): IntervalVerdict {
  return tallyOf(nodes, [head], rules).verdict(100, head);
}

describe('FleetTally', () => {
  it('has converged when every node has applied the head with the log’s chain', () => {
    const verdict = judge([node('n-1', 40), node('n-2', 40), node('n-3', 45)], 40);

    expect(verdict).toMatchObject({
      activeNodes: 3,
      consistentNodes: 3,
      maxLagUpdates: 0,
      maxStalenessSeconds: 0,
      laggingCount: 0,
      laggingNodes: [],
      integrityFailureCount: 0,
      integrityFailures: [],
      converged: true,
    });
  });

  it('has converged with no nodes at all', () => {
    expect(judge([], 40)).toMatchObject({ activeNodes: 0, consistentNodes: 0, converged: true });
  });

  it('names a laggard, its lag, and its staleness from the first update it is missing', () => {
    const verdict = judge([node('n-1', 40), node('n-2', 25)], 40);

    const expectedStaleness = (NOW.getTime() - Date.parse(logAt(26).producedAt)) / 1000;
    expect(verdict.converged).toBe(false);
    expect(verdict.consistentNodes).toBe(1);
    expect(verdict.maxLagUpdates).toBe(15);
    expect(verdict.maxStalenessSeconds).toBe(expectedStaleness);
    expect(verdict.laggingCount).toBe(1);
    expect(verdict.laggingNodes).toEqual([{ nodeId: 'n-2', appliedSeq: 25, lagUpdates: 15, stalenessSeconds: expectedStaleness }]);
  });

  it('does not count a node at the head whose chain differs, and names it as an integrity failure', () => {
    const verdict = judge([node('n-1', 40), node('n-2', 40, { appliedChain: corrupt(chainAt(40)) })], 40);

    expect(verdict).toMatchObject({ consistentNodes: 1, integrityFailureCount: 1, integrityFailures: ['n-2'], converged: false, laggingNodes: [] });
  });

  it('names a node whose share per interval is below the average ingest as under-provisioned', () => {
    const slow = node('n-slow', 40, { rate: 1 }); // ceil(1 · 60) = 60 per interval
    const fast = node('n-fast', 40, { rate: 2 }); // 120 per interval

    const verdict = judge([slow, fast], 40, { averageIngestPerInterval: 100 });

    expect(verdict.underProvisionedCount).toBe(1);
    expect(verdict.underProvisionedNodes).toEqual([{ nodeId: 'n-slow', sharePerInterval: 60, averageIngestPerInterval: 100 }]);
  });

  it('reports the ten biggest laggards, biggest first', () => {
    const nodes = Array.from({ length: 15 }, (_, i) => node(`n-${String(i).padStart(2, '0')}`, i));

    const verdict = judge(nodes, 40);

    expect(verdict.laggingNodes.map((lagging) => lagging.appliedSeq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(verdict.laggingNodes[0]?.lagUpdates).toBe(40);
    expect(verdict.laggingCount).toBe(15);
  });

  it('names the first topN of every list and counts them all: laggards by lag, the under-provisioned by shortfall, broken chains by node id', () => {
    // Prepare: ten nodes, every one lagging, under-provisioned (shares 6…60 against 100) and broken; named in scrambled order.
    const nodes = [7, 2, 9, 0, 5, 3, 8, 1, 6, 4].map((i) =>
      node(`n-${i}`, 20 + i, { rate: 0.1 * (10 - i), appliedChain: corrupt(chainAt(20 + i)) }),
    );

    // Act
    const verdict = judge(nodes, 40, { averageIngestPerInterval: 100, topN: 3 });

    // Assess
    expect(verdict).toMatchObject({ laggingCount: 10, underProvisionedCount: 10, integrityFailureCount: 10, consistentNodes: 0 });
    expect(verdict.laggingNodes.map((lagging) => [lagging.nodeId, lagging.lagUpdates])).toEqual([['n-0', 20], ['n-1', 19], ['n-2', 18]]);
    expect(verdict.underProvisionedNodes.map((slow) => [slow.nodeId, slow.sharePerInterval])).toEqual([['n-9', 6], ['n-8', 12], ['n-7', 18]]);
    expect(verdict.integrityFailures).toEqual(['n-0', 'n-1', 'n-2']);
  });

  it('orders node ids by code unit, as DynamoDB orders strings, not by locale', () => {
    // Prepare: localeCompare would put 'a-1' before 'B-1'.
    const nodes = ['a-1', 'B-1', 'Z-1'].map((nodeId) => node(nodeId, 40, { appliedChain: corrupt(chainAt(40)) }));

    // Act & Assess
    expect(judge(nodes, 40).integrityFailures).toEqual(['B-1', 'Z-1', 'a-1']);
  });

  it('judges every head of one pass exactly as a pass per head would', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: LOG_LENGTH }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.record({ cursor: fc.integer({ min: 0, max: LOG_LENGTH }), corrupted: fc.boolean() }), { maxLength: 30 }),
        fc.integer({ min: 1, max: 4 }),
        (heads, specs, topN) => {
          const nodes = specs.map(({ cursor, corrupted }, i) => node(`n-${i}`, cursor, corrupted ? { appliedChain: corrupt(chainAt(cursor)) } : {}));

          const together = tallyOf(nodes, heads, { topN });

          for (const head of heads) expect(together.verdict(100, head)).toEqual(tallyOf(nodes, [head], { topN }).verdict(100, head));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('judges a fleet split into parts and merged exactly as one pass over the whole fleet, whatever the split and the order', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: LOG_LENGTH }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.record({ cursor: fc.integer({ min: 0, max: LOG_LENGTH }), corrupted: fc.boolean(), part: fc.nat({ max: 3 }) }), { maxLength: 30 }),
        fc.integer({ min: 1, max: 4 }),
        (heads, specs, topN) => {
          const nodes = specs.map(({ cursor, corrupted }, i) => node(`n-${i}`, cursor, corrupted ? { appliedChain: corrupt(chainAt(cursor)) } : {}));
          const whole = tallyOf(nodes, heads, { topN });

          // Each shard folds its own nodes; the parts travel as JSON, as the check store keeps them.
          const parts = [0, 1, 2, 3].map((part) => JSON.parse(JSON.stringify(tallyOf(nodes.filter((_, i) => specs[i]?.part === part), heads, { topN }).state())) as TallyState);
          const merged = new FleetTally(heads, { ...RULES, topN });
          for (const part of [...parts].reverse()) merged.merge(part);

          for (const head of heads) expect(merged.verdict(100, head)).toEqual(whole.verdict(100, head));
          expect(merged.activeCount()).toBe(nodes.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses to merge a tally made against other heads', () => {
    expect(() => { tallyOf([], [5]).merge(tallyOf([], [5, 6]).state()); }).toThrow(RangeError);
  });

  it('refuses a verdict on a head it was not made with', () => {
    expect(() => tallyOf([node('n-1', 3)], [5]).verdict(100, 6)).toThrow(RangeError);
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

          const verdict = judge(nodes, head, { averageIngestPerInterval: averageIngest, topN: TOP_N });

          const consistent = nodes.filter((n, i) => n.appliedSeq >= head && !isCorrupted(i));
          const laggards = nodes.filter((n) => n.appliedSeq < head);
          const lags = laggards.map((n) => head - n.appliedSeq).sort((a, b) => b - a);
          const broken = nodes.filter((_, i) => isCorrupted(i)).map((n) => n.nodeId);
          const slow = nodes.filter((n) => sharePerInterval(n.rate, 60) < averageIngest);
          expect(verdict.activeNodes).toBe(nodes.length);
          expect(verdict.consistentNodes).toBe(consistent.length);
          expect(verdict.converged).toBe(consistent.length === nodes.length);
          expect(verdict.integrityFailureCount).toBe(broken.length);
          expect(verdict.integrityFailures).toEqual(broken.sort().slice(0, TOP_N));
          expect(verdict.maxLagUpdates).toBe(Math.max(0, ...nodes.map((n) => head - n.appliedSeq)));
          expect(verdict.laggingCount).toBe(laggards.length);
          expect(verdict.laggingNodes.length).toBe(Math.min(TOP_N, laggards.length));
          expect(verdict.laggingNodes.map((lagging) => lagging.lagUpdates)).toEqual(lags.slice(0, TOP_N));
          for (const lagging of verdict.laggingNodes) {
            const laggard = nodes.find((n) => n.nodeId === lagging.nodeId);
            expect(laggard?.appliedSeq).toBe(lagging.appliedSeq);
            expect(lagging.lagUpdates).toBe(head - lagging.appliedSeq);
            expect(lagging.stalenessSeconds).toBe((NOW.getTime() - Date.parse(logAt(lagging.appliedSeq + 1).producedAt)) / 1000);
          }
          const stalenesses = laggards.map((n) => (NOW.getTime() - Date.parse(logAt(n.appliedSeq + 1).producedAt)) / 1000);
          expect(verdict.maxStalenessSeconds).toBe(Math.max(0, ...stalenesses));
          const shortfall = (n: NodeState): number => averageIngest - sharePerInterval(n.rate, 60);
          expect(verdict.underProvisionedCount).toBe(slow.length);
          expect(verdict.underProvisionedNodes.map((u) => u.nodeId)).toEqual(
            slow
              .sort((a, b) => shortfall(b) - shortfall(a) || (a.nodeId < b.nodeId ? -1 : 1))
              .slice(0, TOP_N)
              .map((n) => n.nodeId),
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
