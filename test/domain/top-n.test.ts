import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { byNodeId, TopN } from '#shared/domain/top-n.ts';

describe('TopN', () => {
  it('keeps the n smallest items offered, smallest first', () => {
    // Prepare
    const top = new TopN<number>(3, (a, b) => a - b);

    // Act
    for (const value of [9, 4, 7, 1, 8, 3, 5]) top.offer(value);

    // Assess
    expect(top.values()).toEqual([1, 3, 4]);
  });

  it('keeps ties in the order they were offered', () => {
    // Prepare
    const top = new TopN<{ key: number; name: string }>(2, (a, b) => a.key - b.key);

    // Act
    for (const name of ['a', 'b', 'c']) top.offer({ key: 1, name });

    // Assess
    expect(top.values().map((item) => item.name)).toEqual(['a', 'b']);
  });

  it('is the first n of the sorted stream, for any stream', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -50, max: 50 })), fc.integer({ min: 1, max: 12 }), (values, n) => {
        const top = new TopN<number>(n, (a, b) => a - b);

        for (const value of values) top.offer(value);

        expect(top.values()).toEqual([...values].sort((a, b) => a - b).slice(0, n));
      }),
      { numRuns: 500 },
    );
  });

  it.each([0, -1, 1.5])('refuses to keep %s items', (n) => {
    expect(() => new TopN<number>(n, (a, b) => a - b)).toThrow(RangeError);
  });
});

describe('byNodeId', () => {
  it('orders by code unit, as DynamoDB orders ASCII strings', () => {
    expect(['a-1', 'Z-1', 'B-1', 'a-1'].sort(byNodeId)).toEqual(['B-1', 'Z-1', 'a-1', 'a-1']);
  });
});
