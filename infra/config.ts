/**
 * The stack's configuration: typed, validated and frozen from raw context values. `app.ts` reads
 * the context and hands the raw values here; nothing else in `infra/` reads context or env.
 *
 * Every key is `microbatch-sync:<name>` (a prefix keeps them apart from CDK's own context), set in
 * `cdk.json` or on the command line (`-c microbatch-sync:intervalSeconds=120`). A bad value fails
 * synth with a {@link ConfigError} whose message starts with the full context key.
 */
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DEFAULT_SETTINGS, validateSettings, type RawSettings, type SyncSettings } from '#shared/domain/config.ts';
import { ConfigError } from '#shared/domain/errors.ts';
import { DEFAULT_MAX_RECEIVE_COUNT, FUNCTIONS, LOG_LEVELS, type LogLevel } from './definitions.ts';

/** The prefix of every context key this app reads. */
export const CONTEXT_PREFIX = 'microbatch-sync:';

/** The full context key of a setting, e.g. `microbatch-sync:intervalSeconds`. */
export function contextKey(name: ContextName): string {
  return `${CONTEXT_PREFIX}${name}`;
}

/** Removal policy of the stateful resources: keep them when the stack is deleted, or delete them (dev). */
export type RemovalSetting = 'retain' | 'destroy';


/** The retention periods CloudWatch Logs accepts, in days (9999: never expire). */
export const LOG_RETENTION_DAYS: readonly RetentionDays[] = Object.values(RetentionDays).filter((value): value is RetentionDays => typeof value === 'number');

/** The validated configuration of one deployment. */
export interface StackConfig {
  /** CloudFormation stack name. */
  readonly stackName: string;
  /** Region to deploy to: the context key, else the default app.ts passes (the CLI's region, else us-east-1). */
  readonly region: string;
  /** The settings every function shares (validated by the same rules as at cold start). */
  readonly settings: Readonly<SyncSettings>;
  /** Receives of a microbatch before it is dead-lettered. */
  readonly maxReceiveCount: number;
  readonly applier: {
    readonly timeoutSeconds: number;
    /** The SQS event source's maximum concurrency (2–1000). */
    readonly maxConcurrency: number;
  };
  readonly ingest: {
    /** Reserved concurrency; `undefined` (context value `none`) reserves none: Lambda keeps part of the account limit (100 by default) unreserved. */
    readonly reservedConcurrency: number | undefined;
  };
  readonly alarms: {
    /** Alarm when the checker reports "not converged" for this many intervals in a row. */
    readonly notConvergedIntervals: number;
    /** Alarm when a function reports at least this many errors in five minutes. */
    readonly functionErrors: number;
    /** An address subscribed to the alarm topic; `undefined` subscribes nobody. */
    readonly email: string | undefined;
  };
  readonly observability: {
    readonly serviceName: string;
    readonly metricsNamespace: string;
    readonly logLevel: LogLevel;
    readonly logRetention: RetentionDays;
  };
  readonly removalPolicy: RemovalSetting;
}

/** The defaults, as `cdk.json` documents them; a context value overrides each. */
export const DEFAULTS = {
  stackName: 'MicrobatchSync',
  stream: 'main',
  intervalSeconds: 60,
  batchSize: 100,
  ...DEFAULT_SETTINGS,
  maxReceiveCount: DEFAULT_MAX_RECEIVE_COUNT,
  applierTimeoutSeconds: FUNCTIONS.applier.timeoutSeconds,
  applierMaxConcurrency: 10,
  ingestReservedConcurrency: 5,
  notConvergedIntervals: 5,
  functionErrorsThreshold: 1,
  serviceName: 'microbatch-sync',
  metricsNamespace: 'MicrobatchSync',
  logLevel: 'INFO',
  logRetentionDays: RetentionDays.ONE_MONTH,
  removalPolicy: 'retain',
} as const;

/** The names of the context keys (without the prefix). */
export const CONTEXT_NAMES = [
  'stackName',
  'region',
  'stream',
  'intervalSeconds',
  'batchSize',
  'maxInFlightIntervals',
  'staleAfterIntervals',
  'openIntervals',
  'reportTopN',
  'retentionDays',
  'idempotencyWindowHours',
  'maxReceiveCount',
  'applierTimeoutSeconds',
  'applierMaxConcurrency',
  'ingestReservedConcurrency',
  'notConvergedIntervals',
  'functionErrorsThreshold',
  'alarmEmail',
  'serviceName',
  'metricsNamespace',
  'logLevel',
  'logRetentionDays',
  'removalPolicy',
] as const;
export type ContextName = (typeof CONTEXT_NAMES)[number];

/** Raw context values by name: whatever `cdk.json` or `-c` gave (strings from the command line). */
export type RawStackConfig = Partial<Record<ContextName, unknown>>;

const SETTING_NAMES = [
  'stream',
  'intervalSeconds',
  'batchSize',
  'maxInFlightIntervals',
  'staleAfterIntervals',
  'openIntervals',
  'reportTopN',
  'retentionDays',
  'idempotencyWindowHours',
] as const satisfies readonly (keyof SyncSettings & ContextName)[];

/** CloudWatch evaluates an alarm over at most one day of periods shorter than an hour. */
const MAX_ALARM_EVALUATION_SECONDS = 86_400;

function fail(name: ContextName, message: string): never {
  throw new ConfigError(contextKey(name), message);
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

function integer(raw: RawStackConfig, name: ContextName, fallback: number, min: number, max: number): number {
  const value = raw[name];
  if (isAbsent(value)) return fallback;
  const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : Number.NaN;
  if (!Number.isInteger(number)) fail(name, `must be a whole number (got ${JSON.stringify(value)})`);
  if (number < min || number > max) fail(name, `must be between ${min} and ${max} (got ${number})`);
  return number;
}

/** A string matching `pattern`; `undefined` when absent. */
function optionalText(raw: RawStackConfig, name: ContextName, pattern: RegExp, rule: string): string | undefined {
  const value = raw[name];
  if (isAbsent(value)) return undefined;
  if (typeof value !== 'string' || !pattern.test(value)) fail(name, `must be ${rule} (got ${JSON.stringify(value)})`);
  return value;
}

function text(raw: RawStackConfig, name: ContextName, fallback: string, pattern: RegExp, rule: string): string {
  return optionalText(raw, name, pattern, rule) ?? fallback;
}

function oneOf<const T extends string | number>(raw: RawStackConfig, name: ContextName, allowed: readonly T[], fallback: T): T {
  const value = raw[name];
  if (isAbsent(value)) return fallback;
  const match = allowed.find((candidate) => String(candidate) === String(value).trim());
  if (match === undefined) fail(name, `must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
  return match;
}

/** The shared settings through the domain's own rules (target 'cloud'), with errors renamed to context keys. */
function settingsFrom(raw: RawStackConfig): Readonly<SyncSettings> {
  const settings: Record<string, string | number | undefined> = {};
  for (const name of SETTING_NAMES) {
    const value = raw[name];
    if (!isAbsent(value) && typeof value !== 'string' && typeof value !== 'number') fail(name, `must be a string or a number (got ${JSON.stringify(value)})`);
    settings[name] = isAbsent(value) ? undefined : (value as string | number);
  }
  const withDefaults: RawSettings = {
    ...settings,
    stream: settings.stream ?? DEFAULTS.stream,
    intervalSeconds: settings.intervalSeconds ?? DEFAULTS.intervalSeconds,
    batchSize: settings.batchSize ?? DEFAULTS.batchSize,
  };
  try {
    return validateSettings(withDefaults, 'cloud');
  } catch (error) {
    if (error instanceof ConfigError && (SETTING_NAMES as readonly string[]).includes(error.field)) {
      fail(error.field as ContextName, error.reason);
    }
    throw error;
  }
}

/**
 * Validates raw context values and returns the frozen configuration.
 * @throws ConfigError naming the first bad context key, e.g. `microbatch-sync:intervalSeconds: must be …`.
 */
export function loadStackConfig(raw: RawStackConfig, defaults: { readonly region: string }): StackConfig {
  const settings = settingsFrom(raw);
  const reserved = raw.ingestReservedConcurrency;
  const notConvergedIntervals = integer(raw, 'notConvergedIntervals', DEFAULTS.notConvergedIntervals, 1, 1_440);
  if (notConvergedIntervals * settings.intervalSeconds > MAX_ALARM_EVALUATION_SECONDS) {
    fail('notConvergedIntervals', `times intervalSeconds must be at most one day, CloudWatch's longest evaluation (got ${notConvergedIntervals} × ${settings.intervalSeconds} s)`);
  }
  const config: StackConfig = {
    stackName: text(raw, 'stackName', DEFAULTS.stackName, /^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'a CloudFormation stack name (a letter, then letters, digits, -)'),
    region: text(raw, 'region', defaults.region, /^[a-z]{2}(-[a-z]+)+-\d+$/, 'an AWS region such as eu-west-1'),
    settings,
    maxReceiveCount: integer(raw, 'maxReceiveCount', DEFAULTS.maxReceiveCount, 1, 1_000),
    applier: {
      // Lambda's limit is 15 minutes; six times it (the visibility timeout) stays within SQS's 12 hours.
      timeoutSeconds: integer(raw, 'applierTimeoutSeconds', DEFAULTS.applierTimeoutSeconds, 1, 900),
      maxConcurrency: integer(raw, 'applierMaxConcurrency', DEFAULTS.applierMaxConcurrency, 2, 1_000),
    },
    ingest: {
      reservedConcurrency: reserved === 'none' ? undefined : integer(raw, 'ingestReservedConcurrency', DEFAULTS.ingestReservedConcurrency, 1, 1_000),
    },
    alarms: {
      notConvergedIntervals,
      functionErrors: integer(raw, 'functionErrorsThreshold', DEFAULTS.functionErrorsThreshold, 1, 1_000_000),
      email: optionalText(raw, 'alarmEmail', /^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'an e-mail address'),
    },
    observability: {
      serviceName: text(raw, 'serviceName', DEFAULTS.serviceName, /^[A-Za-z0-9_.-]{1,64}$/, '1–64 characters of A-Z a-z 0-9 _ . -'),
      metricsNamespace: text(raw, 'metricsNamespace', DEFAULTS.metricsNamespace, /^[A-Za-z0-9_.\-/#:]{1,255}$/, 'a CloudWatch namespace (A-Z a-z 0-9 . - _ / # :)'),
      logLevel: oneOf(raw, 'logLevel', LOG_LEVELS, DEFAULTS.logLevel),
      logRetention: oneOf(raw, 'logRetentionDays', LOG_RETENTION_DAYS, DEFAULTS.logRetentionDays),
    },
    removalPolicy: oneOf(raw, 'removalPolicy', ['retain', 'destroy'] as const, DEFAULTS.removalPolicy),
  };
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}
