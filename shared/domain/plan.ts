/**
 * The planner's per-node decision (DESIGN §5 steps 3–4): where the node's next share starts, how
 * many updates it gets, and the microbatch messages that carry them.
 */
import { cutIntoMicrobatches, sharePerInterval, updatesThisInterval } from './formula.ts';
import type { Microbatch, NodeState } from './types.ts';

export interface PlanningRules {
  readonly stream: string;
  readonly intervalSeconds: number;
  readonly batchSize: number;
  /** Plan nothing for a node that already has this many intervals' shares in flight. */
  readonly maxInFlightIntervals: number;
  /** An unapplied plan this many intervals old is stale: re-plan from the applied cursor. */
  readonly staleAfterIntervals: number;
}

export type SkipReason = 'already-planned' | 'in-flight-cap' | 'caught-up';

export type NodePlan =
  | { readonly kind: 'skip'; readonly nodeId: string; readonly reason: SkipReason }
  | {
      readonly kind: 'plan';
      readonly nodeId: string;
      /** The plan was stale and starts again from the applied cursor. */
      readonly recoveredStalePlan: boolean;
      readonly from: number;
      /** q_i */
      readonly updates: number;
      readonly microbatches: readonly Microbatch[];
      /** The claim is conditional on `plannedSeq` still being what the planner read. */
      readonly expectedPlannedSeq: number;
      readonly plannedSeq: number;
    };

/** A plan is stale when work is outstanding and was planned `staleAfterIntervals` or more intervals ago. */
export function isStalePlan(node: NodeState, interval: number, staleAfterIntervals: number): boolean {
  return (
    node.plannedSeq > node.appliedSeq &&
    (node.plannedInterval === undefined || interval - node.plannedInterval >= staleAfterIntervals)
  );
}

/** Decides node i's share of interval k against head H. Pure: the same inputs give the same messages. */
export function planNode(node: NodeState, head: number, interval: number, plannedAt: string, rules: PlanningRules): NodePlan {
  const { nodeId } = node;
  if (node.plannedInterval !== undefined && node.plannedInterval >= interval) {
    return { kind: 'skip', nodeId, reason: 'already-planned' };
  }
  const stale = isStalePlan(node, interval, rules.staleAfterIntervals);
  // Messages of an old stale plan can still move the cursor past a newer plan: never plan behind it.
  const from = stale ? node.appliedSeq : Math.max(node.plannedSeq, node.appliedSeq);
  const share = sharePerInterval(node.rate, rules.intervalSeconds);
  if (from - node.appliedSeq >= rules.maxInFlightIntervals * share) {
    return { kind: 'skip', nodeId, reason: 'in-flight-cap' };
  }
  const updates = updatesThisInterval(head - from, node.rate, rules.intervalSeconds);
  if (updates === 0) return { kind: 'skip', nodeId, reason: 'caught-up' };

  const ranges = cutIntoMicrobatches(from, updates, rules.batchSize);
  const microbatches = ranges.map(
    (range, index): Microbatch => ({
      v: 1,
      stream: rules.stream,
      nodeId,
      interval,
      from: range.from,
      to: range.to,
      index,
      count: ranges.length,
      plannedAt,
    }),
  );
  return {
    kind: 'plan',
    nodeId,
    recoveredStalePlan: stale,
    from,
    updates,
    microbatches,
    expectedPlannedSeq: node.plannedSeq,
    plannedSeq: from + updates,
  };
}
