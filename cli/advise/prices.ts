/**
 * The prices `microbatch advise` costs a (t, b) with: the one table of them, each named, with its
 * unit and the page it comes from. `--price key=value` overrides any of them by its key.
 */
import { UsageError } from '#local/errors.ts';

export interface PriceDefinition {
  /** What the price is for, as a person reads it. */
  readonly name: string;
  /** USD per this unit. */
  readonly unit: string;
  readonly usd: number;
  readonly source: string;
  /** The day the figure was taken from its page (YYYY-MM-DD). */
  readonly takenOn: string;
}

/**
 * The day the table was written. The figures are the AWS pricing pages' US East (N. Virginia) list
 * prices as published then (DynamoDB on-demand after its 1 November 2024 reduction; Lambda's first
 * Arm duration tier). Check the pages before relying on them.
 */
const TABLE_WRITTEN = '2026-11-30';

/** Every price the model uses, by the key `--price` takes. */
export const PRICES = {
  sqsFifoRequest: {
    name: 'SQS FIFO requests (each send, receive or delete call of up to 64 KB)',
    unit: 'per million requests',
    usd: 0.5,
    source: 'https://aws.amazon.com/sqs/pricing/',
    takenOn: TABLE_WRITTEN,
  },
  sqsStandardRequest: {
    name: 'SQS standard requests (the shard task queues; each call of up to 64 KB)',
    unit: 'per million requests',
    // Standard queues' first tier (up to 100 billion requests a month): the task queues are standard.
    usd: 0.4,
    source: 'https://aws.amazon.com/sqs/pricing/',
    takenOn: '2026-12-04',
  },
  lambdaRequest: {
    name: 'Lambda requests (invocations)',
    unit: 'per million requests',
    usd: 0.2,
    source: 'https://aws.amazon.com/lambda/pricing/',
    takenOn: TABLE_WRITTEN,
  },
  lambdaArmGbSecond: {
    name: 'Lambda duration, arm64 (the functions run on arm64)',
    unit: 'per GB-second',
    usd: 0.000_013_333_4,
    source: 'https://aws.amazon.com/lambda/pricing/',
    takenOn: TABLE_WRITTEN,
  },
  dynamodbWriteRequestUnit: {
    name: 'DynamoDB on-demand write request units (1 KB each)',
    unit: 'per million WRU',
    usd: 0.625,
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    takenOn: TABLE_WRITTEN,
  },
  dynamodbReadRequestUnit: {
    name: 'DynamoDB on-demand read request units (4 KB strongly consistent each)',
    unit: 'per million RRU',
    usd: 0.125,
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    takenOn: TABLE_WRITTEN,
  },
  schedulerInvocation: {
    name: 'EventBridge Scheduler invocations (planner and checker ticks)',
    unit: 'per million invocations',
    usd: 1.0,
    source: 'https://aws.amazon.com/eventbridge/pricing/',
    takenOn: TABLE_WRITTEN,
  },
} as const satisfies Record<string, PriceDefinition>;

export type PriceKey = keyof typeof PRICES;

/** Where and when the default prices were taken (the oldest figure's day); printed with every estimate. */
export const PRICE_SOURCE = {
  region: 'us-east-1',
  kind: 'on-demand list prices, no free tier, no savings plans',
  takenOn: Object.values(PRICES)
    .map((price) => price.takenOn)
    .sort()[0] ?? TABLE_WRITTEN,
} as const;

/** USD per unit, by key: the defaults with any overrides applied. */
export type PriceTable = Readonly<Record<PriceKey, number>>;

export const PRICE_KEYS = Object.keys(PRICES) as readonly PriceKey[];

/** Prices per million requests are divided down to one request here, once. */
const PER_MILLION = new Set<PriceKey>(['sqsFifoRequest', 'sqsStandardRequest', 'lambdaRequest', 'dynamodbWriteRequestUnit', 'dynamodbReadRequestUnit', 'schedulerInvocation']);

/** USD for one unit (one request, one WRU, one GB-second) of the price `key`. */
export function unitPrice(prices: PriceTable, key: PriceKey): number {
  return PER_MILLION.has(key) ? prices[key] / 1_000_000 : prices[key];
}

function isPriceKey(key: string): key is PriceKey {
  return Object.hasOwn(PRICES, key);
}

/**
 * The price table with `--price key=value` overrides (a value is USD per the price's unit).
 * @throws UsageError naming the bad override: an unknown key, a missing or negative value.
 */
export function pricesWith(overrides: readonly string[]): PriceTable {
  const table = Object.fromEntries(PRICE_KEYS.map((key) => [key, PRICES[key].usd])) as Record<PriceKey, number>;
  for (const override of overrides) {
    const match = /^([^=]+)=(.*)$/.exec(override.trim());
    if (match === null) throw new UsageError(`--price ${JSON.stringify(override)}: write key=value, e.g. --price sqsFifoRequest=0.5`);
    const key = (match[1] ?? '').trim();
    const text = (match[2] ?? '').trim();
    if (!isPriceKey(key)) throw new UsageError(`--price ${key}: not a price the advisor uses (it uses ${PRICE_KEYS.join(', ')})`);
    const usd = Number(text);
    if (text === '' || !Number.isFinite(usd) || usd < 0) {
      throw new UsageError(`--price ${key}: must be a number of US dollars ≥ 0 ${PRICES[key].unit} (got ${JSON.stringify(text)})`);
    }
    table[key] = usd;
  }
  return Object.freeze(table);
}

/** The prices as printed and in `--json`: key, name, value, unit, and whether it was overridden. */
export function describePrices(
  prices: PriceTable,
): readonly { readonly key: PriceKey; readonly name: string; readonly usd: number; readonly unit: string; readonly source: string; readonly takenOn: string; readonly overridden: boolean }[] {
  return PRICE_KEYS.map((key) => ({
    key,
    name: PRICES[key].name,
    usd: prices[key],
    unit: PRICES[key].unit,
    source: PRICES[key].source,
    takenOn: PRICES[key].takenOn,
    overridden: prices[key] !== PRICES[key].usd,
  }));
}
