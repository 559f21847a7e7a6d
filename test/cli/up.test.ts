/** `microbatch up`'s pure parts: its settings and its clock. */
import { describe, expect, it } from 'vitest';
import { nextTick, upSettings } from '#cli/up/start-up.ts';
import { UsageError } from '#local/errors.ts';

describe('upSettings', () => {
  it('takes t = 10 s and b = 100 by default and the other settings from the shared defaults', () => {
    expect(upSettings({})).toMatchObject({ intervalSeconds: 10, batchSize: 100, stream: 'main', maxInFlightIntervals: 2, staleAfterIntervals: 3, openIntervals: 60 });
  });

  it('allows any whole number of seconds locally, under the 60-second minimum of the cloud', () => {
    expect(upSettings({ intervalSeconds: 1, batchSize: 5 })).toMatchObject({ intervalSeconds: 1, batchSize: 5 });
  });

  it.each([
    [{ intervalSeconds: 0 }, '--interval: must be between 1 and 86400 (got 0)'],
    [{ batchSize: 0 }, '--batch-size: must be between 1 and 10000 (got 0)'],
  ])('names the option of a bad value %j', (options, message) => {
    expect(() => upSettings(options)).toThrow(new UsageError(message));
  });
});

describe('nextTick', () => {
  it('fires on the next multiple of t, as Scheduler rate(t) does, never at the present instant', () => {
    expect(nextTick(Date.parse('2026-11-30T07:00:03.250Z'), 5).toISOString()).toBe('2026-11-30T07:00:05.000Z');
    expect(nextTick(Date.parse('2026-11-30T07:00:05.000Z'), 5).toISOString()).toBe('2026-11-30T07:00:10.000Z');
    expect(nextTick(Date.parse('2026-11-30T07:00:59.999Z'), 60).toISOString()).toBe('2026-11-30T07:01:00.000Z');
  });
});
