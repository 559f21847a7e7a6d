/**
 * Which interval a scheduled tick is (shared/domain/interval-clock.ts): both coordinators number
 * their tick this way, so that a change of t never numbers a tick below the plans and verdicts
 * already written. The planner's coordinator keeps the clock: it founds it on a stream's first tick
 * and starts a new epoch at the first tick run with a new t. The checker's coordinator only reads
 * it, applying the same change in memory when it runs first at that tick: both number the tick
 * alike.
 */
import { clockFromHistory, intervalAt, withIntervalSeconds, type ClockEpoch, type IntervalClock } from '#shared/domain/interval-clock.ts';
import { ClockContentionError } from '#shared/domain/errors.ts';
import type { ConvergenceStore, IntervalClockStore, StoredClock } from '#shared/domain/ports.ts';
import type { PlanHeader, PlanTotals } from '#shared/domain/types.ts';

/** Clock writes that lose to another run before this one gives up: runs of one tick agree on the clock, so a second read ends it. */
const CLOCK_WRITE_ATTEMPTS = 3;

export interface TickIntervalDeps {
  readonly stream: string;
  /** t as this deployment runs it. */
  readonly intervalSeconds: number;
  readonly clock: Pick<IntervalClockStore, 'readClock'>;
  readonly convergence: Pick<ConvergenceStore, 'latestPlanHeader'>;
}

export interface TickInterval {
  readonly interval: number;
  /** The newest plan header of the stream (any interval), read with the clock. */
  readonly newest?: PlanHeader & Partial<PlanTotals>;
  /** The epoch this tick started: t changed. */
  readonly started?: ClockEpoch;
  readonly clock: IntervalClock;
}

/** Numbers the tick scheduled at `time` from the stored clock, with a change of t applied in memory (the checker's coordinator). */
export async function readTickInterval(time: Date, deps: TickIntervalDeps): Promise<TickInterval> {
  return (await numberTick(time, deps)).tick;
}

/**
 * Numbers the tick scheduled at `time`, storing the clock first when it is missing or its t
 * differs (the planner's coordinator) — conditionally, so concurrent runs of the tick store it once
 * and read back the same numbering.
 * @throws ClockContentionError when other runs kept replacing it.
 */
export async function keepTickInterval(time: Date, deps: TickIntervalDeps & { readonly clock: IntervalClockStore }): Promise<TickInterval> {
  for (let attempt = 1; ; attempt += 1) {
    const { tick, stored } = await numberTick(time, deps);
    if (stored !== undefined && tick.started === undefined) return tick;
    if (await deps.clock.writeClock(deps.stream, tick.clock, stored?.version)) return tick;
    if (attempt >= CLOCK_WRITE_ATTEMPTS) throw new ClockContentionError(deps.stream, attempt);
  }
}

async function numberTick(time: Date, deps: TickIntervalDeps): Promise<{ readonly tick: TickInterval; readonly stored?: StoredClock }> {
  const { stream, intervalSeconds } = deps;
  const [stored, newest] = await Promise.all([deps.clock.readClock(stream), deps.convergence.latestPlanHeader(stream, Number.MAX_SAFE_INTEGER)]);
  const base = stored?.clock ?? clockFromHistory(newest, intervalSeconds, time);
  const { clock, started } = withIntervalSeconds(base, time, intervalSeconds, newest?.interval);
  const tick: TickInterval = { interval: intervalAt(clock, time), clock, ...(newest === undefined ? {} : { newest }), ...(started === undefined ? {} : { started }) };
  return { tick, ...(stored === undefined ? {} : { stored }) };
}
