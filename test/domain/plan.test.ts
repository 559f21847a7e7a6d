import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GENESIS_CHAIN } from '#shared/domain/chain.ts';
import { sharePerInterval } from '#shared/domain/formula.ts';
import { isStalePlan, planNode } from '#shared/domain/plan.ts';
import type { NodePlan, PlanningRules } from '#shared/domain/plan.ts';
import { deduplicationId } from '#shared/domain/schemas.ts';
import type { NodeState } from '#shared/domain/types.ts';

const RULES: PlanningRules = { stream: 'main', intervalSeconds: 60, batchSize: 100, maxInFlightIntervals: 2, staleAfterIntervals: 3 };
const K = 29_447_718;
const PLANNED_AT = '2026-11-27T10:18:00Z';

/** A node of rate 5/s: a share of 300 updates per 60-second interval. */
function node(overrides: Partial<NodeState> = {}): NodeState {
  return { nodeId: 'n-17', rate: 5, status: 'active', appliedSeq: 1000, appliedChain: GENESIS_CHAIN, plannedSeq: 1000, ...overrides };
}

type Planned = Extract<NodePlan, { kind: 'plan' }>;

function expectPlan(plan: NodePlan): Planned {
  if (plan.kind !== 'plan') throw new Error(`expected a plan, got a skip for ${plan.reason}`);
  return plan;
}

const ruleArb = fc.record({
  stream: fc.constant('main'),
  intervalSeconds: fc.constantFrom(1, 30, 60, 120, 300),
  batchSize: fc.integer({ min: 1, max: 200 }),
  maxInFlightIntervals: fc.integer({ min: 1, max: 5 }),
  staleAfterIntervals: fc.integer({ min: 1, max: 5 }),
});

/** Any reachable node state: both cursors at or below the head, the last plan at or before some interval. */
const situationArb = fc
  .record({
    head: fc.nat({ max: 100_000 }),
    applied: fc.double({ min: 0, max: 1, noNaN: true }),
    planned: fc.double({ min: 0, max: 1, noNaN: true }),
    rateCentis: fc.integer({ min: 1, max: 2000 }),
    interval: fc.integer({ min: 10, max: 1_000_000 }),
    plannedAgo: fc.option(fc.integer({ min: -2, max: 10 }), { nil: undefined }),
    rules: ruleArb,
  })
  .map(({ head, applied, planned, rateCentis, interval, plannedAgo, rules }) => ({
    head,
    interval,
    rules,
    node: node({
      rate: rateCentis / 100,
      appliedSeq: Math.floor(head * applied),
      plannedSeq: Math.floor(head * planned),
      plannedInterval: plannedAgo === undefined ? undefined : interval - plannedAgo,
    }),
  }));

describe('planNode', () => {
  it('gives a fresh node with a full backlog ceil(share / b) microbatches from its plannedSeq', () => {
    const plan = expectPlan(planNode(node(), 5000, K, PLANNED_AT, RULES));

    expect(plan).toMatchObject({ nodeId: 'n-17', recoveredStalePlan: false, from: 1000, updates: 300, expectedPlannedSeq: 1000, plannedSeq: 1300 });
    expect(plan.microbatches).toEqual([
      { v: 1, stream: 'main', nodeId: 'n-17', interval: K, from: 1000, to: 1100, index: 0, count: 3, plannedAt: PLANNED_AT },
      { v: 1, stream: 'main', nodeId: 'n-17', interval: K, from: 1100, to: 1200, index: 1, count: 3, plannedAt: PLANNED_AT },
      { v: 1, stream: 'main', nodeId: 'n-17', interval: K, from: 1200, to: 1300, index: 2, count: 3, plannedAt: PLANNED_AT },
    ]);
  });

  it('gives a nearly caught-up node only what it lacks', () => {
    const plan = expectPlan(planNode(node(), 1150, K, PLANNED_AT, RULES));

    expect(plan.updates).toBe(150);
    expect(plan.plannedSeq).toBe(1150);
    expect(plan.microbatches.map((m) => [m.from, m.to])).toEqual([
      [1000, 1100],
      [1100, 1150],
    ]);
  });

  it('skips a node already planned for this interval or a later one', () => {
    expect(planNode(node({ plannedInterval: K }), 5000, K, PLANNED_AT, RULES)).toEqual({ kind: 'skip', nodeId: 'n-17', reason: 'already-planned' });
    expect(planNode(node({ plannedInterval: K + 1 }), 5000, K, PLANNED_AT, RULES)).toEqual({ kind: 'skip', nodeId: 'n-17', reason: 'already-planned' });
  });

  it('restarts a stale plan from appliedSeq and says it recovered it', () => {
    const stale = node({ appliedSeq: 1000, plannedSeq: 1300, plannedInterval: K - RULES.staleAfterIntervals });

    const plan = expectPlan(planNode(stale, 5000, K, PLANNED_AT, RULES));

    expect(plan).toMatchObject({ recoveredStalePlan: true, from: 1000, updates: 300, expectedPlannedSeq: 1300, plannedSeq: 1300 });
    expect(plan.microbatches[0]?.from).toBe(1000);
  });

  it('treats outstanding work with no recorded plan interval as stale', () => {
    const unknownAge = node({ appliedSeq: 1000, plannedSeq: 1300, plannedInterval: undefined });

    expect(isStalePlan(unknownAge, K, RULES.staleAfterIntervals)).toBe(true);
    expect(expectPlan(planNode(unknownAge, 5000, K, PLANNED_AT, RULES)).from).toBe(1000);
  });

  it('continues a fresh plan from plannedSeq', () => {
    const fresh = node({ appliedSeq: 1000, plannedSeq: 1300, plannedInterval: K - RULES.staleAfterIntervals + 1 });

    const plan = expectPlan(planNode(fresh, 5000, K, PLANNED_AT, RULES));

    expect(plan).toMatchObject({ recoveredStalePlan: false, from: 1300, updates: 300, expectedPlannedSeq: 1300, plannedSeq: 1600 });
  });

  it('continues from appliedSeq when the node has applied past its plan', () => {
    const ahead = node({ appliedSeq: 1500, plannedSeq: 1300, plannedInterval: K - 10 });

    const plan = expectPlan(planNode(ahead, 5000, K, PLANNED_AT, RULES));

    expect(plan).toMatchObject({ recoveredStalePlan: false, from: 1500, expectedPlannedSeq: 1300, plannedSeq: 1800 });
  });

  it('plans nothing for a node with maxInFlightIntervals shares already in flight', () => {
    const capped = node({ appliedSeq: 1000, plannedSeq: 1000 + 2 * 300, plannedInterval: K - 1 });
    const justUnder = node({ appliedSeq: 1000, plannedSeq: 1000 + 2 * 300 - 1, plannedInterval: K - 1 });

    expect(planNode(capped, 5000, K, PLANNED_AT, RULES)).toEqual({ kind: 'skip', nodeId: 'n-17', reason: 'in-flight-cap' });
    expect(expectPlan(planNode(justUnder, 5000, K, PLANNED_AT, RULES)).from).toBe(1599);
  });

  it('skips a node whose plan already reaches the head as caught up', () => {
    expect(planNode(node({ appliedSeq: 5000, plannedSeq: 5000 }), 5000, K, PLANNED_AT, RULES)).toEqual({ kind: 'skip', nodeId: 'n-17', reason: 'caught-up' });
    expect(planNode(node({ appliedSeq: 4900, plannedSeq: 5000, plannedInterval: K - 1 }), 5000, K, PLANNED_AT, RULES)).toEqual({
      kind: 'skip',
      nodeId: 'n-17',
      reason: 'caught-up',
    });
  });

  it('gives any fresh node with enough backlog ceil(share / b) microbatches numbered 0..count-1', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 1_000_000 }),
        fc.integer({ min: 1, max: 2000 }),
        fc.nat({ max: 10_000 }),
        ruleArb,
        (cursor, rateCentis, extra, rules) => {
          const rate = rateCentis / 100;
          const share = sharePerInterval(rate, rules.intervalSeconds);
          const fresh = node({ rate, appliedSeq: cursor, plannedSeq: cursor, plannedInterval: K - 1 });

          const plan = expectPlan(planNode(fresh, cursor + share + extra, K, PLANNED_AT, rules));

          const count = Math.ceil(share / rules.batchSize);
          expect(plan.from).toBe(cursor);
          expect(plan.updates).toBe(share);
          expect(plan.plannedSeq).toBe(cursor + share);
          expect(plan.expectedPlannedSeq).toBe(cursor);
          expect(plan.microbatches).toHaveLength(count);
          expect(plan.microbatches.map((m) => m.index)).toEqual([...Array(count).keys()]);
          expect(plan.microbatches.map(({ v, stream, nodeId, interval, count: c, plannedAt }) => ({ v, stream, nodeId, interval, count: c, plannedAt }))).toEqual(
            Array.from({ length: count }, () => ({ v: 1, stream: 'main', nodeId: 'n-17', interval: K, count, plannedAt: PLANNED_AT })),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('re-sends identical messages and deduplication ids when the same interval is planned twice', () => {
    fc.assert(
      fc.property(situationArb, ({ node: state, head, interval, rules }) => {
        const first = planNode(state, head, interval, PLANNED_AT, rules);
        const second = planNode(state, head, interval, PLANNED_AT, rules);

        expect(second).toEqual(first);
        if (first.kind === 'plan' && second.kind === 'plan') {
          expect(second.microbatches.map(deduplicationId)).toEqual(first.microbatches.map(deduplicationId));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('gives a later stale-plan recovery deduplication ids the original plan never used', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 100_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.nat({ max: 10_000 }),
        fc.nat({ max: 20 }),
        ruleArb,
        (cursor, backlog, laterIngest, extraWait, rules) => {
          const head = cursor + backlog;
          const original = expectPlan(planNode(node({ appliedSeq: cursor, plannedSeq: cursor }), head, K, PLANNED_AT, rules));
          // The claim landed, but nothing was applied: every message was lost or dead-lettered.
          const claimed = node({ appliedSeq: cursor, plannedSeq: original.plannedSeq, plannedInterval: K, plannedAt: PLANNED_AT });
          const later = K + rules.staleAfterIntervals + extraWait;

          const recovery = expectPlan(planNode(claimed, head + laterIngest, later, '2026-11-27T11:00:00Z', rules));

          expect(recovery.recoveredStalePlan).toBe(true);
          expect(recovery.from).toBe(cursor);
          const originalIds = new Set(original.microbatches.map(deduplicationId));
          expect(recovery.microbatches.map(deduplicationId).filter((id) => originalIds.has(id))).toEqual([]);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never plans beyond the head nor behind appliedSeq, and never more than one share', () => {
    fc.assert(
      fc.property(situationArb, ({ node: state, head, interval, rules }) => {
        const plan = planNode(state, head, interval, PLANNED_AT, rules);
        if (plan.kind === 'skip') return;

        expect(plan.from).toBeGreaterThanOrEqual(state.appliedSeq);
        expect(plan.plannedSeq).toBeLessThanOrEqual(head);
        expect(plan.updates).toBeGreaterThan(0);
        expect(plan.updates).toBeLessThanOrEqual(sharePerInterval(state.rate, rules.intervalSeconds));
        const outOfBounds = plan.microbatches.filter(
          (m) => m.from < state.appliedSeq || m.to > head || m.to <= m.from || m.to - m.from > rules.batchSize,
        );
        expect(outOfBounds).toEqual([]);
        expect(plan.microbatches.at(-1)?.to).toBe(plan.plannedSeq);
      }),
      { numRuns: 500 },
    );
  });
});
