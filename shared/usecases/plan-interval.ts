/**
 * The planner's use case (DESIGN §5): give every active node its share of the backlog for interval
 * k, send the microbatches, then claim the plan. Send first, then claim: a crash in between leaves
 * duplicates the applier acknowledges, never a lost claim with no messages.
 */
import pLimit from 'p-limit';
import { planNode, type NodePlan, type PlanningRules, type SkipReason } from '#shared/domain/plan.ts';
import type { ConvergenceStore, LogReader, MicrobatchQueue, NodeRepository } from '#shared/domain/ports.ts';
import type { Microbatch } from '#shared/domain/types.ts';

export interface PlanIntervalDeps {
  readonly rules: PlanningRules;
  readonly retentionDays: number;
  readonly log: LogReader;
  readonly nodes: NodeRepository;
  readonly queue: MicrobatchQueue;
  readonly convergence: ConvergenceStore;
  /** Conditional claims in flight at once. */
  readonly claimConcurrency?: number;
}

export interface PlanIntervalResult {
  readonly interval: number;
  readonly head: number;
  readonly activeNodes: number;
  readonly nodesPlanned: number;
  readonly microbatches: number;
  readonly updatesPlanned: number;
  readonly staleRecoveries: number;
  readonly skipped: Readonly<Record<SkipReason, number>>;
  /** Claims another planner run won: its messages carry the same dedup ids when it planned the same. */
  readonly claimsLost: number;
  readonly headerWritten: boolean;
}

export async function planInterval(
  input: { readonly interval: number; readonly plannedAt: Date },
  deps: PlanIntervalDeps,
): Promise<PlanIntervalResult> {
  const { rules } = deps;
  const plannedAt = input.plannedAt.toISOString();
  const [headItem, active] = await Promise.all([deps.log.readHead(rules.stream), deps.nodes.listActive()]);
  const head = headItem.head;

  const skipped: Record<SkipReason, number> = { 'already-planned': 0, 'in-flight-cap': 0, 'caught-up': 0 };
  const plans: Extract<NodePlan, { kind: 'plan' }>[] = [];
  const microbatches: Microbatch[] = [];
  let updatesPlanned = 0;
  let staleRecoveries = 0;
  for (const node of active) {
    const plan = planNode(node, head, input.interval, plannedAt, rules);
    if (plan.kind === 'skip') {
      skipped[plan.reason] += 1;
      continue;
    }
    plans.push(plan);
    for (const microbatch of plan.microbatches) microbatches.push(microbatch);
    updatesPlanned += plan.updates;
    if (plan.recoveredStalePlan) staleRecoveries += 1;
  }

  await deps.queue.send(microbatches);

  const limit = pLimit(deps.claimConcurrency ?? 32);
  const claims = await Promise.all(
    plans.map((plan) =>
      limit(() =>
        deps.nodes.claimPlan(plan.nodeId, plan.expectedPlannedSeq, {
          plannedSeq: plan.plannedSeq,
          plannedAt,
          plannedInterval: input.interval,
        }),
      ),
    ),
  );
  const claimsLost = claims.filter((won) => !won).length;

  const expiresAt = Math.floor(input.plannedAt.getTime() / 1000) + deps.retentionDays * 86_400;
  const headerWritten = await deps.convergence.putPlanHeader(
    {
      stream: rules.stream,
      interval: input.interval,
      head,
      headChain: headItem.headChain,
      plannedAt,
      nodesPlanned: plans.length,
      microbatches: microbatches.length,
    },
    expiresAt,
  );

  return {
    interval: input.interval,
    head,
    activeNodes: active.length,
    nodesPlanned: plans.length,
    microbatches: microbatches.length,
    updatesPlanned,
    staleRecoveries,
    skipped,
    claimsLost,
    headerWritten,
  };
}
