/**
 * The planner's coordinator (DESIGN §5): on each tick it reads the head once, fixes interval k's
 * plan header — H_k and the cut of the work, S shards over B segments — and sends one task per
 * shard. The shards (plan-shard.ts) do the planning, each in its own invocation.
 *
 * The header is first-writer-wins: a retried or duplicated tick finds the header of an earlier run
 * and sends the same tasks again, which the shards' records make harmless (a shard plans a segment
 * once per interval, and reports once).
 */
import { shardingFor, type ShardingRules } from '#shared/domain/sharding.ts';
import type { ConvergenceStore, LogReader, NodeRepository, ShardTaskQueue } from '#shared/domain/ports.ts';
import type { PlanTask } from '#shared/domain/shard-task.ts';
import type { PlanHeader } from '#shared/domain/types.ts';
import { PlanIncompleteError } from '#shared/domain/errors.ts';

export interface StartPlanDeps {
  readonly stream: string;
  readonly intervalSeconds: number;
  readonly retentionDays: number;
  readonly sharding: ShardingRules;
  readonly log: Pick<LogReader, 'readHead'>;
  readonly nodes: Pick<NodeRepository, 'fleetSize'>;
  readonly convergence: Pick<ConvergenceStore, 'putPlanHeader' | 'latestPlanHeader'>;
  readonly tasks: ShardTaskQueue<PlanTask>;
}

export interface StartPlanResult {
  readonly interval: number;
  readonly head: number;
  /** Whether this run wrote the plan header (false: an earlier run of k did, and its cut stands). */
  readonly headerWritten: boolean;
  readonly shards: number;
  readonly segments: number;
  /** The fleet size the cut was made for: the table's count, or the last interval's scans if larger. */
  readonly fleetSize: number;
}

/** @throws PlanIncompleteError when SQS refused some tasks after retries (Lambda's retry re-sends them). */
export async function startPlan(input: { readonly interval: number; readonly plannedAt: Date }, deps: StartPlanDeps): Promise<StartPlanResult> {
  const { stream } = deps;
  const { interval } = input;
  const [current, previous, tableCount] = await Promise.all([
    deps.log.readHead(stream),
    deps.convergence.latestPlanHeader(stream, interval),
    deps.nodes.fleetSize(),
  ]);
  // DynamoDB refreshes the table's count every few hours; the last interval's scans know better.
  const fleetSize = Math.max(tableCount, previous?.scannedItems ?? 0);
  const cut = shardingFor(fleetSize, deps.sharding, previous?.segments);
  const plannedAt = input.plannedAt.toISOString();
  const expiresAt = Math.floor(input.plannedAt.getTime() / 1000) + deps.retentionDays * 86_400;
  const { written, header } = await deps.convergence.putPlanHeader(
    { stream, interval, head: current.head, headChain: current.headChain, plannedAt, ...cut, previousSegments: previous?.segments ?? cut.segments },
    expiresAt,
  );
  const unsent = await deps.tasks.send(planTasks(header));
  if (unsent.length > 0) throw new PlanIncompleteError(`${unsent.length} of ${header.shards} shard task(s) of interval ${interval} were not accepted by SQS`);
  return { interval, head: header.head, headerWritten: written, shards: header.shards, segments: header.segments, fleetSize };
}

/** One task per shard of the header's cut. */
export function planTasks(header: PlanHeader): PlanTask[] {
  return Array.from({ length: header.shards }, (_, shard) => ({
    v: 1,
    kind: 'plan',
    stream: header.stream,
    interval: header.interval,
    plannedAt: header.plannedAt,
    head: header.head,
    shards: header.shards,
    segments: header.segments,
    previousSegments: header.previousSegments,
    shard,
  }));
}
