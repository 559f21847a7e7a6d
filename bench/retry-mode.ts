/**
 * Measures the AWS SDK's 'standard' against its 'adaptive' retry mode, for the DynamoDB and the SQS
 * client as shared/clients.ts builds them (same maxAttempts, same socket pool), in one run:
 *
 *   a. single  — N sequential small calls on a fresh client whose first request is throttled once;
 *   b. burst   — B concurrent calls each throttled once, then N sequential calls;
 *   c. steady  — calls started at a fixed rate for some seconds, each request throttled with chance p.
 *
 * DynamoDB Local and the SQS emulator run through local/emulators.ts; local/fault-proxy.ts sits in
 * front of each and answers a throttled request itself (ProvisionedThroughputExceededException,
 * ThrottlingException). Each scenario starts on a new client, as a new Lambda container would: the
 * adaptive rate limiter lives in the client. Latency is counted from a call's (scheduled) start.
 *
 *   npm run bench                  # progress on stderr, a table on stdout
 *   npm run bench -- --json        # the same numbers as JSON on stdout
 *
 * Exit codes: 0 measured, 1 the run failed, 2 a bad option, 3 no Java for DynamoDB Local.
 */
import { PutItemCommand, GetItemCommand, waitUntilTableExists, CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import Table from 'cli-table3';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDynamoClient, createSqsClient, MAX_ATTEMPTS, type RetryMode } from '#shared/clients.ts';
import { createTableInput, TABLES } from '#infra/definitions.ts';
import { describeError, EXIT, isEntryPoint, runProcess } from '#local/entry-point.ts';
import { localDynamoClient, localSqsClient, startEmulators, type Emulators, useEmulatorCredentials } from '#local/emulators.ts';
import { EnvironmentError } from '#local/errors.ts';
import { startFaultProxy, type FaultProxy } from '#local/fault-proxy.ts';
import { streamOf } from '#local/random.ts';
import { ratios, summarize, type CallResult, type Summary } from './stats.ts';

const MODES: readonly RetryMode[] = ['standard', 'adaptive'];
const SCENARIOS = ['single', 'burst', 'steady'] as const;
type Scenario = (typeof SCENARIOS)[number];

export interface BenchOptions {
  /** N: sequential calls in scenarios a and b. */
  readonly calls: number;
  /** B: concurrent calls throttled at once in scenario b. */
  readonly burst: number;
  /** Calls started per second in scenario c. */
  readonly rate: number;
  readonly seconds: number;
  /** p: the chance that any request of scenario c is throttled. */
  readonly chance: number;
  readonly seed: number;
  readonly json: boolean;
}

/** One client kind behind its fault proxy. */
interface Target {
  readonly name: 'DynamoDB' | 'SQS';
  readonly proxy: FaultProxy;
  /** A new client in `mode` and its one small call. */
  connect(mode: RetryMode): { readonly call: () => Promise<void>; readonly destroy: () => void };
}

export interface Measurement {
  readonly client: Target['name'];
  readonly scenario: Scenario;
  readonly standard: Summary;
  readonly adaptive: Summary;
  /** adaptive / standard. */
  readonly ratio: ReturnType<typeof ratios>;
}

function positive(kind: 'integer' | 'number', max: number) {
  return (value: string): number => {
    const number = Number(value);
    if (!(number > 0 && number <= max) || (kind === 'integer' && !Number.isInteger(number))) throw new InvalidArgumentError(`must be a positive ${kind} up to ${max}`);
    return number;
  };
}

function chance(value: string): number {
  const number = Number(value);
  if (!(number >= 0 && number < 1)) throw new InvalidArgumentError('must be a probability in [0, 1)');
  return number;
}

/** Parses `argv` (without node and the script); @throws CommanderError for bad options or help. */
export function parseArguments(argv: readonly string[]): BenchOptions {
  const command = new Command('bench')
    .description("Compares the SDK's standard and adaptive retry modes under injected throttling")
    .option('--calls <n>', 'N: sequential calls after the throttle (a) and after the burst (b)', positive('integer', 10_000), 40)
    .option('--burst <n>', 'B: concurrent calls throttled at once (b)', positive('integer', 1_000), 10)
    .option('--rate <n>', 'calls started per second (c)', positive('number', 1_000), 20)
    .option('--seconds <n>', 'how long the steady rate lasts (c)', positive('number', 600), 10)
    .option('--chance <p>', 'p: chance that a request is throttled (c)', chance, 0.05)
    .option('--seed <n>', 'seed of the throttle decisions (c)', positive('integer', 2 ** 31), 1)
    .option('--json', 'print the measurements as JSON on stdout')
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => {
        write(text);
      },
    });
  command.parse([...argv], { from: 'user' });
  const raw = command.opts<Omit<BenchOptions, 'json'> & { json?: boolean }>();
  return { ...raw, json: raw.json === true };
}

async function timed(call: () => Promise<void>, startedAt = performance.now()): Promise<CallResult> {
  try {
    await call();
    return { ms: performance.now() - startedAt, failed: false };
  } catch {
    return { ms: performance.now() - startedAt, failed: true };
  }
}

async function sequential(call: () => Promise<void>, count: number): Promise<CallResult[]> {
  const results: CallResult[] = [];
  for (let index = 0; index < count; index += 1) results.push(await timed(call));
  return results;
}

/** Runs one scenario on a fresh client: a few unthrottled calls open its connection first. */
async function scenario(target: Target, mode: RetryMode, kind: Scenario, options: BenchOptions): Promise<Summary> {
  const client = target.connect(mode);
  try {
    await sequential(client.call, 3);
    const start = performance.now();
    let results: CallResult[];
    if (kind === 'single') {
      target.proxy.throttleNext(1);
      results = await sequential(client.call, options.calls);
    } else if (kind === 'burst') {
      for (let index = 0; index < options.burst; index += 1) target.proxy.throttleNext(1);
      const burst = await Promise.all(Array.from({ length: options.burst }, () => timed(client.call)));
      results = [...burst, ...(await sequential(client.call, options.calls))];
    } else {
      // The same decisions for both modes: the seed names the client, not the mode.
      target.proxy.throttleWithChance(options.chance, streamOf(options.seed, target.name));
      const pending: Promise<CallResult>[] = [];
      const total = Math.round(options.rate * options.seconds);
      for (let index = 0; index < total; index += 1) {
        const due = start + (index * 1000) / options.rate;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        pending.push(timed(client.call, due));
      }
      results = await Promise.all(pending);
      target.proxy.throttleWithChance(0, Math.random);
    }
    return summarize(results, performance.now() - start);
  } finally {
    client.destroy();
  }
}

/** The DynamoDB and SQS targets: a table with one small item and a standard queue, behind proxies. */
async function targets(emulators: Emulators): Promise<{ readonly list: readonly Target[]; stop(): Promise<void> }> {
  const suffix = randomBytes(4).toString('hex');
  const admin = { dynamodb: localDynamoClient(emulators.endpoints.dynamodb), sqs: localSqsClient(emulators.endpoints.sqs) };
  const tableName = `bench-${suffix}`;
  await admin.dynamodb.send(new CreateTableCommand(createTableInput(TABLES.nodes, tableName)));
  await waitUntilTableExists({ client: admin.dynamodb, maxWaitTime: 30, minDelay: 1 }, { TableName: tableName });
  const key = { nodeId: { S: 'n-1' } };
  await admin.dynamodb.send(new PutItemCommand({ TableName: tableName, Item: { ...key, rate: { N: '50' }, status: { S: 'active' } } }));
  const { QueueUrl: queueUrl } = await admin.sqs.send(new CreateQueueCommand({ QueueName: `bench-${suffix}` }));
  if (queueUrl === undefined) throw new Error('CreateQueue returned no URL');
  admin.dynamodb.destroy();
  admin.sqs.destroy();

  const [dynamoProxy, sqsProxy] = await Promise.all([
    startFaultProxy({ target: emulators.endpoints.dynamodb, service: 'dynamodb' }),
    startFaultProxy({ target: emulators.endpoints.sqs, service: 'sqs' }),
  ]);
  const list: Target[] = [
    {
      name: 'DynamoDB',
      proxy: dynamoProxy,
      connect: (retryMode) => {
        const client = createDynamoClient({ endpoint: dynamoProxy.endpoint, retryMode });
        const command = new GetItemCommand({ TableName: tableName, Key: key });
        return {
          call: async () => {
            await client.send(command);
          },
          destroy: () => {
            client.destroy();
          },
        };
      },
    },
    {
      name: 'SQS',
      proxy: sqsProxy,
      connect: (retryMode) => {
        const client = createSqsClient({ endpoint: sqsProxy.endpoint, retryMode });
        return {
          call: async () => {
            await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"v":2}' }));
          },
          destroy: () => {
            client.destroy();
          },
        };
      },
    },
  ];
  return { list, stop: async () => Promise.all([dynamoProxy.stop(), sqsProxy.stop()]).then(() => undefined) };
}

/** Every scenario for every client, standard and adaptive back to back; on `running` emulators, or its own. */
export async function measure(options: BenchOptions, say: (line: string) => void, running?: Emulators): Promise<Measurement[]> {
  if (running === undefined) say('starting DynamoDB Local and the SQS emulator…');
  const emulators = running ?? (await startEmulators());
  const stopOwn = async (): Promise<void> => {
    if (running === undefined) await emulators.stop();
  };
  const set = await targets(emulators).catch(async (error: unknown) => {
    await stopOwn();
    throw error;
  });
  try {
    // Warm the emulators (and the JIT of DynamoDB Local) before anything is timed.
    for (const target of set.list) {
      const client = target.connect('standard');
      await sequential(client.call, 200);
      client.destroy();
    }
    const measurements: Measurement[] = [];
    for (const target of set.list) {
      for (const kind of SCENARIOS) {
        const summaries = {} as Record<RetryMode, Summary>;
        for (const mode of MODES) {
          const began = performance.now();
          summaries[mode] = await scenario(target, mode, kind, options);
          say(`${target.name} ${scenarioText(kind, options)} — ${mode}: ${seconds(summaries[mode].wallMs)} (measured in ${seconds(performance.now() - began)})`);
        }
        measurements.push({ client: target.name, scenario: kind, ...summaries, ratio: ratios(summaries.adaptive, summaries.standard) });
      }
    }
    return measurements;
  } finally {
    await set.stop();
    await stopOwn();
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** What each scenario did, in the run's numbers. */
function scenarioText(kind: Scenario, options: BenchOptions): string {
  if (kind === 'single') return `a. 1 throttle, then ${options.calls} calls`;
  if (kind === 'burst') return `b. ${options.burst} throttled at once, then ${options.calls}`;
  return `c. ${options.rate}/s for ${options.seconds} s, p = ${options.chance}`;
}

/** The measurements as a table a person reads: one row per client, scenario and mode. */
export function table(measurements: readonly Measurement[], options: BenchOptions): string {
  const rows = new Table({
    head: ['client', 'scenario', 'mode', 'wall', 'p50', 'p99', 'failed', 'adaptive ÷ standard (wall, p50, p99)'],
    colAligns: ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'left'],
    style: { head: [], border: [], compact: true },
  });
  const ms = (value: number): string => `${value.toFixed(1)} ms`;
  for (const measurement of measurements) {
    for (const mode of MODES) {
      const summary = measurement[mode];
      const { ratio } = measurement;
      rows.push([
        measurement.client,
        scenarioText(measurement.scenario, options),
        mode,
        seconds(summary.wallMs),
        ms(summary.p50Ms),
        ms(summary.p99Ms),
        `${summary.failed}/${summary.calls}`,
        mode === 'adaptive' ? `×${ratio.wall}, ×${ratio.p50}, ×${ratio.p99}` : '',
      ]);
    }
  }
  return `${rows.toString()}\nmaxAttempts ${MAX_ATTEMPTS} in both modes; steady-rate throttles seeded with ${options.seed}; Node ${process.version}\n`;
}

export async function main(argv: readonly string[]): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseArguments(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    throw error;
  }
  // The clients read region and credentials from the environment, as in Lambda; here they reach
  // only the emulators, which accept any.
  useEmulatorCredentials();
  const say = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  try {
    const measurements = await measure(options, say);
    process.stdout.write(options.json ? `${JSON.stringify({ maxAttempts: MAX_ATTEMPTS, options, measurements }, null, 2)}\n` : table(measurements, options));
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof EnvironmentError)) throw error;
    process.stderr.write(`error: ${error.message}\n`);
    return EXIT.environment;
  }
}

if (isEntryPoint(import.meta.url)) {
  await runProcess(main, (error) => ({ code: EXIT.failed, message: `the benchmark failed: ${describeError(error)}` }));
}
