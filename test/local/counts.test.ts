/** The one way a count is written with its noun, in the console, the report and the command line. */
import { describe, expect, it } from 'vitest';
import { count, plural } from '#local/counts.ts';

describe('plural', () => {
  it.each([
    [0, 'node', undefined, '0 nodes'],
    [1, 'node', undefined, '1 node'],
    [2, 'node', undefined, '2 nodes'],
    [1, 'microbatch', 'microbatches', '1 microbatch'],
    [12_345, 'microbatch', 'microbatches', '12,345 microbatches'],
  ])('writes %d with %s as its noun agrees', (value, one, many, expected) => {
    expect(plural(value, one, many)).toBe(expected);
  });
});

describe('count', () => {
  it('groups thousands and writes a dash for a value that is not a number', () => {
    expect([count(1_234_567), count(Number.NaN)]).toEqual(['1,234,567', '—']);
  });
});
