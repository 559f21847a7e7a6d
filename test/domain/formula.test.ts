import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { microbatchCount, sharePerInterval, updatesThisInterval } from '#shared/domain/formula.ts';

/** Rates are drawn as whole millionths so that ceil(r·t) has an exact integer oracle. */
const MICRO = 1_000_000;
const ceilDiv = (numerator: number, denominator: number): number => Math.floor((numerator + denominator - 1) / denominator);

describe('sharePerInterval', () => {
  it('gives 3 for 0.1 updates per second over 30 seconds', () => {
    expect(sharePerInterval(0.1, 30)).toBe(3);
  });

  it('does not let a product that lands a hair above a whole number round up', () => {
    expect(0.07 * 100).toBeGreaterThan(7);
    expect(sharePerInterval(0.07, 100)).toBe(7);
    expect(0.28 * 600).toBeGreaterThan(168);
    expect(sharePerInterval(0.28, 600)).toBe(168);
  });

  it('still rounds up a real fraction of a ten-thousandth on a large share', () => {
    // 40.6399 · 3599 = 146263.0001 exactly.
    expect(sharePerInterval(40.6399, 3599)).toBe(146_264);
  });

  it('gives 350 for 0.35 updates per second over 1000 seconds', () => {
    expect(sharePerInterval(0.35, 1000)).toBe(350);
  });

  it('rounds a fraction of an update up to one', () => {
    expect(sharePerInterval(0.0001, 60)).toBe(1);
  });

  it('rounds a real fraction up and keeps a whole share whole', () => {
    expect(sharePerInterval(1.5, 61)).toBe(92);
    expect(sharePerInterval(50, 3600)).toBe(180_000);
  });
});

describe('updatesThisInterval', () => {
  it('gives a node with a full backlog its whole share and a nearly caught-up node only what it lacks', () => {
    expect(updatesThisInterval(10_000, 5, 60)).toBe(300);
    expect(updatesThisInterval(42, 5, 60)).toBe(42);
  });

  it('gives nothing to a node that is caught up or ahead', () => {
    expect(updatesThisInterval(0, 5, 60)).toBe(0);
    expect(updatesThisInterval(-7, 5, 60)).toBe(0);
  });

  it('never exceeds the lag nor the share, and is zero when the lag is not positive', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1_000_000, max: 1_000_000 }),
        fc.integer({ min: 1, max: 50 * MICRO }),
        fc.integer({ min: 1, max: 3600 }),
        (lag, rateMicros, intervalSeconds) => {
          const rate = rateMicros / MICRO;
          const updates = updatesThisInterval(lag, rate, intervalSeconds);
          expect(updates).toBeGreaterThanOrEqual(0);
          expect(updates).toBeLessThanOrEqual(Math.max(lag, 0));
          expect(updates).toBeLessThanOrEqual(sharePerInterval(rate, intervalSeconds));
          if (lag <= 0) expect(updates).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('gives a node with enough backlog ceil(r·t) updates in ceil(r·t/b) microbatches', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 * MICRO }),
        fc.integer({ min: 1, max: 3600 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.nat({ max: 1_000_000 }),
        (rateMicros, intervalSeconds, batchSize, extraLag) => {
          const rate = rateMicros / MICRO;
          const exactShare = ceilDiv(rateMicros * intervalSeconds, MICRO);
          const updates = updatesThisInterval(exactShare + extraLag, rate, intervalSeconds);
          expect(sharePerInterval(rate, intervalSeconds)).toBe(exactShare);
          expect(updates).toBe(sharePerInterval(rate, intervalSeconds));
          expect(microbatchCount(updates, batchSize)).toBe(ceilDiv(rateMicros * intervalSeconds, MICRO * batchSize));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('microbatchCount', () => {
  it('is ceil(q / b)', () => {
    expect(microbatchCount(0, 100)).toBe(0);
    expect(microbatchCount(1, 100)).toBe(1);
    expect(microbatchCount(100, 100)).toBe(1);
    expect(microbatchCount(101, 100)).toBe(2);
  });
});
