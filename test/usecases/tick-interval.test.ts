/**
 * How the coordinators number a tick: the planner's keeps the interval clock, the checker's reads
 * it; both give a tick the same number, also at the tick that changes t.
 */
import { describe, expect, it } from 'vitest';
import { ClockContentionError } from '#shared/domain/errors.ts';
import { intervalIndex, intervalStart } from '#shared/domain/interval.ts';
import { foundingClock } from '#shared/domain/interval-clock.ts';
import type { PlanHeader } from '#shared/domain/types.ts';
import { keepTickInterval, readTickInterval } from '#shared/usecases/tick-interval.ts';
import { InMemoryClockStore, InMemoryConvergenceStore } from '#test/support/in-memory.ts';

const STREAM = 'main';
const NOW = new Date('2026-12-04T10:00:00Z');
const K = intervalIndex(NOW, 60);

function header(interval: number, plannedAt: Date): PlanHeader {
  return { stream: STREAM, interval, head: 0, headChain: 'g', plannedAt: plannedAt.toISOString(), shards: 1, segments: 1, previousSegments: 1 };
}

function world(): { clock: InMemoryClockStore; convergence: InMemoryConvergenceStore } {
  return { clock: new InMemoryClockStore(), convergence: new InMemoryConvergenceStore() };
}

describe('tick numbering', () => {
  it("founds a new stream's clock on its first planner tick, numbering floor(time / t) as before the clock", async () => {
    // Prepare
    const { clock, convergence } = world();

    // Act
    const tick = await keepTickInterval(NOW, { stream: STREAM, intervalSeconds: 60, clock, convergence });

    // Assess
    expect(tick.interval).toBe(K);
    expect(clock.writes).toEqual([{ stream: STREAM, clock: foundingClock(60) }]);
    expect(await clock.readClock(STREAM)).toEqual({ clock: foundingClock(60), version: 1 });
  });

  it('writes nothing on later ticks at the same t', async () => {
    const { clock, convergence } = world();
    await keepTickInterval(NOW, { stream: STREAM, intervalSeconds: 60, clock, convergence });
    const next = await keepTickInterval(intervalStart(K + 1, 60), { stream: STREAM, intervalSeconds: 60, clock, convergence });
    expect(next.interval).toBe(K + 1);
    expect(clock.writes).toHaveLength(1);
  });

  it('numbers the first tick at a new t after the newest plan, and the checker, running first at that tick, numbers it alike without writing', async () => {
    // Prepare: planned at t = 240 through k − 1; the deployment now runs t = 60, and the schedule fires 60 s later.
    const { clock, convergence } = world();
    const before = new Date(NOW.getTime() - 240_000);
    await keepTickInterval(before, { stream: STREAM, intervalSeconds: 240, clock, convergence });
    const last = intervalIndex(before, 240);
    await convergence.putPlanHeader(header(last, before), 0);
    const tickAt = new Date(before.getTime() + 60_000);

    // Act: the checker's coordinator first, then the planner's.
    const checked = await readTickInterval(tickAt, { stream: STREAM, intervalSeconds: 60, clock, convergence });
    const planned = await keepTickInterval(tickAt, { stream: STREAM, intervalSeconds: 60, clock, convergence });
    const checkedAfter = await readTickInterval(tickAt, { stream: STREAM, intervalSeconds: 60, clock, convergence });

    // Assess: floor(time / 240) is still the last tick's number; the new t's first tick comes after it.
    expect(intervalIndex(tickAt, 240)).toBe(last);
    expect(planned.interval).toBe(last + 1);
    expect(planned.started).toEqual({ firstInterval: last + 1, startsAt: Math.floor(tickAt.getTime() / 1000), intervalSeconds: 60 });
    expect(checked.interval).toBe(planned.interval);
    expect(checkedAfter.interval).toBe(planned.interval);
    expect(clock.writes).toHaveLength(2);
  });

  it('never writes from the checker, even for a stream without a clock', async () => {
    const { clock, convergence } = world();
    const tick = await readTickInterval(NOW, { stream: STREAM, intervalSeconds: 60, clock, convergence });
    expect(tick.interval).toBe(K);
    expect(clock.writes).toEqual([]);
  });

  it('founds the clock from the newest header of a stream planned before the clock, even when t changed in the same deployment', async () => {
    // Prepare: headers numbered floor(time / 60); the first tick with the clock runs t = 240.
    const { clock, convergence } = world();
    const before = new Date(NOW.getTime() - 60_000);
    await convergence.putPlanHeader(header(intervalIndex(before, 60), before), 0);

    // Act
    const tick = await keepTickInterval(NOW, { stream: STREAM, intervalSeconds: 240, clock, convergence });

    // Assess: numbered after the old numbering's last interval, not a quarter of it.
    expect(tick.interval).toBe(K);
    expect(tick.interval).toBeGreaterThan(intervalIndex(before, 60));
    expect(clock.writes.at(-1)?.clock.epochs).toEqual([...foundingClock(60).epochs, { firstInterval: K, startsAt: Math.floor(NOW.getTime() / 1000), intervalSeconds: 240 }]);
  });

  it('reads back the clock a concurrent run of the tick stored first, and numbers the tick as it does', async () => {
    // Prepare: two runs of the same tick read no clock; one stores it first.
    const { clock, convergence } = world();
    const racing = new InMemoryClockStore();
    let first = true;
    const store = {
      readClock: (stream: string) => racing.readClock(stream),
      writeClock: async (stream: string, written: Parameters<InMemoryClockStore['writeClock']>[1], expected: number | undefined) => {
        if (first) {
          first = false;
          await racing.writeClock(stream, written, expected);
        }
        return racing.writeClock(stream, written, expected);
      },
    };

    // Act
    const tick = await keepTickInterval(NOW, { stream: STREAM, intervalSeconds: 60, clock: store, convergence });

    // Assess
    expect(tick.interval).toBe(K);
    expect(racing.writes).toHaveLength(1);
    expect(clock.writes).toHaveLength(0);
  });

  it('gives up with ClockContentionError when other runs keep replacing the clock', async () => {
    const { convergence } = world();
    const store = { readClock: () => Promise.resolve(undefined), writeClock: () => Promise.resolve(false) };
    await expect(keepTickInterval(NOW, { stream: STREAM, intervalSeconds: 60, clock: store, convergence })).rejects.toBeInstanceOf(ClockContentionError);
  });
});
