/**
 * Every node's plan as the planner's shards will find it at the next tick (DESIGN §5): the newest
 * record of each segment of the newest plan header's cut. For the command line and the local
 * runtime, which show a node's plannedSeq beside its cursor; the shards read only their own segments.
 */
import type { ConvergenceStore, PlanLedger } from '#shared/domain/ports.ts';
import type { PlanHistory } from '#shared/domain/segment-plan.ts';
import pLimit from 'p-limit';

/** Segment records read at once. */
const READ_CONCURRENCY = 16;

/** Each node's newest plan entry, by node id; empty before the first sharded plan. */
export async function readPlans(
  stream: string,
  upTo: number,
  deps: { readonly ledger: Pick<PlanLedger, 'latest'>; readonly convergence: Pick<ConvergenceStore, 'latestPlanHeader'> },
): Promise<Map<string, PlanHistory>> {
  const header = await deps.convergence.latestPlanHeader(stream, Math.min(upTo, Number.MAX_SAFE_INTEGER - 1) + 1);
  const plans = new Map<string, PlanHistory>();
  if (header === undefined) return plans;
  const limit = pLimit(READ_CONCURRENCY);
  const records = await Promise.all(Array.from({ length: header.segments }, (_, segment) => limit(() => deps.ledger.latest(stream, header.segments, segment, upTo))));
  for (const record of records) {
    if (record === undefined) continue;
    for (const entry of record.entries) plans.set(entry.nodeId, { entry, interval: record.interval });
  }
  return plans;
}
