/**
 * The checker's coordinator (DESIGN §7): on each tick k it decides what is judged — every open
 * interval before k whose plan is whole — fixes that in the tick's check header (the heads, the
 * versions read, the cut of the fleet) and sends one task per shard. The shards (check-shard.ts)
 * fold their nodes into partial tallies; the last one to report merges them into the verdicts.
 *
 * It also closes what needs no tally: an interval that left the open window unconverged expires,
 * and so does one whose plan can no longer become whole (a planner shard gave up as stale, or two
 * intervals passed without every shard reporting): judging it would blame the nodes for a plan they
 * never got. The watermark moves past everything closed.
 */
import { averageIngestPerInterval } from '#shared/domain/convergence.ts';
import { PlanIncompleteError } from '#shared/domain/errors.ts';
import type { CheckHeader, CheckStore, ConvergenceStore, IntervalClockStore, LogReader, NodeRepository, ShardTaskQueue } from '#shared/domain/ports.ts';
import { shardingFor, type ShardingRules } from '#shared/domain/sharding.ts';
import type { CheckTask } from '#shared/domain/shard-task.ts';
import type { ExpiryReason, IntervalStatus } from '#shared/domain/types.ts';
import pLimit from 'p-limit';
import { readTickInterval } from './tick-interval.ts';

/** Expiries in flight at once: 60 open intervals of 10 ms each land in 40 ms. */
const WRITE_CONCURRENCY = 16;

/** A plan whose shards have not all reported two intervals after its tick will not be whole. */
const PLAN_GRACE_INTERVALS = 2;

/** How long a check header and its partial tallies are kept (a day: they only serve their tick). */
const CHECK_RECORD_SECONDS = 86_400;

export interface StartCheckDeps {
  readonly stream: string;
  readonly intervalSeconds: number;
  /** The intervals k − openIntervals … k − 1 are judged until they converge; older ones expire. */
  readonly openIntervals: number;
  readonly sharding: ShardingRules;
  readonly log: Pick<LogReader, 'readHead'>;
  readonly nodes: Pick<NodeRepository, 'fleetSize'>;
  readonly convergence: Pick<ConvergenceStore, 'statuses' | 'expire' | 'closeThrough' | 'latestPlanHeader'>;
  readonly checks: Pick<CheckStore, 'putCheckHeader' | 'getCheckHeader'>;
  /** Read only: the planner's coordinator keeps the clock. */
  readonly clock: Pick<IntervalClockStore, 'readClock'>;
  readonly tasks: ShardTaskQueue<CheckTask>;
}

export interface StartCheckResult {
  readonly interval: number;
  readonly shards: number;
  readonly segments: number;
  /** Whether this run wrote the check header (false: an earlier run of the tick did, and its choice stands). */
  readonly headerWritten: boolean;
  /** Intervals the shards will judge, oldest first. */
  readonly judged: readonly number[];
  /** Intervals left for a later tick: their planner shards are still reporting. */
  readonly waiting: readonly number[];
  /** Intervals this run closed because they left the window unconverged (now or at missed ticks). */
  readonly expired: readonly number[];
  /** Intervals this run closed because their plan will never be whole. */
  readonly incomplete: readonly number[];
  /** An earlier tick whose shards never all reported (or one gave up): its verdicts were not merged. */
  readonly unmergedTick?: number;
}

/** Judges as of the tick scheduled at `now` (its number from the interval clock, tick-interval.ts). */
export async function startCheck(input: { readonly now: Date }, deps: StartCheckDeps): Promise<StartCheckResult> {
  const { stream } = deps;
  const [{ interval: tick, newest: previousPlan }, current, tableCount] = await Promise.all([
    readTickInterval(input.now, deps),
    deps.log.readHead(stream),
    deps.nodes.fleetSize(),
  ]);
  const [{ closedThrough, records }, earlier] = await Promise.all([
    // The plan of interval k was made moments ago; intervals before k have had a full interval to land.
    deps.convergence.statuses(stream, tick - 1),
    // Every shard of two ticks ago is superseded by now (a later tick has its header): merged, or never will be.
    deps.checks.getCheckHeader(stream, tick - PLAN_GRACE_INTERVALS),
  ]);
  const windowStart = tick - deps.openIntervals;
  const inWindow = records.filter((record) => record.interval >= windowStart);
  const open = inWindow.filter(isOpen);
  const judged = open.filter(isWhole);
  const waiting = open.filter((record) => !isWhole(record) && !isBroken(record, tick));
  const broken = open.filter((record) => !isWhole(record) && isBroken(record, tick));
  const leftWindow = records.filter((record) => record.interval < windowStart && isOpen(record));

  const checkedAt = input.now.toISOString();
  const limit = pLimit(WRITE_CONCURRENCY);
  const expire = (list: readonly IntervalStatus[], reason: ExpiryReason): Promise<number[]> =>
    Promise.all(list.map((record) => limit(async () => ((await deps.convergence.expire(stream, record.interval, checkedAt, reason)) ? [record.interval] : [])))).then((lists) => lists.flat());
  const [expired, incomplete] = await Promise.all([expire(leftWindow, 'left-window'), expire(broken, 'plan-incomplete')]);
  // Only once every interval below the window is closed (an expiry that lost to a converged verdict
  // is closed too): a run that fails before this leaves them for the next run to find.
  if (closedThrough === undefined || closedThrough < windowStart - 1) await deps.convergence.closeThrough(stream, windowStart - 1);

  const fleetSize = Math.max(tableCount, previousPlan?.scannedItems ?? 0);
  const cut = shardingFor(fleetSize, deps.sharding, previousPlan?.segments);
  const newest = records.at(-1);
  const { written, header } = await deps.checks.putCheckHeader(
    {
      stream,
      interval: tick,
      checkedAt,
      ...cut,
      heads: [current.head, ...judged.map((record) => record.head)],
      averageIngestPerInterval: averageIngestPerInterval(inWindow),
      judged: judged.map((record) => ({ interval: record.interval, head: record.head, version: record.version ?? 0 })),
      ...(newest === undefined
        ? {}
        : { newest: { interval: newest.interval, converged: newest.converged, ...(newest.convergedAt === undefined ? {} : { convergedAt: newest.convergedAt }) } }),
    },
    Math.floor(input.now.getTime() / 1000) + CHECK_RECORD_SECONDS,
  );
  const unsent = await deps.tasks.send(checkTasks(header));
  if (unsent.length > 0) throw new PlanIncompleteError(`${unsent.length} of ${header.shards} check task(s) of tick ${tick} were not accepted by SQS`);

  return {
    interval: tick,
    shards: header.shards,
    segments: header.segments,
    headerWritten: written,
    judged: header.judged.map((record) => record.interval),
    waiting: waiting.map((record) => record.interval),
    expired,
    incomplete,
    ...(earlier !== undefined && !earlier.progress.merged ? { unmergedTick: earlier.header.interval } : {}),
  };
}

/** One task per shard of the check header's cut. */
export function checkTasks(header: CheckHeader): CheckTask[] {
  return Array.from({ length: header.shards }, (_, shard) => ({
    v: 1,
    kind: 'check',
    stream: header.stream,
    interval: header.interval,
    checkedAt: header.checkedAt,
    heads: header.heads,
    averageIngestPerInterval: header.averageIngestPerInterval,
    shards: header.shards,
    segments: header.segments,
    shard,
  }));
}

/** Neither converged nor expired: still to be judged while it is in the window. */
function isOpen(record: IntervalStatus): boolean {
  return !record.converged && record.expiredAt === undefined;
}

/** Every planner shard of the interval reported its plan. */
function isWhole(record: IntervalStatus): boolean {
  return record.shardsReported >= record.shards;
}

/** A shard gave up as stale, or the shards had two intervals and some never reported. */
function isBroken(record: IntervalStatus, tick: number): boolean {
  return record.shardsExpired > 0 || record.interval < tick - PLAN_GRACE_INTERVALS;
}
