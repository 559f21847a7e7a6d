/**
 * A whole planner or checker tick in process, on in-memory ports (or wrapped ones): the coordinator,
 * then every shard task it sent, as the task queues' event sources would deliver them. The model
 * tests drive the faults between these steps themselves; unit tests that only need "the tick ran"
 * use these.
 */
import { DEFAULT_SETTINGS } from '#shared/domain/config.ts';
import type { CheckTask, PlanTask } from '#shared/domain/shard-task.ts';
import { addPlanTotals, NO_PLAN_TOTALS, type PlanTotals } from '#shared/domain/types.ts';
import { checkShard, type CheckShardDeps, type CheckShardResult, type TickVerdicts } from '#shared/usecases/check-shard.ts';
import { planShard, type PlanShardDeps, type PlanShardResult } from '#shared/usecases/plan-shard.ts';
import { startCheck, type StartCheckDeps, type StartCheckResult } from '#shared/usecases/start-check.ts';
import { startPlan, type StartPlanDeps, type StartPlanResult } from '#shared/usecases/start-plan.ts';
import type { createInMemoryPorts, InMemoryTaskQueue } from './in-memory.ts';

export interface PlanTickDeps {
  readonly start: StartPlanDeps;
  readonly shard: PlanShardDeps;
  readonly tasks: InMemoryTaskQueue<PlanTask>;
}

export interface PlanTickResult {
  readonly start: StartPlanResult;
  readonly shards: readonly PlanShardResult[];
  /** The shards' totals added up (what they reported to the header, counting each shard once). */
  readonly totals: PlanTotals;
  readonly skipped: PlanShardResult['skipped'];
}

/** The coordinator, then every task it queued (and any left from before), shards one after another unless `concurrent`. */
export async function planTick(input: { readonly scheduledTime: Date }, deps: PlanTickDeps, options: { readonly concurrent?: boolean } = {}): Promise<PlanTickResult> {
  const start = await startPlan(input, deps.start);
  const tasks = deps.tasks.take();
  const shards: PlanShardResult[] = [];
  if (options.concurrent === true) shards.push(...(await Promise.all(tasks.map((task) => planShard(task, deps.shard)))));
  else for (const task of tasks) shards.push(await planShard(task, deps.shard));
  return { start, shards, ...sumShards(shards) };
}

/** The shards' totals and skip reasons added up. */
export function sumShards(shards: readonly PlanShardResult[]): { totals: PlanTotals; skipped: PlanShardResult['skipped'] } {
  const skipped = { 'already-planned': 0, 'caught-up': 0, 'in-flight-cap': 0, 'awaiting-outstanding': 0 };
  let totals = NO_PLAN_TOTALS;
  for (const shard of shards) {
    totals = addPlanTotals(totals, shard.totals);
    for (const reason of Object.keys(skipped) as (keyof typeof skipped)[]) skipped[reason] += shard.skipped[reason];
  }
  return { totals, skipped };
}

export interface CheckTickDeps {
  readonly start: StartCheckDeps;
  readonly shard: CheckShardDeps;
  readonly tasks: InMemoryTaskQueue<CheckTask>;
}

export interface CheckTickResult {
  readonly start: StartCheckResult;
  readonly shards: readonly CheckShardResult[];
  /** What the merging shard wrote (absent when no shard completed the tick). */
  readonly merged?: TickVerdicts;
}

/** The coordinator, then every task it queued: the last shard merges the tick. */
export async function checkTick(input: { readonly now: Date }, deps: CheckTickDeps): Promise<CheckTickResult> {
  const start = await startCheck(input, deps.start);
  const shards: CheckShardResult[] = [];
  for (const task of deps.tasks.take()) shards.push(await checkShard(task, deps.shard));
  const merged = shards.find((shard) => shard.merged !== undefined)?.merged;
  return { start, shards, ...(merged === undefined ? {} : { merged }) };
}

/** The settings a tick needs beyond the ports. */
export interface TickSettings {
  readonly stream: string;
  readonly intervalSeconds: number;
  readonly batchSize: number;
  readonly maxInFlightIntervals?: number;
  readonly staleAfterIntervals?: number;
  readonly openIntervals?: number;
  /** The cut of each interval; default one shard of one segment per node, at most 4 shards. */
  readonly sharding?: { readonly nodesPerShard: number; readonly nodesPerSegment: number; readonly shards: number };
}

/** Ports a tick runs on: the in-memory ones of {@link createInMemoryPorts}. */
export type TickPorts = ReturnType<typeof createInMemoryPorts>;

/** Planner and checker tick deps over one set of in-memory ports. */
export function tickDeps(ports: TickPorts, settings: TickSettings): { plan: PlanTickDeps; check: CheckTickDeps } {
  const sharding = settings.sharding ?? { nodesPerShard: 2, nodesPerSegment: 1, shards: 0 };
  const rules = {
    stream: settings.stream,
    intervalSeconds: settings.intervalSeconds,
    batchSize: settings.batchSize,
    maxInFlightIntervals: settings.maxInFlightIntervals ?? DEFAULT_SETTINGS.maxInFlightIntervals,
    staleAfterIntervals: settings.staleAfterIntervals ?? DEFAULT_SETTINGS.staleAfterIntervals,
  };
  return {
    plan: {
      start: { stream: settings.stream, intervalSeconds: settings.intervalSeconds, retentionDays: 1, sharding, log: ports.log, nodes: ports.nodes, convergence: ports.convergence, clock: ports.clock, tasks: ports.planTasks },
      shard: { rules, retentionDays: 1, nodes: ports.nodes, ledger: ports.ledger, queue: ports.queue, convergence: ports.convergence },
      tasks: ports.planTasks,
    },
    check: {
      start: {
        stream: settings.stream,
        intervalSeconds: settings.intervalSeconds,
        openIntervals: settings.openIntervals ?? DEFAULT_SETTINGS.openIntervals,
        sharding,
        log: ports.log,
        nodes: ports.nodes,
        convergence: ports.convergence,
        checks: ports.checks,
        clock: ports.clock,
        tasks: ports.checkTasks,
      },
      shard: { stream: settings.stream, intervalSeconds: settings.intervalSeconds, log: ports.log, nodes: ports.nodes, convergence: ports.convergence, checks: ports.checks },
      tasks: ports.checkTasks,
    },
  };
}
