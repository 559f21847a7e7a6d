/**
 * The retry-mode benchmark's arithmetic and options; the timing itself runs in `npm run bench`.
 */
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseArguments, table, type Measurement } from '#bench/retry-mode.ts';
import { percentile, ratios, summarize } from '#bench/stats.ts';

describe('percentile', () => {
  it('takes the nearest rank, so p99 of 40 calls is the slowest one', () => {
    const values = Array.from({ length: 40 }, (_, index) => index + 1);
    expect(percentile(values, 50)).toBe(20);
    expect(percentile(values, 99)).toBe(40);
    expect(percentile([], 99)).toBe(0);
  });
});

describe('summarize', () => {
  it('counts failed calls and includes their latency', () => {
    expect(summarize([{ ms: 3, failed: false }, { ms: 900, failed: true }, { ms: 2, failed: false }], 905.04)).toEqual({
      calls: 3,
      failed: 1,
      wallMs: 905,
      p50Ms: 3,
      p99Ms: 900,
      maxMs: 900,
    });
  });
});

describe('ratios', () => {
  it('divides adaptive by standard, to two decimals', () => {
    const standard = summarize([{ ms: 2, failed: false }], 300);
    const adaptive = summarize([{ ms: 40, failed: false }], 4_710);
    expect(ratios(adaptive, standard)).toEqual({ wall: 15.7, p50: 20, p99: 20 });
  });
});

describe('parseArguments', () => {
  it('defaults to 40 calls, a burst of 10, and 20 calls/s for 10 s with 5 % throttled', () => {
    expect(parseArguments([])).toEqual({ calls: 40, burst: 10, rate: 20, seconds: 10, chance: 0.05, seed: 1, json: false });
  });

  it('reads --json and the sizes', () => {
    expect(parseArguments(['--json', '--calls', '100', '--chance', '0.2'])).toMatchObject({ json: true, calls: 100, chance: 0.2 });
  });

  it('rejects a chance that is not a probability', () => {
    expect(() => parseArguments(['--chance', '1.5'])).toThrow(CommanderError);
  });
});

describe('table', () => {
  it('prints one row per mode with the adaptive/standard ratio on the adaptive row', () => {
    const standard = summarize([{ ms: 2.8, failed: false }], 290);
    const adaptive = summarize([{ ms: 40, failed: false }], 4_710);
    const measurement: Measurement = { client: 'DynamoDB', scenario: 'single', standard, adaptive, ratio: ratios(adaptive, standard) };
    const text = table([measurement], parseArguments([]));
    const cells = text.split('\n').map((line) => line.split('│').map((cell) => cell.trim()).filter(Boolean));
    expect(cells).toContainEqual(['DynamoDB', 'a. 1 throttle, then 40 calls', 'standard', '0.29 s', '2.8 ms', '2.8 ms', '0/1']);
    expect(cells).toContainEqual(['DynamoDB', 'a. 1 throttle, then 40 calls', 'adaptive', '4.71 s', '40.0 ms', '40.0 ms', '0/1', '×16.24, ×14.29, ×14.29']);
  });
});
