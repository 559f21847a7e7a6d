import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '#shared/domain/errors.ts';
import { intervalIndex, intervalStart } from '#shared/domain/interval.ts';
import { parseScheduledEvent } from '#shared/domain/scheduled-event.ts';

const TICK = '2026-11-27T10:18:00Z';
const TICK_K = Math.floor(Date.parse(TICK) / 1000 / 60);

function kOf(event: unknown, intervalSeconds = 60): number {
  return intervalIndex(parseScheduledEvent(event).scheduledTime, intervalSeconds);
}

describe('parseScheduledEvent and intervalIndex', () => {
  it('give the classic EventBridge event and the Scheduler payload of one tick the same k', () => {
    const classic = {
      version: '0',
      id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      time: TICK,
      resources: ['arn:aws:events:us-east-1:123456789012:rule/planner'],
      detail: {},
    };
    const scheduler = { scheduledTime: TICK, executionId: 'c9e2f0b1-1a2b-4c3d-9e8f-0a1b2c3d4e5f', attempt: 1 };

    expect(kOf(classic)).toBe(TICK_K);
    expect(kOf(scheduler)).toBe(TICK_K);
  });

  it('maps a retried delivery of the same tick to the same k even though it arrives later', () => {
    expect(kOf({ scheduledTime: TICK, executionId: 'x', attempt: '3' })).toBe(TICK_K);
    expect(kOf({ scheduledTime: '2026-11-27T11:18:00+01:00' })).toBe(TICK_K);
  });

  it('times a Scheduler payload that also carries a detail-type by its scheduledTime', () => {
    expect(kOf({ 'detail-type': 'Reminder', scheduledTime: TICK })).toBe(TICK_K);
    expect(kOf({ 'detail-type': 'Scheduled Event', time: 'not a date', scheduledTime: TICK })).toBe(TICK_K);
  });

  it('rejects an event of neither shape with a ValidationError', () => {
    for (const event of [
      {},
      { time: 'not a date' },
      { time: TICK },
      { 'detail-type': 'Scheduled Event', time: 'not a date' },
      { 'detail-type': 'Object Created', time: TICK },
      { scheduledTime: 'yesterday' },
      'Scheduled Event',
      null,
    ]) {
      expect(() => kOf(event), JSON.stringify(event)).toThrow(ValidationError);
    }
  });

  it('maps two times within the same t-aligned window to the same k, and intervalStart opens that window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3600 }),
        fc.nat({ max: 10_000_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (intervalSeconds, k, a, b) => {
          const windowStart = intervalStart(k, intervalSeconds).getTime();
          const windowMs = intervalSeconds * 1000;
          const first = new Date(windowStart + Math.floor(a * windowMs));
          const second = new Date(windowStart + Math.floor(b * windowMs));

          expect(intervalIndex(first, intervalSeconds)).toBe(k);
          expect(intervalIndex(second, intervalSeconds)).toBe(k);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('maps consecutive ticks t apart to interval indexes that differ by exactly 1', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3600 }), fc.nat({ max: 4_000_000_000_000 }), (intervalSeconds, epochMs) => {
        const tick = new Date(epochMs);
        const next = new Date(epochMs + intervalSeconds * 1000);

        expect(intervalIndex(next, intervalSeconds) - intervalIndex(tick, intervalSeconds)).toBe(1);
      }),
      { numRuns: 500 },
    );
  });

  it('gives both event shapes of any tick the same k', () => {
    fc.assert(
      fc.property(fc.integer({ min: 60, max: 3600 }), fc.nat({ max: 4_000_000_000 }), (intervalSeconds, epochSeconds) => {
        const time = new Date(epochSeconds * 1000).toISOString();

        expect(kOf({ 'detail-type': 'Scheduled Event', time }, intervalSeconds)).toBe(kOf({ scheduledTime: time }, intervalSeconds));
        expect(kOf({ scheduledTime: time }, intervalSeconds)).toBe(Math.floor(epochSeconds / intervalSeconds));
      }),
      { numRuns: 200 },
    );
  });
});
