import { describe, expect, it } from 'vitest';
import { checkWholeNumber, DEFAULT_SETTINGS, validateRate, validateSettings } from '#shared/domain/config.ts';
import type { RawSettings } from '#shared/domain/config.ts';
import { ConfigError } from '#shared/domain/errors.ts';

const GOOD: RawSettings = { stream: 'main', intervalSeconds: 60, batchSize: 100 };

function configErrorOf(act: () => unknown): ConfigError {
  try {
    act();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}

describe('validateSettings', () => {
  it('accepts a good cloud configuration, fills in the defaults and freezes the result', () => {
    const settings = validateSettings(GOOD, 'cloud');

    expect(settings).toEqual({ intervalSeconds: 60, batchSize: 100, ...DEFAULT_SETTINGS });
    expect(settings).toEqual({
      stream: 'main',
      intervalSeconds: 60,
      batchSize: 100,
      maxInFlightIntervals: 2,
      staleAfterIntervals: 3,
      openIntervals: 60,
      reportTopN: 10,
      retentionDays: 30,
      idempotencyWindowHours: 24,
      nodesPerShard: 50_000,
      nodesPerSegment: 2_000,
      shards: 0,
    });
    expect(Object.isFrozen(settings)).toBe(true);
  });

  it('reads numbers given as strings, as they come from the environment', () => {
    const settings = validateSettings({ stream: 'orders', intervalSeconds: '300', batchSize: '50', staleAfterIntervals: '5' }, 'cloud');

    expect(settings).toMatchObject({ stream: 'orders', intervalSeconds: 300, batchSize: 50, staleAfterIntervals: 5 });
  });

  it('defaults the stream to main', () => {
    expect(validateSettings({ intervalSeconds: 60, batchSize: 100 }, 'cloud').stream).toBe('main');
  });

  it('accepts an interval of 30 seconds locally', () => {
    expect(validateSettings({ ...GOOD, intervalSeconds: 30 }, 'local').intervalSeconds).toBe(30);
  });

  it.each<[string, RawSettings, string]>([
    ['an interval under a minute in the cloud', { ...GOOD, intervalSeconds: 30 }, 'intervalSeconds'],
    ['an interval that is not a whole number of minutes in the cloud', { ...GOOD, intervalSeconds: 90 }, 'intervalSeconds'],
    ['a missing interval', { ...GOOD, intervalSeconds: undefined }, 'intervalSeconds'],
    ['a batch size of 0', { ...GOOD, batchSize: 0 }, 'batchSize'],
    ['a fractional batch size', { ...GOOD, batchSize: 1.5 }, 'batchSize'],
    ['a batch size that is not a number', { ...GOOD, batchSize: 'abc' }, 'batchSize'],
    ['a missing batch size', { ...GOOD, batchSize: undefined }, 'batchSize'],
    ['an empty batch size', { ...GOOD, batchSize: '' }, 'batchSize'],
    ['a stream name with a space', { ...GOOD, stream: 'bad name' }, 'stream'],
    ['a stream name with a colon', { ...GOOD, stream: 'a:b' }, 'stream'],
    ['maxInFlightIntervals of 0', { ...GOOD, maxInFlightIntervals: 0 }, 'maxInFlightIntervals'],
    ['a negative staleAfterIntervals', { ...GOOD, staleAfterIntervals: -1 }, 'staleAfterIntervals'],
    ['reportTopN of 0', { ...GOOD, reportTopN: 0 }, 'reportTopN'],
    ['reportTopN over 100, which could carry a verdict past 400 KB', { ...GOOD, reportTopN: 101 }, 'reportTopN'],
    ['an idempotency window of 0 hours', { ...GOOD, idempotencyWindowHours: 0 }, 'idempotencyWindowHours'],
    ['an idempotency window over 30 days', { ...GOOD, idempotencyWindowHours: 721 }, 'idempotencyWindowHours'],
  ])('rejects %s with a ConfigError naming the field', (_what, raw, field) => {
    const error = configErrorOf(() => validateSettings(raw, 'cloud'));

    expect(error.name).toBe('ConfigError');
    expect(error.field).toBe(field);
    expect(error.message).toBe(`${field}: ${error.reason}`);
  });

  it('rejects a bad batch size locally too', () => {
    expect(configErrorOf(() => validateSettings({ ...GOOD, batchSize: 0 }, 'local')).field).toBe('batchSize');
  });
});

describe('checkWholeNumber', () => {
  it('reads a whole number in range from a number or its text', () => {
    expect(checkWholeNumber(7, 1, 10)).toEqual({ ok: true, value: 7 });
    expect(checkWholeNumber(' 10 ', 1, 10)).toEqual({ ok: true, value: 10 });
  });

  it.each<[string | number, string]>([
    [2.5, 'must be a whole number (got 2.5)'],
    ['soon', 'must be a whole number (got "soon")'],
    [0, 'must be between 1 and 10 (got 0)'],
    ['11', 'must be between 1 and 10 (got 11)'],
  ])('says why %j is not one', (raw, reason) => {
    expect(checkWholeNumber(raw, 1, 10)).toEqual({ ok: false, reason });
  });
});

describe('validateRate', () => {
  it('accepts a positive, finite rate', () => {
    expect(validateRate(0.35)).toBe(0.35);
    expect(validateRate(1000)).toBe(1000);
  });

  it.each<[string, unknown]>([
    ['0', 0],
    ['-1', -1],
    ['NaN', Number.NaN],
    ['the string "1"', '1'],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['a missing rate', undefined],
    ['null', null],
  ])('rejects %s, naming the rate', (_what, rate) => {
    const error = configErrorOf(() => validateRate(rate));

    expect(error.field).toBe('rate');
    expect(error.message).toMatch(/^rate: /);
  });

  it('names the field it was given', () => {
    expect(configErrorOf(() => validateRate(0, 'nodes.3.rate')).field).toBe('nodes.3.rate');
  });
});
