/**
 * The planner's coordinator (DESIGN §5): on each tick it reads the head once, fixes interval k's
 * plan header — H_k and the cut of the work, S shards over B segments — and sends one task per
 * shard. The shards (plan-shard.ts) do the planning, each in its own invocation.
 *
 * The header is first-writer-wins: a retried or duplicated tick finds the header of an earlier run
 * and sends the same tasks again, which the shards' records make harmless (a shard plans a segment
 * once per interval, and reports once). The tick's number comes from the interval clock
 * (tick-interval.ts), which this coordinator keeps; a tick older than the newest planned one, or
 * than the checker's watermark, is not planned at all.
 */
import { shardingFor, type ShardingRules } from '#shared/domain/sharding.ts';
import type { ClockEpoch } from '#shared/domain/interval-clock.ts';
import type { ConvergenceStore, IntervalClockStore, LogReader, NodeRepository, ShardTaskQueue } from '#shared/domain/ports.ts';
import type { PlanTask } from '#shared/domain/shard-task.ts';
import type { PlanHeader } from '#shared/domain/types.ts';
import { PlanIncompleteError } from '#shared/domain/errors.ts';
import { keepTickInterval } from './tick-interval.ts';

export interface StartPlanDeps {
  readonly stream: string;
  readonly intervalSeconds: number;
  readonly retentionDays: number;
  readonly sharding: ShardingRules;
  readonly log: Pick<LogReader, 'readHead'>;
  readonly nodes: Pick<NodeRepository, 'fleetSize'>;
  readonly convergence: Pick<ConvergenceStore, 'putPlanHeader' | 'latestPlanHeader' | 'watermark'>;
  readonly clock: IntervalClockStore;
  readonly tasks: ShardTaskQueue<PlanTask>;
}

/** The tick was planned: its header (this run's or an earlier run's) and the tasks sent for it. */
export interface PlannedTick {
  readonly kind: 'planned';
  readonly interval: number;
  readonly head: number;
  /** Whether this run wrote the plan header (false: an earlier run of k did, and its cut stands). */
  readonly headerWritten: boolean;
  readonly shards: number;
  readonly segments: number;
  /** The fleet size the cut was made for: the table's count, or the last interval's scans if larger. */
  readonly fleetSize: number;
  /** The epoch of the interval clock this tick started: t changed with it. */
  readonly clockStarted?: ClockEpoch;
}

/**
 * The tick came too late to be planned, and nothing was written: a later tick is planned already
 * (`superseded`: its nodes were planned from there on), or the checker has closed the window past
 * it (`closed`: a header written now would never be judged). A hand-run event with an old time, or
 * a retry delivered late.
 */
export interface StaleTick {
  readonly kind: 'stale';
  readonly interval: number;
  readonly reason: 'superseded' | 'closed';
  /** The newest interval planned, and the checker's watermark, as read. */
  readonly newestPlanned?: number;
  readonly closedThrough?: number;
}

export type StartPlanResult = PlannedTick | StaleTick;

/** @throws PlanIncompleteError when SQS refused some tasks after retries (Lambda's retry re-sends them). */
export async function startPlan(input: { readonly scheduledTime: Date }, deps: StartPlanDeps): Promise<StartPlanResult> {
  const { stream } = deps;
  const { scheduledTime } = input;
  const [tick, current, tableCount, closedThrough] = await Promise.all([
    keepTickInterval(scheduledTime, deps),
    deps.log.readHead(stream),
    deps.nodes.fleetSize(),
    deps.convergence.watermark(stream),
  ]);
  const { interval, newest } = tick;
  const seen = { ...(newest === undefined ? {} : { newestPlanned: newest.interval }), ...(closedThrough === undefined ? {} : { closedThrough }) };
  if (newest !== undefined && newest.interval > interval) return { kind: 'stale', interval, reason: 'superseded', ...seen };
  if (closedThrough !== undefined && interval <= closedThrough) return { kind: 'stale', interval, reason: 'closed', ...seen };
  // The cut follows the previous interval's (a retry of k finds k's own header, whose cut stands).
  const previous = newest !== undefined && newest.interval < interval ? newest : undefined;
  // DynamoDB refreshes the table's count every few hours; the last interval's scans know better.
  const fleetSize = Math.max(tableCount, previous?.scannedItems ?? 0);
  const cut = shardingFor(fleetSize, deps.sharding, previous?.segments);
  const plannedAt = scheduledTime.toISOString();
  const expiresAt = Math.floor(scheduledTime.getTime() / 1000) + deps.retentionDays * 86_400;
  const { written, header } = await deps.convergence.putPlanHeader(
    { stream, interval, head: current.head, headChain: current.headChain, plannedAt, ...cut, previousSegments: previous?.segments ?? cut.segments },
    expiresAt,
  );
  const unsent = await deps.tasks.send(planTasks(header));
  if (unsent.length > 0) throw new PlanIncompleteError(`${unsent.length} of ${header.shards} shard task(s) of interval ${interval} were not accepted by SQS`);
  return {
    kind: 'planned',
    interval,
    head: header.head,
    headerWritten: written,
    shards: header.shards,
    segments: header.segments,
    fleetSize,
    ...(tick.started === undefined ? {} : { clockStarted: tick.started }),
  };
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
