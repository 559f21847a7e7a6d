import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { METRIC } from '#shared/metrics.ts';
import { functionEnv, stubEnv } from '#test/support/lambda.ts';

/** Each handler, imported afresh: a cold start reads the configuration again. */
const HANDLERS = {
  planner: () => import('#functions/planner/handler.ts'),
  'planner shard': () => import('#functions/planner-shard/handler.ts'),
  applier: () => import('#functions/applier/handler.ts'),
  checker: () => import('#functions/checker/handler.ts'),
  'checker shard': () => import('#functions/checker-shard/handler.ts'),
  ingest: () => import('#functions/ingest/handler.ts'),
} as const;
const NAMES = Object.keys(HANDLERS) as (keyof typeof HANDLERS)[];

/**
 * Imports a handler afresh and returns the error its cold start failed with. Module instances differ
 * after a reset, so the error is told by its name rather than by `instanceof`.
 */
async function coldStartFailure(name: keyof typeof HANDLERS): Promise<{ name: string; field?: unknown; reason?: unknown; message: string }> {
  try {
    await HANDLERS[name]();
  } catch (error) {
    if (error instanceof Error) return error;
    throw error;
  }
  throw new Error(`the ${name} started`);
}

describe('handler configuration at cold start', () => {
  beforeEach(() => {
    vi.resetModules();
    stubEnv(functionEnv());
  });

  // A variable a test adds beyond functionEnv() must not reach the next test.
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it.each(NAMES)('the %s fails naming BATCH_SIZE when it is missing', async (name) => {
    // Prepare
    stubEnv({ BATCH_SIZE: undefined });

    // Act
    const failure = await coldStartFailure(name);

    // Assess
    expect(failure).toMatchObject({ name: 'ConfigError', field: 'BATCH_SIZE' });
    expect(failure.message).toMatch(/^BATCH_SIZE: is required/);
  });

  it.each(NAMES)('the %s fails naming INTERVAL_SECONDS when it is 30 in the cloud', async (name) => {
    // Prepare
    stubEnv({ DEPLOYMENT_TARGET: 'cloud', INTERVAL_SECONDS: '30' });

    // Act
    const failure = await coldStartFailure(name);

    // Assess
    expect(failure).toMatchObject({ name: 'ConfigError', field: 'INTERVAL_SECONDS' });
    expect(failure.message).toMatch(/^INTERVAL_SECONDS: must be a whole number of minutes, at least 60/);
  });

  it.each(NAMES)('the %s accepts INTERVAL_SECONDS=1 when deployed locally', async (name) => {
    // Prepare
    stubEnv({ DEPLOYMENT_TARGET: 'local', INTERVAL_SECONDS: '1' });

    // Act
    const module = await HANDLERS[name]();

    // Assess
    expect(module.handler).toBeTypeOf('function');
  });

  it('fails naming BATCH_SIZE when it is not a whole number', async () => {
    // Prepare
    stubEnv({ BATCH_SIZE: '2.5' });

    // Act
    const failure = await coldStartFailure('applier');

    // Assess
    expect(failure).toMatchObject({ name: 'ConfigError', field: 'BATCH_SIZE' });
    expect(failure.message).toMatch(/^BATCH_SIZE: must be a whole number/);
  });

  it('fails naming REPORT_TOP_N when the checker would name more than 100 nodes per list', async () => {
    // Prepare
    stubEnv({ REPORT_TOP_N: '1000' });

    // Act
    const failure = await coldStartFailure('checker');

    // Assess
    expect(failure).toMatchObject({ name: 'ConfigError', field: 'REPORT_TOP_N', reason: 'must be between 1 and 100 (got 1000)' });
    expect(failure.message).toBe('REPORT_TOP_N: must be between 1 and 100 (got 1000)');
  });

  it('fails naming DEPLOYMENT_TARGET when it is neither cloud nor local', async () => {
    // Prepare
    stubEnv({ DEPLOYMENT_TARGET: 'staging' });

    // Act
    const failure = await coldStartFailure('planner');

    // Assess
    expect(failure).toMatchObject({ name: 'ConfigError', field: 'DEPLOYMENT_TARGET' });
  });

  it.each([
    ['planner', 'PLAN_TASK_QUEUE_URL'],
    ['planner shard', 'PLANS_TABLE_NAME'],
    ['planner shard', 'QUEUE_URL'],
    ['applier', 'REPLICA_TABLE_NAME'],
    ['checker', 'CHECK_TASK_QUEUE_URL'],
    ['checker shard', 'CONVERGENCE_TABLE_NAME'],
    ['ingest', 'INGEST_REQUESTS_TABLE_NAME'],
  ] as const)('the %s fails naming %s when it is not set', async (name, variable) => {
    // Prepare
    stubEnv({ [variable]: '' });

    // Act
    const failure = await coldStartFailure(name);

    // Assess
    expect(failure).toMatchObject({ name: 'ConfigError', field: variable });
    expect(failure.message).toMatch(new RegExp(`^${variable}: is required`));
  });

  it.each(NAMES)('the %s tags its metrics with the stream STREAM_NAME names', async (name) => {
    // Prepare
    stubEnv({ STREAM_NAME: 'orders', POWERTOOLS_METRICS_NAMESPACE: 'MicrobatchSync' });
    await HANDLERS[name]();
    const { metrics } = await import('#shared/observability.ts');

    // Act
    metrics.addMetric(METRIC.Converged, 'Count', 1);
    const emitted = metrics.serializeMetrics();
    metrics.clearMetrics();

    // Assess
    expect(emitted).toMatchObject({ stream: 'orders', _aws: { CloudWatchMetrics: [{ Dimensions: [expect.arrayContaining(['stream'])] }] } });
  });

  it('fails naming STREAM_NAME when it is not a stream name, before a metric could carry it', async () => {
    // Prepare
    stubEnv({ STREAM_NAME: 'a stream' });

    // Act
    const failure = await coldStartFailure('planner');

    // Assess
    expect(failure).toMatchObject({ name: 'ConfigError', field: 'STREAM_NAME' });
  });

  it.each([
    ['planner', ['REPLICA_TABLE_NAME', 'INGEST_REQUESTS_TABLE_NAME', 'PLANS_TABLE_NAME', 'QUEUE_URL', 'CHECK_TASK_QUEUE_URL']],
    ['planner shard', ['REPLICA_TABLE_NAME', 'LOG_TABLE_NAME', 'CHECK_TASK_QUEUE_URL']],
    ['checker', ['REPLICA_TABLE_NAME', 'PLANS_TABLE_NAME', 'QUEUE_URL', 'PLAN_TASK_QUEUE_URL']],
    ['checker shard', ['REPLICA_TABLE_NAME', 'PLANS_TABLE_NAME', 'QUEUE_URL', 'PLAN_TASK_QUEUE_URL', 'CHECK_TASK_QUEUE_URL']],
  ] as const)('asks a function only for the resources it uses: the %s starts without %j', async (name, unused) => {
    // Prepare
    stubEnv(Object.fromEntries(unused.map((variable) => [variable, undefined])));

    // Act
    const module = await HANDLERS[name]();

    // Assess
    expect(module.handler).toBeTypeOf('function');
  });
});
