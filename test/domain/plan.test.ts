import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GENESIS_CHAIN } from '#shared/domain/chain.ts';
import { sharePerInterval } from '#shared/domain/formula.ts';
import { planNode } from '#shared/domain/plan.ts';
import type { NodeDecision, NodePlan, PlanningRules } from '#shared/domain/plan.ts';
import { deduplicationId } from '#shared/domain/microbatch.ts';
import type { NodeState } from '#shared/domain/types.ts';

const RULES: PlanningRules = { stream: 'main', intervalSeconds: 60, batchSize: 100, maxInFlightIntervals: 2, staleAfterIntervals: 3 };
const K = 29_447_718;
const PLANNED_AT = '2026-11-27T10:18:00Z';

/** A node of rate 5/s: a share of 300 updates per 60-second interval. */
function node(overrides: Partial<NodeState> = {}): NodeState {
  return { nodeId: 'n-17', rate: 5, status: 'active', appliedSeq: 1000, appliedChain: GENESIS_CHAIN, plannedSeq: 1000, ...overrides };
}

function expectPlan(plan: NodeDecision): NodePlan {
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

/**
 * Any reachable node state: the cursor at or below the plan, both at or below the head, the last
 * plan and the last seen progress at or before some interval.
 */
const situationArb = fc
  .record({
    head: fc.nat({ max: 100_000 }),
    planned: fc.double({ min: 0, max: 1, noNaN: true }),
    applied: fc.double({ min: 0, max: 1, noNaN: true }),
    rateCentis: fc.integer({ min: 1, max: 2000 }),
    interval: fc.integer({ min: 10, max: 1_000_000 }),
    plannedAgo: fc.option(fc.integer({ min: -2, max: 10 }), { nil: undefined }),
    progressAgo: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
    progressMoved: fc.boolean(),
    rules: ruleArb,
  })
  .map(({ head, applied, planned, rateCentis, interval, plannedAgo, progressAgo, progressMoved, rules }) => {
    const plannedSeq = Math.floor(head * planned);
    const appliedSeq = Math.floor(plannedSeq * applied);
    return {
      head,
      interval,
      rules,
      node: node({
        rate: rateCentis / 100,
        appliedSeq,
        plannedSeq,
        plannedInterval: plannedAgo === undefined ? undefined : interval - plannedAgo,
        ...(progressAgo === undefined ? {} : { progressSeq: progressMoved ? Math.max(0, appliedSeq - 1) : appliedSeq, progressInterval: interval - progressAgo }),
      }),
    };
  });

describe('planNode', () => {
  it('gives a fresh node with a full backlog ceil(share / b) tokens that all carry the plan’s target', () => {
    const plan = expectPlan(planNode(node(), 5000, K, PLANNED_AT, RULES));

    expect(plan).toMatchObject({ nodeId: 'n-17', purpose: 'new-work', from: 1000, updates: 300, target: 1300, expectedPlannedSeq: 1000 });
    expect(plan.claim).toEqual({ plannedSeq: 1300, progressSeq: 1000, progressInterval: K });
    expect(plan.microbatches).toEqual([0, 1, 2].map((index) => ({ v: 2, stream: 'main', nodeId: 'n-17', interval: K, from: 1000, target: 1300, index, count: 3, plannedAt: PLANNED_AT })));
  });

  it('gives a nearly caught-up node only what it lacks', () => {
    const plan = expectPlan(planNode(node(), 1150, K, PLANNED_AT, RULES));

    expect(plan).toMatchObject({ updates: 150, target: 1150 });
    expect(plan.microbatches.map((m) => [m.index, m.count, m.target])).toEqual([
      [0, 2, 1150],
      [1, 2, 1150],
    ]);
  });

  it('skips a node already planned for this interval or a later one', () => {
    expect(planNode(node({ plannedInterval: K }), 5000, K, PLANNED_AT, RULES)).toEqual({ kind: 'skip', nodeId: 'n-17', reason: 'already-planned' });
    expect(planNode(node({ plannedInterval: K + 1 }), 5000, K, PLANNED_AT, RULES)).toEqual({ kind: 'skip', nodeId: 'n-17', reason: 'already-planned' });
  });

  it('continues new work from plannedSeq and sends tokens that also carry the outstanding work', () => {
    // 300 planned last interval and not applied (queued or lost): the new plan's 300 start at 1300,
    // and its tokens cover 1000 → 1600.
    const behind = node({ appliedSeq: 1000, plannedSeq: 1300, plannedInterval: K - 1, progressSeq: 1000, progressInterval: K - 1 });

    const plan = expectPlan(planNode(behind, 5000, K, PLANNED_AT, RULES));

    expect(plan).toMatchObject({ purpose: 'new-work', from: 1300, updates: 300, target: 1600, expectedPlannedSeq: 1300 });
    expect(plan.microbatches).toHaveLength(6);
    // The cursor has not moved since K − 1: the stall clock keeps running.
    expect(plan.claim).toEqual({ plannedSeq: 1600, progressSeq: 1000, progressInterval: K - 1 });
  });

  it('restarts the stall clock when the cursor has moved since the planner last saw it', () => {
    const moving = node({ appliedSeq: 1100, plannedSeq: 1300, plannedInterval: K - 1, progressSeq: 1000, progressInterval: K - 5 });

    expect(expectPlan(planNode(moving, 5000, K, PLANNED_AT, RULES)).claim).toEqual({ plannedSeq: 1600, progressSeq: 1100, progressInterval: K });
  });

  it('re-plans the same target, sending no tokens, when a crashed run’s unclaimed tokens were already applied', () => {
    // A run of K sent 1000 → 1300, crashed before its claim; the applier applied it all. The retry of K
    // must claim that plan, not give the node a second share from its cursor.
    const ranAhead = node({ appliedSeq: 1300, plannedSeq: 1000, plannedInterval: K - 1 });

    const plan = expectPlan(planNode(ranAhead, 5000, K, PLANNED_AT, RULES));

    expect(plan).toMatchObject({ purpose: 'new-work', from: 1000, target: 1300, updates: 300, microbatches: [], expectedPlannedSeq: 1000 });
    expect(plan.claim.plannedSeq).toBe(1300);
  });

  it('rebases a node whose cursor is more than a share past its plan — history lost — recording the cursor as its plan and sending nothing', () => {
    // The plan fields say 1000, the cursor is at 1400: a retry after a crash would see a cursor the
    // first run's tokens moved, so planning from the cursor would not be the same plan twice.
    const stale = node({ appliedSeq: 1400, plannedSeq: 1000, plannedInterval: K - 5, progressSeq: 900, progressInterval: K - 6 });

    const plan = expectPlan(planNode(stale, 5000, K, PLANNED_AT, RULES));

    expect(plan).toMatchObject({ purpose: 'observe', from: 1400, target: 1400, updates: 0, microbatches: [], expectedPlannedSeq: 1000 });
    expect(plan.claim).toEqual({ plannedSeq: 1400, progressSeq: 1400, progressInterval: K });
    // The next interval plans it from its own plan: a full share.
    const next = expectPlan(planNode({ ...stale, plannedSeq: 1400, plannedInterval: K, progressSeq: 1400, progressInterval: K }, 5000, K + 1, PLANNED_AT, RULES));
    expect(next).toMatchObject({ purpose: 'new-work', from: 1400, target: 1700 });
  });

  it('sends only what is left when such a run’s tokens were partly applied', () => {
    const partly = node({ appliedSeq: 1100, plannedSeq: 1000, plannedInterval: K - 1 });

    const plan = expectPlan(planNode(partly, 5000, K, PLANNED_AT, RULES));

    expect(plan).toMatchObject({ target: 1300 });
    expect(plan.microbatches).toHaveLength(2);
  });

  it('plans no new work for a node with maxInFlightIntervals shares outstanding and an unmoved cursor', () => {
    const capped = node({ appliedSeq: 1000, plannedSeq: 1000 + 2 * 300, plannedInterval: K - 1, progressSeq: 1000, progressInterval: K - 1 });
    const justUnder = node({ appliedSeq: 1000, plannedSeq: 1000 + 2 * 300 - 1, plannedInterval: K - 1, progressSeq: 1000, progressInterval: K - 1 });

    expect(planNode(capped, 5000, K, PLANNED_AT, RULES)).toEqual({ kind: 'skip', nodeId: 'n-17', reason: 'in-flight-cap' });
    expect(expectPlan(planNode(justUnder, 5000, K, PLANNED_AT, RULES))).toMatchObject({ from: 1599, target: 1899 });
  });

  it('re-sends tokens for the outstanding work only, once the cursor has stood still for staleAfterIntervals', () => {
    const stalled = node({ appliedSeq: 1000, plannedSeq: 1600, plannedInterval: K - 1, progressSeq: 1000, progressInterval: K - RULES.staleAfterIntervals });
    const notYet = node({ ...stalled, progressInterval: K - RULES.staleAfterIntervals + 1 });

    const plan = expectPlan(planNode(stalled, 5000, K, PLANNED_AT, RULES));

    expect(plan).toMatchObject({ purpose: 'resend', from: 1600, updates: 0, target: 1600, expectedPlannedSeq: 1600 });
    expect(plan.microbatches).toHaveLength(6);
    // The clock restarts: the next re-send comes staleAfterIntervals later if these are lost too.
    expect(plan.claim).toEqual({ plannedSeq: 1600, progressSeq: 1000, progressInterval: K });
    expect(planNode(notYet, 5000, K, PLANNED_AT, RULES)).toEqual({ kind: 'skip', nodeId: 'n-17', reason: 'in-flight-cap' });
  });

  it('re-sends outstanding work when nothing new arrived and the cursor has stood still for staleAfterIntervals', () => {
    const waiting = node({ appliedSeq: 4900, plannedSeq: 5000, plannedInterval: K - 1, progressSeq: 4900, progressInterval: K - 1 });
    const stalled = node({ ...waiting, progressInterval: K - RULES.staleAfterIntervals });

    expect(planNode(waiting, 5000, K, PLANNED_AT, RULES)).toEqual({ kind: 'skip', nodeId: 'n-17', reason: 'awaiting-outstanding' });
    expect(expectPlan(planNode(stalled, 5000, K, PLANNED_AT, RULES))).toMatchObject({ purpose: 'resend', target: 5000, microbatches: [expect.objectContaining({ count: 1 })] });
  });

  it('only records the progress of a cursor that moved while no tokens are due, so a stall that starts later is seen', () => {
    // At the cap (600 outstanding), the cursor moved from 1000 to 1200 since the planner last saw it.
    const moved = node({ appliedSeq: 1200, plannedSeq: 1800, plannedInterval: K - 1, progressSeq: 1000, progressInterval: K - 9 });

    const plan = expectPlan(planNode(moved, 5000, K, PLANNED_AT, RULES));

    expect(plan).toMatchObject({ purpose: 'observe', updates: 0, target: 1800, microbatches: [] });
    expect(plan.claim).toEqual({ plannedSeq: 1800, progressSeq: 1200, progressInterval: K });
  });

  it('skips a node with nothing outstanding whose plan already reaches the head as caught up', () => {
    expect(planNode(node({ appliedSeq: 5000, plannedSeq: 5000 }), 5000, K, PLANNED_AT, RULES)).toEqual({ kind: 'skip', nodeId: 'n-17', reason: 'caught-up' });
  });

  it('gives any caught-up node with enough backlog ceil(share / b) tokens numbered 0..count-1', () => {
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
          expect(plan).toMatchObject({ from: cursor, updates: share, target: cursor + share, expectedPlannedSeq: cursor });
          expect(plan.microbatches).toHaveLength(count);
          expect(plan.microbatches.map((m) => m.index)).toEqual([...Array(count).keys()]);
          expect(plan.microbatches.map(({ v, stream, nodeId, interval, from, target, count: c, plannedAt }) => ({ v, stream, nodeId, interval, from, target, count: c, plannedAt }))).toEqual(
            Array.from({ length: count }, () => ({ v: 2, stream: 'main', nodeId: 'n-17', interval: K, from: cursor, target: cursor + share, count, plannedAt: PLANNED_AT })),
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

  it('gives a later re-send deduplication ids the original plan never used', () => {
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
          // The claim landed, but nothing was applied: every token was lost or dead-lettered.
          const claimed = node({ appliedSeq: cursor, plannedInterval: K, ...original.claim });
          const later = K + rules.staleAfterIntervals + extraWait;

          const next = expectPlan(planNode(claimed, head + laterIngest, later, '2026-11-27T11:00:00Z', rules));

          // New work (still under the cap) or a re-send: either way the lost work is carried again.
          expect(next.microbatches.length * rules.batchSize).toBeGreaterThanOrEqual(original.target - cursor);
          const originalIds = new Set(original.microbatches.map(deduplicationId));
          expect(next.microbatches.map(deduplicationId).filter((id) => originalIds.has(id))).toEqual([]);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never plans beyond the head, never more than one share of new work, and always enough tokens to reach the target', () => {
    fc.assert(
      fc.property(situationArb, ({ node: state, head, interval, rules }) => {
        const plan = planNode(state, head, interval, PLANNED_AT, rules);
        if (plan.kind === 'skip') return;

        expect(plan.from).toBe(state.plannedSeq);
        expect(plan.target).toBe(plan.from + plan.updates);
        expect(plan.target).toBeLessThanOrEqual(Math.max(head, state.plannedSeq));
        expect(plan.updates).toBeLessThanOrEqual(sharePerInterval(state.rate, rules.intervalSeconds));
        expect(plan.claim.plannedSeq).toBe(plan.target);
        expect(plan.claim.progressSeq).toBe(state.appliedSeq);
        if (plan.purpose !== 'observe') {
          expect(plan.microbatches).toHaveLength(Math.ceil(Math.max(0, plan.target - state.appliedSeq) / rules.batchSize));
        }
        expect(plan.microbatches.every((m) => m.target === plan.target && m.from === plan.from && m.count === plan.microbatches.length)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
