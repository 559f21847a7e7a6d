/**
 * The stack's configuration: typed, validated and frozen from raw context values. `app.ts` reads
 * the context and hands the raw values here; nothing else in `infra/` reads context or env.
 *
 * Every key is `microbatch-sync:<name>` (a prefix keeps them apart from CDK's own context), set in
 * `cdk.json` or on the command line (`-c microbatch-sync:intervalSeconds=120`). {@link CONTEXT_SCHEMA}
 * is the one list of keys, each with its rule and its default. A bad value, or a key the schema does
 * not know (a typo), fails synth with a {@link ConfigError} whose message starts with the full key.
 */
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import * as z from 'zod';
import { checkWholeNumber, DEFAULT_SETTINGS, validateSettings, type SyncSettings } from '#shared/domain/config.ts';
import { ConfigError } from '#shared/domain/errors.ts';
import { DEFAULT_MAX_RECEIVE_COUNT, FUNCTIONS, LOG_LEVELS, type LogLevel } from './definitions.ts';

/** The prefix of every context key this app reads. */
export const CONTEXT_PREFIX = 'microbatch-sync:';

/** The full context key of a setting, e.g. `microbatch-sync:intervalSeconds`. */
export function contextKey(name: string): string {
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
  /** The shard task queues' event sources: at most this many shard invocations at once (2–1000). */
  readonly shardMaxConcurrency: number;
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

/** The reason every rule below gives: `must be <rule> (got <the value>)`. */
function mustBe(rule: string): (issue: { readonly input?: unknown }) => string {
  return (issue) => `must be ${rule} (got ${JSON.stringify(issue.input)})`;
}

/** A number, or text as `-c key=value` passes it. */
function numberOrText(rule: string): z.ZodUnion<[z.ZodNumber, z.ZodString]> {
  return z.union([z.number(), z.string()], { error: mustBe(rule) });
}

/** A whole number in [min, max] by the domain's rule; with `none`, also that word. */
function wholeNumber(min: number, max: number): z.ZodType<number, string | number>;
function wholeNumber(min: number, max: number, none: 'none'): z.ZodType<number | 'none', string | number>;
function wholeNumber(min: number, max: number, none?: 'none'): z.ZodType<number | 'none', string | number> {
  return numberOrText('a whole number').transform((raw, ctx) => {
    if (none !== undefined && raw === none) return none;
    const checked = checkWholeNumber(raw, min, max);
    if (checked.ok) return checked.value;
    ctx.addIssue({ code: 'custom', message: checked.reason, input: raw });
    return z.NEVER;
  });
}

/** Text matching `pattern`. */
function text(pattern: RegExp, rule: string): z.ZodString {
  return z.string({ error: mustBe(rule) }).regex(pattern, { error: mustBe(rule) });
}

/** One of `allowed`, given as itself or as its text. */
function oneOf<const T extends string | number>(allowed: readonly T[]): z.ZodType<T, string | number> {
  const rule = `one of ${allowed.join(', ')}`;
  return numberOrText(rule).transform((raw, ctx) => {
    const match = allowed.find((candidate) => String(candidate) === String(raw).trim());
    if (match !== undefined) return match;
    ctx.addIssue({ code: 'custom', message: mustBe(rule)({ input: raw }), input: raw });
    return z.NEVER;
  });
}

/** A shared setting as given: its rules are the domain's ({@link validateSettings}), the same as at cold start. */
const setting = numberOrText('a string or a number');

/** The shared settings, with the defaults `cdk.json` documents. */
const SETTINGS = {
  stream: setting.default(DEFAULT_SETTINGS.stream),
  intervalSeconds: setting.default(60),
  batchSize: setting.default(100),
  maxInFlightIntervals: setting.default(DEFAULT_SETTINGS.maxInFlightIntervals),
  staleAfterIntervals: setting.default(DEFAULT_SETTINGS.staleAfterIntervals),
  openIntervals: setting.default(DEFAULT_SETTINGS.openIntervals),
  reportTopN: setting.default(DEFAULT_SETTINGS.reportTopN),
  retentionDays: setting.default(DEFAULT_SETTINGS.retentionDays),
  idempotencyWindowHours: setting.default(DEFAULT_SETTINGS.idempotencyWindowHours),
  nodesPerShard: setting.default(DEFAULT_SETTINGS.nodesPerShard),
  nodesPerSegment: setting.default(DEFAULT_SETTINGS.nodesPerSegment),
  shards: setting.default(DEFAULT_SETTINGS.shards),
} satisfies Record<keyof SyncSettings, z.ZodType>;

/**
 * Every context key (without the prefix): its rule and its default, which `cdk.json` documents.
 * `region` and `alarmEmail` have none: the region falls back to the CLI's (app.ts), and no address
 * subscribes nobody. Keys it does not know are rejected.
 */
export const CONTEXT_SCHEMA = z.strictObject({
  stackName: text(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'a CloudFormation stack name (a letter, then letters, digits, -)').default('MicrobatchSync'),
  region: text(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'an AWS region such as eu-west-1').optional(),
  ...SETTINGS,
  maxReceiveCount: wholeNumber(1, 1_000).default(DEFAULT_MAX_RECEIVE_COUNT),
  // Lambda's limit is 15 minutes; six times it (the visibility timeout) stays within SQS's 12 hours.
  applierTimeoutSeconds: wholeNumber(1, 900).default(FUNCTIONS.applier.timeoutSeconds),
  applierMaxConcurrency: wholeNumber(2, 1_000).default(10),
  // Above the shard count of a 1,000,000-node fleet (20 at the default nodesPerShard).
  shardMaxConcurrency: wholeNumber(2, 1_000).default(100),
  ingestReservedConcurrency: wholeNumber(1, 1_000, 'none').default(5),
  // At most a day of intervals in a row: checked against intervalSeconds below.
  notConvergedIntervals: wholeNumber(1, 1_440).default(5),
  functionErrorsThreshold: wholeNumber(1, 1_000_000).default(1),
  alarmEmail: text(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'an e-mail address').optional(),
  serviceName: text(/^[A-Za-z0-9_.-]{1,64}$/, '1–64 characters of A-Z a-z 0-9 _ . -').default('microbatch-sync'),
  metricsNamespace: text(/^[A-Za-z0-9_.\-/#:]{1,255}$/, 'a CloudWatch namespace (A-Z a-z 0-9 . - _ / # :)').default('MicrobatchSync'),
  logLevel: oneOf(LOG_LEVELS).default('INFO'),
  logRetentionDays: oneOf(LOG_RETENTION_DAYS).default(RetentionDays.ONE_MONTH),
  removalPolicy: oneOf(['retain', 'destroy'] as const).default('retain'),
});

/** The names of the context keys (without the prefix). */
const CONTEXT_NAMES = CONTEXT_SCHEMA.keyof().options;

/** Raw context values by name: whatever `cdk.json` or `-c` gave (strings from the command line). */
export type RawStackConfig = Readonly<Record<string, unknown>>;

type ParsedContext = z.output<typeof CONTEXT_SCHEMA>;

/** CloudWatch evaluates an alarm over at most one day of periods shorter than an hour. */
const MAX_ALARM_EVALUATION_SECONDS = 86_400;

/** This app's context values by name, from the whole context (CDK's own keys and flags are left out). */
export function appContext(context: Readonly<Record<string, unknown>>): RawStackConfig {
  return Object.fromEntries(
    Object.entries(context)
      .filter(([key]) => key.startsWith(CONTEXT_PREFIX))
      .map(([key, value]) => [key.slice(CONTEXT_PREFIX.length), value]),
  );
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/** The first problem the schema found, as a ConfigError naming its context key. */
function firstConfigError(error: z.ZodError): ConfigError {
  const [issue] = error.issues;
  if (issue?.code === 'unrecognized_keys') {
    return new ConfigError(contextKey(issue.keys[0] ?? ''), `is not a key this app reads (it reads ${CONTEXT_NAMES.join(', ')})`);
  }
  return new ConfigError(contextKey(String(issue?.path[0] ?? '')), issue?.message ?? error.message);
}

/** The shared settings through the domain's own rules (target 'cloud'), with errors renamed to context keys. */
function settingsFrom(context: ParsedContext): Readonly<SyncSettings> {
  const raw = Object.fromEntries(Object.keys(SETTINGS).map((name) => [name, context[name as keyof SyncSettings]]));
  try {
    return validateSettings(raw, 'cloud');
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(contextKey(error.field), error.reason);
    throw error;
  }
}

/**
 * Validates raw context values and returns the frozen configuration. An absent value (`undefined`,
 * `null` or empty text) takes the key's default.
 * @throws ConfigError naming the first bad context key, e.g. `microbatch-sync:intervalSeconds: must be …`.
 */
export function loadStackConfig(raw: RawStackConfig, defaults: { readonly region: string }): StackConfig {
  const parsed = CONTEXT_SCHEMA.safeParse(Object.fromEntries(Object.entries(raw).filter(([, value]) => !isAbsent(value))));
  if (!parsed.success) throw firstConfigError(parsed.error);
  const context = parsed.data;
  const settings = settingsFrom(context);
  if (context.notConvergedIntervals * settings.intervalSeconds > MAX_ALARM_EVALUATION_SECONDS) {
    throw new ConfigError(
      contextKey('notConvergedIntervals'),
      `times intervalSeconds must be at most one day, CloudWatch's longest evaluation (got ${context.notConvergedIntervals} × ${settings.intervalSeconds} s)`,
    );
  }
  if (settings.shards > context.shardMaxConcurrency) {
    // More shards than may run at once would run a tick in waves: the last wave may miss t / 2.
    throw new ConfigError(
      contextKey('shards'),
      `must be at most shardMaxConcurrency (${context.shardMaxConcurrency}), or a tick's shards run in waves (got ${settings.shards})`,
    );
  }
  const config: StackConfig = {
    stackName: context.stackName,
    region: context.region ?? defaults.region,
    settings,
    maxReceiveCount: context.maxReceiveCount,
    applier: { timeoutSeconds: context.applierTimeoutSeconds, maxConcurrency: context.applierMaxConcurrency },
    shardMaxConcurrency: context.shardMaxConcurrency,
    ingest: { reservedConcurrency: context.ingestReservedConcurrency === 'none' ? undefined : context.ingestReservedConcurrency },
    alarms: { notConvergedIntervals: context.notConvergedIntervals, functionErrors: context.functionErrorsThreshold, email: context.alarmEmail },
    observability: {
      serviceName: context.serviceName,
      metricsNamespace: context.metricsNamespace,
      logLevel: context.logLevel,
      logRetention: context.logRetentionDays,
    },
    removalPolicy: context.removalPolicy,
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
