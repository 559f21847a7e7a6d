/**
 * The planner's per-node decision (DESIGN §5 step 3): the node's share of the backlog for interval
 * k, the plan's target, and the work tokens that carry the node's cursor to it.
 *
 * With a = appliedSeq, p = plannedSeq and outstanding work o = p − a (planned earlier, not applied
 * yet: still queued, or lost to the DLQ, a paused node or a failed send — the planner cannot tell
 * which and does not need to):
 * - new work starts at p: q = min(head − p, ceil(r·t)), target = p + q;
 * - the plan sends ceil((target − a) / b) tokens, the formula's ceil(q / b) for the new work plus
 *   enough to carry the outstanding work. If the old tokens arrive, the extra ones are no-ops; if they
 *   were lost, the extra ones recover the deficit this interval;
 * - backpressure: no new work while o ≥ maxInFlightIntervals · ceil(r·t). There, and when there is
 *   outstanding work but nothing new, tokens are re-sent only once the cursor has not moved for
 *   `staleAfterIntervals` (the outstanding tokens are gone, not queued).
 *
 * The first rule — a plan was stale when `plannedAt` was `staleAfterIntervals` old — never fired under
 * continuous ingest, because every tick re-claimed the node: one lost microbatch left the node b
 * behind for good (test/model/self-healing.test.ts reproduces it).
 */
import { microbatchCount, sharePerInterval, updatesThisInterval } from './formula.ts';
import type { Microbatch, NodeState, PlanClaim } from './types.ts';

export interface PlanningRules {
  readonly stream: string;
  readonly intervalSeconds: number;
  readonly batchSize: number;
  /** Plan no new work for a node that already has this many intervals' shares outstanding. */
  readonly maxInFlightIntervals: number;
  /** Re-send tokens for outstanding work once the cursor has not moved for this many intervals. */
  readonly staleAfterIntervals: number;
}

export type SkipReason =
  /** A claim for this interval (or a later one) is already there: a duplicate or late planner run. */
  | 'already-planned'
  /** Nothing outstanding and nothing new: idle nodes cost no write. */
  | 'caught-up'
  /** At the in-flight cap, the cursor unmoved since it was last seen, not yet stale. */
  | 'in-flight-cap'
  /** Outstanding work and nothing new, the cursor unmoved since it was last seen, not yet stale. */
  | 'awaiting-outstanding';

/**
 * What a claim is for: tokens for new work (which also carry any outstanding work), tokens re-sent
 * for stale outstanding work only, or no tokens at all — only the cursor's progress recorded, so a
 * stall that starts later is seen when it starts.
 */
export type PlanPurpose = 'new-work' | 'resend' | 'observe';

export interface NodePlan {
  readonly kind: 'plan';
  readonly nodeId: string;
  readonly purpose: PlanPurpose;
  /** Where the new work starts: the node's plannedSeq. */
  readonly from: number;
  /** q_i: new updates planned this interval (0 for a resend or an observation). */
  readonly updates: number;
  /** No token of this plan moves the cursor past it. */
  readonly target: number;
  readonly microbatches: readonly Microbatch[];
  /** The claim is conditional on `plannedSeq` still being this. */
  readonly expectedPlannedSeq: number;
  readonly claim: Omit<PlanClaim, 'plannedAt' | 'plannedInterval'>;
}

export type NodeDecision = { readonly kind: 'skip'; readonly nodeId: string; readonly reason: SkipReason } | NodePlan;

/**
 * A cursor more than a share past plannedSeq means the plan fields are older than the cursor: the
 * node's plan record was lost (a segment's shard failed in the interval its segments were cut anew),
 * or its rate was lowered since. Planning from plannedSeq would creep up a share an interval below
 * the cursor, sending nothing; planning from the cursor would not be repeatable — a retry after a
 * crash between send and record would see the cursor the first run's tokens moved, and send a
 * second share (the model test found it). So the interval only records the cursor as the plan:
 * no tokens, and from the next interval on the node is planned from a plan that is its own.
 */
function rebase(node: NodeState, interval: number): NodePlan {
  const applied = node.appliedSeq;
  return {
    kind: 'plan',
    nodeId: node.nodeId,
    purpose: 'observe',
    from: applied,
    updates: 0,
    target: applied,
    microbatches: [],
    expectedPlannedSeq: node.plannedSeq,
    claim: { plannedSeq: applied, progressSeq: applied, progressInterval: interval },
  };
}

/**
 * Decides node i's part in interval k against H_k, the head k is planned against. Pure: the same
 * inputs give the same tokens and deduplication ids, so a duplicate planner run re-sends identical
 * messages.
 */
export function planNode(node: NodeState, head: number, interval: number, plannedAt: string, rules: PlanningRules): NodeDecision {
  const { nodeId } = node;
  if (node.plannedInterval !== undefined && node.plannedInterval >= interval) {
    return { kind: 'skip', nodeId, reason: 'already-planned' };
  }
  const applied = node.appliedSeq;
  const share = sharePerInterval(node.rate, rules.intervalSeconds);
  // New work continues after the planned work, even when the cursor is past plannedSeq: that happens
  // when a run crashed between sending and recording its plan and its tokens were applied. A retry
  // then plans the same target again (same header head, same plannedSeq) and records it, instead of
  // a second share from the cursor. Those tokens take the cursor at most one share past plannedSeq.
  if (applied > node.plannedSeq + share) return rebase(node, interval);
  const from = node.plannedSeq;
  const outstanding = Math.max(0, from - applied);
  const capped = outstanding >= rules.maxInFlightIntervals * share;
  const updates = capped ? 0 : updatesThisInterval(head - from, node.rate, rules.intervalSeconds);
  if (updates === 0 && outstanding === 0) return { kind: 'skip', nodeId, reason: 'caught-up' };

  // With nothing outstanding nothing can be stalled: the stall clock starts at the next plan.
  const moved = outstanding === 0 || node.progressSeq !== applied || node.progressInterval === undefined;
  const stalled = !moved && interval - node.progressInterval >= rules.staleAfterIntervals;
  const plan = (purpose: PlanPurpose, target: number, restartClock: boolean): NodePlan => {
    const count = purpose === 'observe' ? 0 : microbatchCount(Math.max(0, target - applied), rules.batchSize);
    const microbatches: Microbatch[] = [];
    for (let index = 0; index < count; index += 1) microbatches.push({ v: 2, stream: rules.stream, nodeId, interval, from, target, index, count, plannedAt });
    return {
      kind: 'plan',
      nodeId,
      purpose,
      from,
      updates: target - from,
      target,
      microbatches,
      expectedPlannedSeq: node.plannedSeq,
      claim: {
        plannedSeq: target,
        progressSeq: applied,
        progressInterval: restartClock ? interval : (node.progressInterval ?? interval),
      },
    };
  };

  if (updates > 0) return plan('new-work', from + updates, moved);
  // Outstanding work and nothing new (capped, or the plan already reaches the head).
  if (stalled) return plan('resend', from, true);
  if (moved) return plan('observe', from, true);
  return { kind: 'skip', nodeId, reason: capped ? 'in-flight-cap' : 'awaiting-outstanding' };
}
