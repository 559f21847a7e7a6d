/**
 * Validation of the settings every part shares (DESIGN §8): the same rules run at `cdk synth`, at
 * a Lambda's cold start and in the local runtime, and each error names the field.
 */
import { ConfigError } from './errors.ts';
import { IDENTIFIER_PATTERN, IDENTIFIER_RULE } from './identifiers.ts';

/** The longest interval t the settings allow: a day. */
export const MAX_INTERVAL_SECONDS = 86_400;

/** Where the settings will run: EventBridge Scheduler needs whole minutes; the local runtime does not. */
export type DeploymentTarget = 'cloud' | 'local';

export interface SyncSettings {
  readonly stream: string;
  readonly intervalSeconds: number;
  readonly batchSize: number;
  readonly maxInFlightIntervals: number;
  readonly staleAfterIntervals: number;
  /** How many recent intervals the checker re-evaluates until they converge. */
  readonly openIntervals: number;
  /** How many nodes each list of a verdict names (laggards, under-provisioned, integrity failures); the rest are counted. */
  readonly reportTopN: number;
  /** Convergence records expire (DynamoDB TTL) after this many days. */
  readonly retentionDays: number;
  /**
   * How long ingest remembers an idempotency key (its chunk markers expire after this many hours):
   * a retry within the window appends nothing twice; after it, the key is a new request.
   */
  readonly idempotencyWindowHours: number;
  /**
   * Nodes one planner or checker shard handles within half an interval: the CPU budget of one
   * invocation (bench/parts/planner.ts measures it). S = ceil(fleet / nodesPerShard).
   */
  readonly nodesPerShard: number;
  /** Nodes per parallel-Scan segment, and so per plan record (sharding.ts). */
  readonly nodesPerSegment: number;
  /** A fixed shard count for every interval; 0 derives it from the fleet's size. */
  readonly shards: number;
}

/** The default of every setting that has one; the interval and the batch size must be given. */
export const DEFAULT_SETTINGS: Omit<SyncSettings, 'intervalSeconds' | 'batchSize'> = {
  stream: 'main',
  maxInFlightIntervals: 2,
  staleAfterIntervals: 3,
  openIntervals: 60,
  reportTopN: 10,
  retentionDays: 30,
  // Producers retry within minutes; a day also covers a retry after an overnight outage.
  idempotencyWindowHours: 24,
  nodesPerShard: 50_000,
  nodesPerSegment: 2_000,
  shards: 0,
};

/** Raw values as they come from context, env or flags: strings or numbers. */
export type RawSettings = { readonly [K in keyof SyncSettings]?: string | number | undefined };

/** A checked value, or why the input is not one: the reason a {@link ConfigError} carries. */
export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/**
 * A whole number in [min, max], from a number or its decimal text (environment variables and `-c`
 * give text). The one such rule: the settings here and the stack's context (infra/config.ts) use it.
 */
export function checkWholeNumber(raw: string | number, min: number, max: number): Checked<number> {
  const value = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(value)) return { ok: false, reason: `must be a whole number (got ${JSON.stringify(raw)})` };
  if (value < min || value > max) return { ok: false, reason: `must be between ${min} and ${max} (got ${value})` };
  return { ok: true, value };
}

function integer(field: string, raw: string | number | undefined, min: number, max: number): number {
  if (raw === undefined || raw === '') throw new ConfigError(field, 'is required');
  const checked = checkWholeNumber(raw, min, max);
  if (!checked.ok) throw new ConfigError(field, checked.reason);
  return checked.value;
}

/** Validates and freezes the shared settings, naming the first bad field. */
export function validateSettings(raw: RawSettings, target: DeploymentTarget): Readonly<SyncSettings> {
  const stream = raw.stream === undefined || raw.stream === '' ? DEFAULT_SETTINGS.stream : String(raw.stream);
  if (!IDENTIFIER_PATTERN.test(stream)) {
    throw new ConfigError('stream', `must be ${IDENTIFIER_RULE} (got ${JSON.stringify(stream)})`);
  }
  const intervalSeconds = integer('intervalSeconds', raw.intervalSeconds, 1, MAX_INTERVAL_SECONDS);
  if (target === 'cloud' && (intervalSeconds < 60 || intervalSeconds % 60 !== 0)) {
    throw new ConfigError(
      'intervalSeconds',
      `must be a whole number of minutes, at least 60, in the cloud: EventBridge Scheduler has a one-minute resolution (got ${intervalSeconds})`,
    );
  }
  const withDefault = (field: Exclude<keyof typeof DEFAULT_SETTINGS, 'stream'>, min: number, max: number): number =>
    integer(field, raw[field] ?? DEFAULT_SETTINGS[field], min, max);
  return Object.freeze({
    stream,
    intervalSeconds,
    batchSize: integer('batchSize', raw.batchSize, 1, 10_000),
    maxInFlightIntervals: withDefault('maxInFlightIntervals', 1, 100),
    staleAfterIntervals: withDefault('staleAfterIntervals', 1, 1_000),
    openIntervals: withDefault('openIntervals', 1, 1_000),
    // 100 names of 64 characters in each of three lists is ~40 KB: a verdict stays far below
    // DynamoDB's 400 KB item limit whatever the fleet's size.
    reportTopN: withDefault('reportTopN', 1, 100),
    retentionDays: withDefault('retentionDays', 1, 3_650),
    idempotencyWindowHours: withDefault('idempotencyWindowHours', 1, 720),
    nodesPerShard: withDefault('nodesPerShard', 1, 10_000_000),
    // A segment's plan record must fit one 400 KB item: 20,000 entries of 64-character ids do.
    nodesPerSegment: withDefault('nodesPerSegment', 1, 20_000),
    shards: withDefault('shards', 0, 1_000),
  });
}

/** A node's rate r_i must be a positive, finite number of updates per second. */
export function validateRate(rate: unknown, field = 'rate'): number {
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0) {
    throw new ConfigError(field, `must be a positive number of updates per second (got ${JSON.stringify(rate)})`);
  }
  return rate;
}
