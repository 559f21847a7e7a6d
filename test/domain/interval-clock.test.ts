/**
 * The interval clock: numbers that grow with time whatever t does, and that agree with the old
 * `floor(time / t)` numbering for a stream whose t never changed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { intervalIndex } from '#shared/domain/interval.ts';
import {
  clockFromHistory,
  foundingClock,
  foundingIntervalSeconds,
  intervalAt,
  intervalStartTime,
  MAX_EPOCHS,
  withIntervalSeconds,
  type IntervalClock,
} from '#shared/domain/interval-clock.ts';

const T0 = new Date('2026-11-27T10:00:00Z');
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);

/** The ticks of a schedule that fires every `t` seconds from `from` (seconds after T0), `count` of them. */
function ticks(from: number, t: number, count: number): Date[] {
  return Array.from({ length: count }, (_, index) => at(from + index * t));
}

describe('the interval clock', () => {
  it('numbers ticks floor(time / t) until t changes: the numbering every stream had before the clock', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3_600 }), fc.integer({ min: 0, max: 10_000_000 }), (t, offset) => {
        const time = at(offset);
        expect(intervalAt(foundingClock(t), time)).toBe(intervalIndex(time, t));
      }),
    );
  });

  it.each([
    ['raised four times', 60, 240],
    ['lowered four times', 240, 60],
    ['raised by a minute', 60, 120],
    ['lowered to a third', 180, 60],
  ])('keeps numbers strictly growing when t is %s, one more per tick of the new t', (_how, before, after) => {
    // Prepare: ten ticks at the old t, then the schedule fires every new t from the next tick on.
    let clock = foundingClock(before);
    const old = ticks(0, before, 10).map((time) => intervalAt(clock, time));
    const changedAt = at(9 * before + after);
    const change = withIntervalSeconds(clock, changedAt, after, old.at(-1));
    clock = change.clock;

    // Act
    const numbers = ticks(9 * before + after, after, 10).map((time) => intervalAt(clock, time));

    // Assess
    const last = old.at(-1) ?? 0;
    expect(change.started).toEqual({ firstInterval: numbers[0], startsAt: Math.floor(changedAt.getTime() / 1000), intervalSeconds: after });
    expect(numbers[0]).toBeGreaterThan(last);
    // The first new tick counts the old intervals it spans (at least one): time stays in the numbers.
    expect(numbers[0]).toBe(Math.max(last + 1, intervalIndex(changedAt, before)));
    expect(numbers.slice(1).map((number, index) => number - (numbers[index] ?? 0))).toEqual(Array(9).fill(1));
    // Ticks from before the change keep their numbers: a late retry is still the tick it was.
    expect(ticks(0, before, 10).map((time) => intervalAt(clock, time))).toEqual(old);
  });

  it('grows with time through any sequence of changes of t', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ t: fc.integer({ min: 1, max: 600 }), ticks: fc.integer({ min: 1, max: 8 }) }), { minLength: 1, maxLength: 12 }), (runs) => {
        let clock: IntervalClock = foundingClock(runs[0]?.t ?? 60);
        let time = 0;
        let last = Number.NEGATIVE_INFINITY;
        for (const run of runs) {
          for (let tick = 0; tick < run.ticks; tick += 1) {
            time += run.t;
            clock = withIntervalSeconds(clock, at(time), run.t, Number.isFinite(last) ? last : undefined).clock;
            const number = intervalAt(clock, at(time));
            expect(number).toBeGreaterThan(last);
            last = number;
          }
        }
        expect(clock.epochs.length).toBeLessThanOrEqual(MAX_EPOCHS);
      }),
    );
  });

  it('leaves the clock alone for a tick whose epoch already has its t, or that is older than the newest epoch', () => {
    const founded = foundingClock(60);
    expect(withIntervalSeconds(founded, at(600), 60)).toEqual({ clock: founded });
    const { clock } = withIntervalSeconds(founded, at(600), 240, intervalIndex(at(540), 60));
    // A retry of a tick before the change, run by a container that still has the old t.
    expect(withIntervalSeconds(clock, at(540), 60)).toEqual({ clock });
  });

  it("gives the start of each interval, the new epoch's from its first tick", () => {
    const { clock } = withIntervalSeconds(foundingClock(60), at(630), 240, intervalIndex(at(600), 60));
    const first = intervalAt(clock, at(630));
    expect(intervalStartTime(clock, intervalIndex(at(600), 60))).toEqual(at(600));
    expect(intervalStartTime(clock, first)).toEqual(at(630));
    expect(intervalStartTime(clock, first + 2)).toEqual(at(630 + 480));
    expect(intervalAt(clock, intervalStartTime(clock, first + 2))).toBe(first + 2);
  });

  it('finds the t a stream without a clock was planned under from its newest plan header, so a change of t in the same deployment still orders', () => {
    // Prepare: the newest header was planned at t = 60; this deployment already runs t = 240.
    const plannedAt = at(3_000);
    const header = { interval: intervalIndex(plannedAt, 60), plannedAt: plannedAt.toISOString() };

    // Act
    const founded = clockFromHistory(header, 240, at(3_240));
    const { clock } = withIntervalSeconds(founded, at(3_240), 240, header.interval);

    // Assess
    expect(foundingIntervalSeconds(header, [240])).toBe(60);
    expect(founded).toEqual(foundingClock(60));
    expect(intervalAt(clock, at(3_240))).toBe(header.interval + 4);
    expect(clockFromHistory(undefined, 240, at(3_240))).toEqual(foundingClock(240));
  });

  it('numbers after a newest header no whole t explains, from the tick on', () => {
    const header = { interval: 17, plannedAt: at(3_000).toISOString() };
    expect(foundingIntervalSeconds(header, [60])).toBeUndefined();
    const clock = clockFromHistory(header, 60, at(3_060));
    expect(intervalAt(clock, at(3_060))).toBe(18);
    expect(intervalAt(clock, at(3_120))).toBe(19);
  });

  it('keeps the newest epochs only', () => {
    let clock = foundingClock(60);
    for (let change = 1; change <= MAX_EPOCHS + 4; change += 1) clock = withIntervalSeconds(clock, at(change * 10_000), change % 2 === 0 ? 60 : 120).clock;
    expect(clock.epochs).toHaveLength(MAX_EPOCHS);
    expect(clock.epochs.at(-1)?.startsAt).toBe(Math.floor(at((MAX_EPOCHS + 4) * 10_000).getTime() / 1000));
  });
});
