/**
 * How often Lambda may retry a failed tick: only as often as its fixed waits fit in one interval.
 */
import { describe, expect, it } from 'vitest';
import { tickAsyncInvoke } from '#infra/constructs/schedules.ts';

describe('tickAsyncInvoke', () => {
  it.each([
    [60, 0],
    [120, 1],
    [180, 1],
    [240, 2],
    [3_600, 2],
  ])('at t = %i s lets Lambda retry a failed run %i time(s) and drops the event after one interval', (intervalSeconds, retryAttempts) => {
    expect(tickAsyncInvoke(intervalSeconds)).toEqual({ retryAttempts, maxEventAgeSeconds: intervalSeconds });
  });

  it("never asks for an event age outside Lambda's 60 s – 6 h", () => {
    expect(tickAsyncInvoke(86_400).maxEventAgeSeconds).toBe(21_600);
  });
});
