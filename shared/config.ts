/**
 * Loads a function's configuration from its environment once, at cold start (STYLE §4): validated,
 * frozen, and a missing or bad value fails naming the variable. No silent defaults for resources.
 */
import { validateSettings, type DeploymentTarget, type SyncSettings } from '#shared/domain/config.ts';
import { ConfigError } from '#shared/domain/errors.ts';

type Env = Readonly<Record<string, string | undefined>>;

/** Environment variable → setting. The CDK stack and the local runtime set these. */
export const SETTINGS_ENV: Readonly<Record<keyof SyncSettings, string>> = {
  stream: 'STREAM_NAME',
  intervalSeconds: 'INTERVAL_SECONDS',
  batchSize: 'BATCH_SIZE',
  maxInFlightIntervals: 'MAX_IN_FLIGHT_INTERVALS',
  staleAfterIntervals: 'STALE_AFTER_INTERVALS',
  openIntervals: 'OPEN_INTERVALS',
  reportTopN: 'REPORT_TOP_N',
  retentionDays: 'RETENTION_DAYS',
  idempotencyWindowHours: 'IDEMPOTENCY_WINDOW_HOURS',
  nodesPerShard: 'NODES_PER_SHARD',
  nodesPerSegment: 'NODES_PER_SEGMENT',
  shards: 'SHARDS',
};

/** Resource names each function may need; a function asks only for its own. */
export const RESOURCE_ENV = {
  logTable: 'LOG_TABLE_NAME',
  nodesTable: 'NODES_TABLE_NAME',
  replicaTable: 'REPLICA_TABLE_NAME',
  convergenceTable: 'CONVERGENCE_TABLE_NAME',
  ingestRequestsTable: 'INGEST_REQUESTS_TABLE_NAME',
  plansTable: 'PLANS_TABLE_NAME',
  queueUrl: 'QUEUE_URL',
  planTaskQueueUrl: 'PLAN_TASK_QUEUE_URL',
  checkTaskQueueUrl: 'CHECK_TASK_QUEUE_URL',
} as const;
export type Resource = keyof typeof RESOURCE_ENV;

export function requireEnv(name: string, env: Env = process.env): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') throw new ConfigError(name, 'is required but not set');
  return value;
}

function isDeploymentTarget(value: string): value is DeploymentTarget {
  return value === 'cloud' || value === 'local';
}

/**
 * The shared settings; a ConfigError names the environment variable, not the internal field. The
 * defaults are explicit: DEPLOYMENT_TARGET `cloud`, and DEFAULT_SETTINGS (shared/domain/config.ts)
 * for each setting that has one; INTERVAL_SECONDS and BATCH_SIZE have none.
 */
export function loadSettings(env: Env = process.env): Readonly<SyncSettings> {
  const target = env.DEPLOYMENT_TARGET ?? 'cloud';
  if (!isDeploymentTarget(target)) {
    throw new ConfigError('DEPLOYMENT_TARGET', `must be 'cloud' or 'local' (got ${JSON.stringify(target)})`);
  }
  const raw = Object.fromEntries(
    Object.entries(SETTINGS_ENV).map(([field, name]) => [field, env[name]]),
  ) as Record<keyof SyncSettings, string | undefined>;
  try {
    return validateSettings(raw, target);
  } catch (error) {
    if (error instanceof ConfigError) {
      const name = SETTINGS_ENV[error.field as keyof SyncSettings];
      throw new ConfigError(name, error.reason);
    }
    throw error;
  }
}

/** The named resources, each required. */
export function loadResources<R extends Resource>(resources: readonly R[], env: Env = process.env): Readonly<Record<R, string>> {
  return Object.freeze(Object.fromEntries(resources.map((resource) => [resource, requireEnv(RESOURCE_ENV[resource], env)])) as Record<R, string>);
}

/** Endpoint overrides for local emulators (AWS_ENDPOINT_URL_* as the SDK names them); absent in the cloud. */
export function loadEndpoints(env: Env = process.env): { readonly dynamodb?: string; readonly sqs?: string } {
  const dynamodb = env.AWS_ENDPOINT_URL_DYNAMODB;
  const sqs = env.AWS_ENDPOINT_URL_SQS;
  return { ...(dynamodb ? { dynamodb } : {}), ...(sqs ? { sqs } : {}) };
}
