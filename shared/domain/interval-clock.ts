/**
 * The interval clock (DESIGN §5): which interval number k a tick's scheduled time falls in, kept
 * monotonic across changes of t.
 *
 * Interval numbers order everything — plan records, plan claims, the stall clock, the checker's
 * watermark, open window and expiries — so they must grow with time whatever t does. `floor(time / t)`
 * alone does not: raising t from 60 to 240 s numbers the next tick about four times lower than the
 * last, below every record. The clock is a list of epochs instead: from an epoch's start on, ticks
 * `intervalSeconds` apart count on from its first interval. A change of t starts a new epoch at the
 * first tick that runs with it, numbered after both that tick's number in the old epoch and the
 * newest planned interval, so numbers never repeat or go back, and keep counting time in the units
 * of the t in force.
 *
 * A stream planned before the clock existed (no clock record) was numbered `floor(time / t)`: its
 * founding epoch is that numbering, with the t its newest plan header was planned under — so a
 * stream whose t is changed in the same deployment that brings the clock keeps ordering too.
 */
import { MAX_INTERVAL_SECONDS } from './config.ts';

/** One stretch of the numbering. */
export interface ClockEpoch {
  /** The number of the interval that contains `startsAt`. */
  readonly firstInterval: number;
  /** Where the epoch starts: seconds since the Unix epoch (0: the founding `floor(time / t)` numbering). */
  readonly startsAt: number;
  /** t from `startsAt` on. */
  readonly intervalSeconds: number;
}

/** The epochs, oldest first: starts strictly ascending, first intervals ascending. */
export interface IntervalClock {
  readonly epochs: readonly ClockEpoch[];
}

/** Epochs kept: a tick older than the oldest kept change (days of changes) is never delivered. */
export const MAX_EPOCHS = 16;

/** The numbering before the clock: k = floor(time / t). */
export function foundingClock(intervalSeconds: number): IntervalClock {
  return { epochs: [{ firstInterval: 0, startsAt: 0, intervalSeconds }] };
}

function seconds(time: Date): number {
  return Math.floor(time.getTime() / 1000);
}

/** The epoch `time` falls in: the newest that started at or before it (the oldest for earlier times). */
export function epochAt(clock: IntervalClock, time: Date): ClockEpoch {
  const at = seconds(time);
  const [oldest] = clock.epochs;
  if (oldest === undefined) throw new RangeError('an interval clock needs at least one epoch');
  let found = oldest;
  for (const epoch of clock.epochs) if (epoch.startsAt <= at) found = epoch;
  return found;
}

/** k of a tick scheduled at `time`. */
export function intervalAt(clock: IntervalClock, time: Date): number {
  const epoch = epochAt(clock, time);
  return epoch.firstInterval + Math.floor((seconds(time) - epoch.startsAt) / epoch.intervalSeconds);
}

/** The first moment of interval k: where a tick of k is scheduled, at the earliest. */
export function intervalStartTime(clock: IntervalClock, interval: number): Date {
  let found: ClockEpoch | undefined;
  for (const epoch of clock.epochs) if (epoch.firstInterval <= interval) found = epoch;
  const epoch = found ?? clock.epochs[0];
  if (epoch === undefined) throw new RangeError('an interval clock needs at least one epoch');
  return new Date((epoch.startsAt + (interval - epoch.firstInterval) * epoch.intervalSeconds) * 1000);
}

/** The t a plan header was planned under, when the founding numbering explains it (`floor(plannedAt / t) = interval`). */
export function foundingIntervalSeconds(header: { readonly interval: number; readonly plannedAt: string }, candidates: readonly number[]): number | undefined {
  const at = seconds(new Date(header.plannedAt));
  if (!Number.isFinite(at) || header.interval <= 0) return undefined;
  // floor(at / t) = k holds for one whole t at most once k > t: at / (k + 1) < t ≤ at / k. A t
  // beyond the longest the settings allow explains nothing (any small k has such a "t").
  for (const t of [...candidates, Math.floor(at / header.interval)]) {
    if (Number.isInteger(t) && t > 0 && t <= MAX_INTERVAL_SECONDS && Math.floor(at / t) === header.interval) return t;
  }
  return undefined;
}

/**
 * The clock of a stream that has none stored: the founding numbering under the t its newest plan
 * header was planned with (t itself for a stream never planned); when no whole t explains that
 * header, one epoch from `time` on, numbered after it.
 */
export function clockFromHistory(newest: { readonly interval: number; readonly plannedAt: string } | undefined, intervalSeconds: number, time: Date): IntervalClock {
  if (newest === undefined) return foundingClock(intervalSeconds);
  const founding = foundingIntervalSeconds(newest, [intervalSeconds]);
  if (founding !== undefined) return foundingClock(founding);
  return { epochs: [{ firstInterval: newest.interval + 1, startsAt: seconds(time), intervalSeconds }] };
}

/**
 * The clock for a tick at `time` run with t = `intervalSeconds`: the same clock when its epoch at
 * `time` already has that t, or when a newer epoch has started since `time` (a late tick keeps its
 * number); else a new epoch from `time` on, numbered after the tick's old number and after the
 * newest planned interval. The oldest epochs beyond {@link MAX_EPOCHS} are dropped.
 */
export function withIntervalSeconds(clock: IntervalClock, time: Date, intervalSeconds: number, newestPlanned?: number): { readonly clock: IntervalClock; readonly started?: ClockEpoch } {
  const latest = clock.epochs.at(-1);
  if (latest === undefined) throw new RangeError('an interval clock needs at least one epoch');
  const at = seconds(time);
  if (latest.intervalSeconds === intervalSeconds || at <= latest.startsAt) return { clock };
  const old = intervalAt(clock, time);
  const started: ClockEpoch = { firstInterval: Math.max(old, (newestPlanned ?? old - 1) + 1), startsAt: at, intervalSeconds };
  return { clock: { epochs: [...clock.epochs, started].slice(-MAX_EPOCHS) }, started };
}

/** Whether two clocks number every time alike. */
export function sameClock(a: IntervalClock, b: IntervalClock): boolean {
  return (
    a.epochs.length === b.epochs.length &&
    a.epochs.every((epoch, index) => {
      const other = b.epochs[index];
      return other !== undefined && epoch.firstInterval === other.firstInterval && epoch.startsAt === other.startsAt && epoch.intervalSeconds === other.intervalSeconds;
    })
  );
}
