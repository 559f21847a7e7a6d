/**
 * The stack configuration: defaults, values as the command line gives them (strings), and bad
 * values that must fail synth with a message naming the context key.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CURRENTLY_RECOMMENDED_FLAGS, FLAGS } from 'aws-cdk-lib/cx-api';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '#shared/domain/config.ts';
import { ConfigError } from '#shared/domain/errors.ts';
import { createApp } from '#infra/app.ts';
import { CONTEXT_PREFIX, CONTEXT_SCHEMA, loadStackConfig, type RawStackConfig } from '#infra/config.ts';
import { cdkJsonContext, PROJECT_ROOT, withPrefix } from './support.ts';

const load = (raw: RawStackConfig = {}, region = 'us-east-1'): ReturnType<typeof loadStackConfig> => loadStackConfig(raw, { region });

describe('loadStackConfig', () => {
  it('applies the documented defaults when no context is given', () => {
    expect(load()).toEqual({
      stackName: 'MicrobatchSync',
      region: 'us-east-1',
      settings: { intervalSeconds: 60, batchSize: 100, ...DEFAULT_SETTINGS },
      maxReceiveCount: 5,
      applier: { timeoutSeconds: 60, maxConcurrency: 10 },
      shardMaxConcurrency: 100,
      ingest: { reservedConcurrency: 5 },
      alarms: { notConvergedIntervals: 5, functionErrors: 1, email: undefined },
      observability: { serviceName: 'microbatch-sync', metricsNamespace: 'MicrobatchSync', logLevel: 'INFO', logRetention: 30 },
      removalPolicy: 'retain',
    });
  });

  it('reads numbers given as strings, the way `-c key=value` passes them', () => {
    const config = load({ intervalSeconds: '300', batchSize: '250', applierMaxConcurrency: '50', logRetentionDays: '7', removalPolicy: 'destroy' });
    expect(config.settings.intervalSeconds).toBe(300);
    expect(config.settings.batchSize).toBe(250);
    expect(config.applier.maxConcurrency).toBe(50);
    expect(config.observability.logRetention).toBe(7);
    expect(config.removalPolicy).toBe('destroy');
  });

  it('takes the region from context over the default it is given', () => {
    expect(load({}, 'eu-west-1').region).toBe('eu-west-1');
    expect(load({ region: 'ap-southeast-2' }, 'eu-west-1').region).toBe('ap-southeast-2');
  });

  it('defaults the sharding settings: 50,000 nodes a shard, 2,000 a Scan segment, shards from the fleet size, 100 shard invocations at once', () => {
    const config = load();
    expect(config.settings).toMatchObject({ nodesPerShard: 50_000, nodesPerSegment: 2_000, shards: 0 });
    expect(config.shardMaxConcurrency).toBe(100);
  });

  it('reads the sharding settings as the command line gives them, at the ends of their ranges', () => {
    const low = load({ shardMaxConcurrency: '2', nodesPerShard: '1', nodesPerSegment: '1', shards: '0' });
    expect([low.shardMaxConcurrency, low.settings.nodesPerShard, low.settings.nodesPerSegment, low.settings.shards]).toEqual([2, 1, 1, 0]);
    const high = load({ shardMaxConcurrency: 1_000, nodesPerShard: 10_000_000, nodesPerSegment: 20_000, shards: 1_000 });
    expect([high.shardMaxConcurrency, high.settings.nodesPerShard, high.settings.nodesPerSegment, high.settings.shards]).toEqual([1_000, 10_000_000, 20_000, 1_000]);
  });

  it("reserves no ingest concurrency when told 'none'", () => {
    expect(load({ ingestReservedConcurrency: 'none' }).ingest.reservedConcurrency).toBeUndefined();
  });

  it('keeps an alarm e-mail address', () => {
    expect(load({ alarmEmail: 'ops@example.com' }).alarms.email).toBe('ops@example.com');
  });

  it('freezes the configuration, nested objects included', () => {
    const config = load();
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.applier)).toBe(true);
    expect(Object.isFrozen(config.settings)).toBe(true);
  });

  it.each<[string, RawStackConfig, RegExp]>([
    ['an interval that is not whole minutes', { intervalSeconds: 90 }, /^microbatch-sync:intervalSeconds: must be a whole number of minutes/],
    ['an interval under a minute', { intervalSeconds: 30 }, /^microbatch-sync:intervalSeconds: /],
    ['an interval that is not a number', { intervalSeconds: 'soon' }, /^microbatch-sync:intervalSeconds: must be a whole number/],
    ['a batch size of 0', { batchSize: 0 }, /^microbatch-sync:batchSize: must be between 1 and/],
    ['a fractional batch size', { batchSize: '2.5' }, /^microbatch-sync:batchSize: must be a whole number/],
    ['a bad stream name', { stream: 'a stream' }, /^microbatch-sync:stream: /],
    ['a stale-after of 0', { staleAfterIntervals: 0 }, /^microbatch-sync:staleAfterIntervals: /],
    ['an unknown removal policy', { removalPolicy: 'maybe' }, /^microbatch-sync:removalPolicy: must be one of retain, destroy \(got "maybe"\)/],
    ['a maxReceiveCount of 0', { maxReceiveCount: 0 }, /^microbatch-sync:maxReceiveCount: /],
    ['an applier timeout over 15 minutes', { applierTimeoutSeconds: 901 }, /^microbatch-sync:applierTimeoutSeconds: /],
    ['an event-source concurrency below 2', { applierMaxConcurrency: 1 }, /^microbatch-sync:applierMaxConcurrency: must be between 2 and 1000/],
    ['a shard concurrency below 2', { shardMaxConcurrency: 1 }, /^microbatch-sync:shardMaxConcurrency: must be between 2 and 1000 \(got 1\)/],
    ['a shard concurrency above 1000', { shardMaxConcurrency: '1001' }, /^microbatch-sync:shardMaxConcurrency: must be between 2 and 1000 \(got 1001\)/],
    ['a shard concurrency that is not a number', { shardMaxConcurrency: 'many' }, /^microbatch-sync:shardMaxConcurrency: must be a whole number/],
    ['no nodes per shard', { nodesPerShard: 0 }, /^microbatch-sync:nodesPerShard: must be between 1 and 10000000 \(got 0\)/],
    ['a fractional nodes per shard', { nodesPerShard: '2.5' }, /^microbatch-sync:nodesPerShard: must be a whole number/],
    ['no nodes per segment', { nodesPerSegment: 0 }, /^microbatch-sync:nodesPerSegment: must be between 1 and 20000 \(got 0\)/],
    ['a segment whose plan record would outgrow one item', { nodesPerSegment: 20_001 }, /^microbatch-sync:nodesPerSegment: must be between 1 and 20000 \(got 20001\)/],
    ['a negative shard count', { shards: -1 }, /^microbatch-sync:shards: must be between 0 and 1000 \(got -1\)/],
    ['a shard count above 1000', { shards: '1001' }, /^microbatch-sync:shards: must be between 0 and 1000 \(got 1001\)/],
    ['a reserved concurrency of 0', { ingestReservedConcurrency: 0 }, /^microbatch-sync:ingestReservedConcurrency: /],
    ['a log retention CloudWatch does not offer', { logRetentionDays: 10 }, /^microbatch-sync:logRetentionDays: must be one of 1, 3, 5/],
    ['an unknown log level', { logLevel: 'LOUD' }, /^microbatch-sync:logLevel: /],
    ['an address that is not one', { alarmEmail: 'ops' }, /^microbatch-sync:alarmEmail: must be an e-mail address/],
    ['more fixed shards than may run at once', { shards: 101 }, /^microbatch-sync:shards: must be at most shardMaxConcurrency \(100\), or a tick's shards run in waves \(got 101\)/],
    ['an alarm window longer than a day', { intervalSeconds: 3600, notConvergedIntervals: 25 }, /^microbatch-sync:notConvergedIntervals: .*one day/],
    ['a region that is not one', { region: 'moon' }, /^microbatch-sync:region: /],
    ['a stack name CloudFormation refuses', { stackName: '1-stack' }, /^microbatch-sync:stackName: /],
    ['a key the app does not read (a typo)', { intervalSecond: 120 }, /^microbatch-sync:intervalSecond: is not a key this app reads \(it reads stackName, region, stream, /],
  ])('rejects %s, naming the context key', (_, raw, message) => {
    expect(() => load(raw)).toThrow(ConfigError);
    expect(() => load(raw)).toThrow(message);
  });
});

describe('cdk.json', () => {
  const context = cdkJsonContext();

  it("documents every key's default as a context value (region and alarmEmail have none)", () => {
    const documented = Object.fromEntries(Object.entries(context).filter(([key]) => key.startsWith(CONTEXT_PREFIX)));
    const defaults = Object.entries(CONTEXT_SCHEMA.parse({}));
    expect(documented).toEqual(Object.fromEntries(defaults.map(([name, value]) => [`${CONTEXT_PREFIX}${name}`, value])));
    expect(Object.keys(CONTEXT_SCHEMA.shape).filter((name) => !(`${CONTEXT_PREFIX}${name}` in documented))).toEqual(['region', 'alarmEmail']);
  });

  it('gives the same configuration as no context at all: every documented default passes its own rule', () => {
    const documented = Object.fromEntries(Object.entries(context).filter(([key]) => key.startsWith(CONTEXT_PREFIX)).map(([key, value]) => [key.slice(CONTEXT_PREFIX.length), value]));
    expect(load(documented)).toEqual(load());
  });

  it('carries the feature flags aws-cdk-lib recommends, so synth does not warn', () => {
    for (const [flag, value] of Object.entries(CURRENTLY_RECOMMENDED_FLAGS)) expect(context[flag], flag).toEqual(value);
    for (const key of Object.keys(context).filter((key) => key.startsWith('@aws-cdk'))) expect(FLAGS[key], key).toBeDefined();
  });

  it('keeps synth offline: no telemetry, and the app runs through tsx', () => {
    const cdkJson = JSON.parse(readFileSync(new URL('cdk.json', PROJECT_ROOT), 'utf8')) as Record<string, unknown>;
    expect(cdkJson).toMatchObject({ app: 'node --import tsx infra/app.ts', notices: false, context: { 'cli-telemetry': false } });
  });
});

describe('the app', () => {
  it('fails to build with the context key in the error', () => {
    expect(() => createApp({ context: withPrefix({ intervalSeconds: 90 }) }, {})).toThrow(/microbatch-sync:intervalSeconds/);
    expect(() => createApp({ context: withPrefix({ batchSize: 0 }) }, {})).toThrow(/microbatch-sync:batchSize/);
    expect(() => createApp({ context: withPrefix({ shardMaxConcurrency: 1 }) }, {})).toThrow(/^microbatch-sync:shardMaxConcurrency: /);
    expect(() => createApp({ context: withPrefix({ nodesPerSegment: 'lots' }) }, {})).toThrow(/^microbatch-sync:nodesPerSegment: /);
  });

  it("rejects a misspelt key of its own, but not CDK's keys and flags", () => {
    expect(() => createApp({ context: { ...withPrefix({ batchSise: 200 }), 'aws:cdk:bundling-stacks': [] } }, {})).toThrow(/^microbatch-sync:batchSise: is not a key/);
    expect(() => createApp({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } }, {})).not.toThrow();
  });

  it("deploys to the CLI's region, or us-east-1 when there is none", () => {
    expect(createApp({ context: { 'aws:cdk:bundling-stacks': [] } }, { CDK_DEFAULT_REGION: 'eu-central-1' }).stack.region).toBe('eu-central-1');
    expect(createApp({ context: { 'aws:cdk:bundling-stacks': [] } }, {}).stack.region).toBe('us-east-1');
  });

  it('exits 1 with a one-line message when the CLI passes a bad value', async () => {
    const run = promisify(execFile);
    const error = (await run(process.execPath, ['--import', 'tsx', 'infra/app.ts'], {
      cwd: fileURLToPath(PROJECT_ROOT),
      // How the CDK CLI hands context to the app.
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(withPrefix({ removalPolicy: 'maybe' })), CDK_OUTDIR: '/nonexistent' },
    }).then(
      () => undefined,
      (failure: unknown) => failure,
    )) as { code: number; stderr: string } | undefined;
    expect(error?.code).toBe(1);
    expect(error?.stderr).toBe('Invalid configuration: microbatch-sync:removalPolicy: must be one of retain, destroy (got "maybe")\n');
  });
});
