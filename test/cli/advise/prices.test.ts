import { describe, expect, it } from 'vitest';
import { describePrices, PRICE_KEYS, PRICE_SOURCE, PRICES, pricesWith, unitPrice } from '#cli/advise/prices.ts';
import { UsageError } from '#local/errors.ts';

describe('prices', () => {
  it('names every price with its unit and source, in us-east-1 on demand, with the date taken', () => {
    expect(PRICE_SOURCE.region).toBe('us-east-1');
    expect(PRICE_SOURCE.takenOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const key of PRICE_KEYS) {
      expect(PRICES[key].name).not.toBe('');
      expect(PRICES[key].source).toMatch(/^https:\/\/aws\.amazon\.com\//);
      expect(PRICES[key].takenOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      // The estimate says "as of" the oldest figure.
      expect(PRICES[key].takenOn >= PRICE_SOURCE.takenOn).toBe(true);
    }
  });

  it('overrides a price by its key and says which were overridden', () => {
    const prices = pricesWith(['sqsFifoRequest=0.4', ' lambdaRequest = 0.25 ']);
    expect(prices.sqsFifoRequest).toBe(0.4);
    expect(prices.lambdaRequest).toBe(0.25);
    expect(prices.dynamodbWriteRequestUnit).toBe(PRICES.dynamodbWriteRequestUnit.usd);
    expect(describePrices(prices).filter((price) => price.overridden).map((price) => price.key)).toEqual(['sqsFifoRequest', 'lambdaRequest']);
  });

  it('prices the task queues as standard SQS requests, below FIFO ones', () => {
    expect(PRICES.sqsStandardRequest).toMatchObject({ usd: 0.4, unit: 'per million requests', source: 'https://aws.amazon.com/sqs/pricing/', takenOn: '2026-12-04' });
    expect(PRICES.sqsStandardRequest.name).toMatch(/^SQS standard requests/);
    expect(PRICES.sqsFifoRequest.usd).toBe(0.5);
  });

  it('divides a price per million down to one request, and leaves a GB-second alone', () => {
    const prices = pricesWith([]);
    expect(unitPrice(prices, 'sqsFifoRequest')).toBeCloseTo(0.5e-6, 15);
    expect(unitPrice(prices, 'sqsStandardRequest')).toBeCloseTo(0.4e-6, 15);
    expect(unitPrice(prices, 'lambdaArmGbSecond')).toBe(0.000_013_333_4);
  });

  it.each([
    ['sqsFifoRequest', /write key=value/],
    ['sqsRequest=0.5', /not a price the advisor uses \(it uses sqsFifoRequest, /],
    ['sqsFifoRequest=-1', /must be a number of US dollars ≥ 0 per million requests \(got "-1"\)/],
    ['sqsFifoRequest=cheap', /got "cheap"/],
    ['sqsFifoRequest=', /got ""/],
  ])('refuses --price %s with a clear message', (override, message) => {
    expect(() => pricesWith([override])).toThrow(UsageError);
    expect(() => pricesWith([override])).toThrow(message);
  });
});
