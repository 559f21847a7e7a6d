/**
 * `microbatch up`: the whole system locally in real time. The emulators (started, or reused), one
 * set of tables and queues, the state file `--local` reads; then every t seconds, on the interval
 * boundary as EventBridge Scheduler fires `rate(t)`, the checker and the planner handlers on a
 * Scheduler-shaped event, while the applier drains the FIFO queue continuously as Lambda's event
 * source does. Nothing is simulated but the cloud around the handlers.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { DEFAULT_SETTINGS, validateSettings, type SyncSettings } from '#shared/domain/config.ts';
import { ConfigError } from '#shared/domain/errors.ts';
import { parseMicrobatch } from '#shared/domain/microbatch.ts';
import { listActive, type CheckOutcome } from '#shared/domain/ports.ts';
import { CursorObserver } from '#local/cursor-observer.ts';
import { LOCAL_REGION, localDocumentClient, localDynamoClient, localSqsClient, startEmulators, type EmulatorEndpoints, type Emulators } from '#local/emulators.ts';
import { UsageError } from '#local/errors.ts';
import { FifoEventSource, type DrainResult } from '#local/event-source.ts';
import { FAULTS, NO_FAULTS, parseFaults, type FaultSettings } from '#local/faults.ts';
import { functionEnvironment, LambdaHost, type LogLevel } from '#local/lambda-host.ts';
import { below, chance, streamOf } from '#local/random.ts';
import { createResources, type LocalResources } from '#local/resources.ts';
import { LOCAL_NODES_PER_SHARD } from '#local/scenario.ts';
import { ShardedTicks } from '#local/sharded-ticks.ts';
import { noFaults, type FaultCounts, type Tally } from '#local/summary.ts';
import { injectPoison, planMaybeTwice, POISON_MESSAGES } from '#local/tick-faults.ts';
import { DEFAULT_LOCAL_STATE_FILE, localState, type LocalState } from '../deployment.ts';
import { holdUpFiles } from './claims.ts';

/** `up`'s defaults: a 10-second interval to watch, microbatches of 100 (the local runtime's). */
export const UP_DEFAULTS = { intervalSeconds: 10, batchSize: 100 } as const;

export interface UpOptions extends UpSettingOptions {
  /** Where to write the state file; default out/microbatch-local.json. */
  readonly stateFile?: string;
  /**
   * Keep the system's tables in this directory, and resume the ones an earlier `up` left there: the
   * same nodes, log, replicas, plans and verdicts, under the settings of this run (a redeployment
   * with a new t or b). Queues start empty: tokens queued when the last run stopped are lost, and
   * the planner re-sends them once a node's cursor has stood still for staleAfterIntervals.
   */
  readonly dataDir?: string;
  /** Emulators already running (tests); else `up` starts its own and stops them on `stop()`. */
  readonly endpoints?: EmulatorEndpoints;
  /** Handler log level (Powertools); default SILENT. */
  readonly logLevel?: LogLevel;
  /** Told after each tick. */
  readonly onInterval?: (status: UpIntervalStatus) => void;
  /** Told about a tick or an applier invocation that failed; the schedule goes on, as in the cloud. */
  readonly onError?: (error: unknown) => void;
  /** Told what a person should know as the run starts: a stale state file or data directory taken over, the emulators starting. */
  readonly onNote?: (note: string) => void;
  /** Faults to inject, from the catalogue of `npm start` ({@link upFaults}); default none. */
  readonly faults?: FaultSettings;
}

/** What a status line says about one tick. */
export interface UpIntervalStatus {
  /** k, as the interval clock numbers the tick (floor(scheduledTime / t) until t changes). */
  readonly interval: number;
  readonly scheduledTime: string;
  /** H_k, the head the planner planned against. */
  readonly head: number;
  readonly consistentNodes: number;
  readonly activeNodes: number;
  readonly maxLagUpdates: number;
  /** Microbatches the applier applied since the previous tick. */
  readonly microbatchesApplied: number;
  readonly microbatchesPlanned: number;
  /** Planner shards that planned their segments, of the shards the interval was cut into. */
  readonly shardsReported: number;
  readonly shards: number;
  /** The checker's newest judged interval before k, if any. */
  readonly latest?: CheckOutcome['latest'];
  /** The faults `--faults` injected since the previous tick, per kind. */
  readonly faults: Readonly<FaultCounts>;
}

export interface UpRun {
  readonly state: LocalState;
  readonly stateFile: string;
  /** With `dataDir`: the settings of the run whose tables this one resumed (absent: a fresh start). */
  readonly resumed?: UpData['settings'];
  /**
   * Stops the timer, waits for the tick and the applier invocations in flight, stops the emulators it
   * started, removes the state file (unless another `up` has written it since) and gives the data
   * directory back. Safe to call twice.
   */
  stop(): Promise<void>;
}

/** The settings `up` takes from its options. */
export interface UpSettingOptions {
  readonly intervalSeconds?: number | undefined;
  readonly batchSize?: number | undefined;
  /** Nodes per planner or checker shard (default: the local runtime's, LOCAL_NODES_PER_SHARD). */
  readonly nodesPerShard?: number | undefined;
  /** A fixed shard count (default: derived from the fleet). */
  readonly shards?: number | undefined;
}

/** The option each setting comes from, for an error that names it. */
const UP_OPTIONS: Readonly<Record<string, string>> = { intervalSeconds: '--interval', batchSize: '--batch-size', nodesPerShard: '--nodes-per-shard', shards: '--shards' };

/** t, b and the cut as `up` takes them, checked by the settings' one validation; a bad value is a UsageError naming the option. */
export function upSettings(options: UpSettingOptions): Readonly<SyncSettings> {
  try {
    return validateSettings(
      {
        stream: DEFAULT_SETTINGS.stream,
        intervalSeconds: options.intervalSeconds ?? UP_DEFAULTS.intervalSeconds,
        batchSize: options.batchSize ?? UP_DEFAULTS.batchSize,
        nodesPerShard: options.nodesPerShard ?? LOCAL_NODES_PER_SHARD,
        shards: options.shards ?? 0,
      },
      'local',
    );
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const option = UP_OPTIONS[error.field] ?? error.field;
    throw new UsageError(`${option}: ${error.reason}`, { cause: error });
  }
}

/**
 * `--faults` as `up` takes it: the catalogue's syntax and kinds, less those that strike through the
 * fault proxy `npm start` puts in front of DynamoDB Local (throttle), which `up` does not run.
 * @throws UsageError naming a bad or refused kind.
 */
export function upFaults(text: string): FaultSettings {
  const settings = parseFaults(text);
  const refused = FAULTS.filter((fault) => fault.throughProxy && settings[fault.kind] > 0);
  if (refused.length > 0) {
    const injected = FAULTS.filter((fault) => !fault.throughProxy).map(({ flag }) => flag);
    const named = refused.map(({ flag }) => flag).join(' and ');
    throw new UsageError(`--faults: ${named} ${refused.length === 1 ? 'strikes' : 'strike'} through the fault proxy npm start puts in front of DynamoDB Local, which up does not run (up injects ${injected.join(', ')})`);
  }
  return settings;
}

/** The next tick strictly after `nowMs`: Scheduler's `rate(t)` fires on multiples of t. */
export function nextTick(nowMs: number, intervalSeconds: number): Date {
  const periodMs = intervalSeconds * 1000;
  return new Date((Math.floor(nowMs / periodMs) + 1) * periodMs);
}

/** What `up --data-dir` keeps beside the tables, for the next `up` on the same directory. */
export interface UpData {
  readonly version: 1;
  /** The start of every table and queue name. */
  readonly base: string;
  /** t and b of the run that wrote it. */
  readonly settings: { readonly intervalSeconds: number; readonly batchSize: number };
}

const UP_DATA_FILE = 'up.json';

/** The data directory's record of an earlier run; undefined for a new directory. @throws UsageError for a file that is not one. */
export function readUpData(dataDir: string): UpData | undefined {
  const file = join(dataDir, UP_DATA_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as Partial<UpData>;
    if (data.version !== 1 || typeof data.base !== 'string' || typeof data.settings?.intervalSeconds !== 'number' || typeof data.settings.batchSize !== 'number') {
      throw new Error('not a record of microbatch up');
    }
    return data as UpData;
  } catch (error) {
    throw new UsageError(`--data-dir ${dataDir}: ${file} is unreadable (${error instanceof Error ? error.message : String(error)}); remove the directory to start afresh`, { cause: error });
  }
}

/** What a run is made of before its first tick. */
interface Provisioned {
  readonly state: LocalState;
  readonly resources: LocalResources;
  readonly clients: { readonly dynamodb: DynamoDBClient; readonly doc: DynamoDBDocumentClient; readonly sqs: SQSClient };
  readonly emulators: Emulators | undefined;
  readonly earlier: UpData | undefined;
}

/** The emulators (started, or given), the tables and queues, the state file written; what was made is undone if a step fails. */
async function provision(options: UpOptions, settings: Readonly<SyncSettings>, runId: string, writeState: (state: LocalState) => void): Promise<Provisioned> {
  const earlier = options.dataDir === undefined ? undefined : readUpData(options.dataDir);
  if (options.endpoints === undefined) options.onNote?.('starting DynamoDB Local and the SQS emulator …');
  const emulators = options.endpoints === undefined ? await startEmulators(options.dataDir === undefined ? {} : { dataDir: join(options.dataDir, 'dynamodb') }) : undefined;
  const endpoints = options.endpoints ?? emulators?.endpoints;
  if (endpoints === undefined) throw new Error('no emulator endpoints');
  const clients = { dynamodb: localDynamoClient(endpoints.dynamodb), doc: localDocumentClient(endpoints.dynamodb), sqs: localSqsClient(endpoints.sqs) };
  // With a data directory the names stay those of its first run: its tables are kept, its queues made again.
  const base = earlier?.base ?? (options.dataDir === undefined ? undefined : `msync-up-${runId}`);
  try {
    const resources = await createResources(clients, base === undefined ? { prefix: `msync-up-${runId}` } : { base });
    if (options.dataDir !== undefined && base !== undefined) {
      const data: UpData = { version: 1, base, settings: { intervalSeconds: settings.intervalSeconds, batchSize: settings.batchSize } };
      mkdirSync(options.dataDir, { recursive: true });
      writeFileSync(join(options.dataDir, UP_DATA_FILE), `${JSON.stringify(data, null, 2)}\n`);
    }
    const state = localState({ endpoints, resources, settings });
    writeState(state);
    return { state, resources, clients, emulators, earlier };
  } catch (error) {
    clients.dynamodb.destroy();
    clients.doc.destroy();
    clients.sqs.destroy();
    await emulators?.stop();
    throw error;
  }
}

export async function startUp(options: UpOptions = {}): Promise<UpRun> {
  const settings = upSettings(options);
  const stateFile = options.stateFile ?? DEFAULT_LOCAL_STATE_FILE;
  const files = holdUpFiles(stateFile, options.dataDir, options.onNote ?? (() => undefined));
  const runId = randomBytes(3).toString('hex');
  let provisioned: Provisioned;
  try {
    provisioned = await provision(options, settings, runId, (state) => {
      files.writeState(state);
    });
  } catch (error) {
    files.release();
    throw error;
  }
  const { state, resources, clients, emulators, earlier } = provisioned;
  const { endpoints } = state;

  const report = options.onError ?? (() => undefined);
  const host = new LambdaHost(functionEnvironment({ settings, resources: resources.functionResources, endpoints, logLevel: options.logLevel ?? 'SILENT' }), runId);
  // The applied count, told from each node's cursor around each applier invocation.
  const perNode = new Map<string, Tally>();
  let sinceTick: Tally = { microbatchesApplied: 0, duplicatesSkipped: 0 };
  const nodes = new DynamoNodeRepository(clients.doc, resources.tables.nodes);
  const observer = new CursorObserver(nodes, perNode, () => sinceTick);
  const faults = options.faults ?? NO_FAULTS;
  let faultsSinceTick = noFaults();
  const eventSource = new FifoEventSource({
    sqs: clients.sqs,
    queue: resources.queues.microbatch,
    region: LOCAL_REGION,
    faults: () => faults,
    random: streamOf(0, 'up'),
    invoke: (event) => {
      watchNodes(event, perNode);
      return observer.around(event, () => host.invoke<SQSBatchResponse>('applier', event));
    },
    onInvocationError: report,
  });

  const count = (drained: DrainResult): void => {
    for (const [kind, struck] of Object.entries(drained.faults) as [keyof DrainResult['faults'], number][]) faultsSinceTick[kind] += struck;
  };
  const random = { poison: streamOf(0, 'up-poison'), poisonPlacement: streamOf(0, 'up-poison-placement'), plannerDuplicate: streamOf(0, 'up-planner-duplicate') };
  /** With `poison`: malformed messages on the queue, one in the group of an active node (if there is one). */
  const poison = async (interval: number, tag: string): Promise<void> => {
    if (!chance(random.poison, faults.poison)) return;
    const active = (await listActive(nodes)).nodes;
    const victim = active[below(random.poisonPlacement, active.length)]?.nodeId ?? 'poison';
    await injectPoison(clients.sqs, resources.queues.microbatch.url, tag, victim, interval);
    faultsSinceTick.poison += POISON_MESSAGES;
  };

  const control = { stopping: false };
  const draining = (async () => {
    while (!control.stopping) {
      try {
        count(await eventSource.drain());
      } catch (error) {
        report(error);
      }
      await sleep(200);
    }
  })();

  const ticks = new ShardedTicks({ invoke: (name, event) => host.invoke(name, event), sqs: clients.sqs, doc: clients.doc, resources, stream: settings.stream, onInvocationError: report });
  let ticking: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const tick = async (scheduledTime: Date): Promise<void> => {
    const event = { scheduledTime: scheduledTime.toISOString(), executionId: randomUUID() };
    // The checker first: it judges the intervals before this one, so it never judges a plan whose tokens were just sent.
    const check = await ticks.check(event);
    await poison(check.start.interval, `${runId}-${event.executionId}`);
    const { tick: plan, duplicated } = await planMaybeTwice(ticks, event, random.plannerDuplicate, faults.plannerDuplicate);
    if (duplicated) faultsSinceTick.plannerDuplicate += 1;
    const applied = sinceTick.microbatchesApplied;
    sinceTick = { microbatchesApplied: 0, duplicatesSkipped: 0 };
    const struck = faultsSinceTick;
    faultsSinceTick = noFaults();
    const { outcome } = check.progress;
    options.onInterval?.({
      interval: plan.start.interval,
      scheduledTime: event.scheduledTime,
      head: plan.start.head,
      consistentNodes: outcome?.current.consistentNodes ?? 0,
      activeNodes: outcome?.current.activeNodes ?? 0,
      maxLagUpdates: outcome?.current.maxLagUpdates ?? 0,
      microbatchesApplied: applied,
      microbatchesPlanned: plan.record.microbatches ?? 0,
      shardsReported: plan.record.shardsReported,
      shards: plan.record.shards,
      ...(outcome?.latest === undefined ? {} : { latest: outcome.latest }),
      faults: struck,
    });
  };
  // Each tick strictly after the last one: a timer may fire a millisecond before its time, when
  // "the next boundary after now" would be the boundary just fired again.
  const schedule = (after: number): void => {
    const at = nextTick(Math.max(Date.now(), after), settings.intervalSeconds);
    timer = setTimeout(() => {
      if (control.stopping) return;
      ticking = ticking.then(() => tick(at)).catch(report);
      schedule(at.getTime());
    }, at.getTime() - Date.now());
  };
  schedule(Date.now());

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      control.stopping = true;
      clearTimeout(timer);
      await ticking;
      await draining;
      clients.dynamodb.destroy();
      clients.doc.destroy();
      clients.sqs.destroy();
      await emulators?.stop();
      files.release();
    })();
    return stopped;
  };
  return { state, stateFile, stop, ...(earlier === undefined ? {} : { resumed: earlier.settings }) };
}

/** Nodes the applier is about to see, so the cursor observer counts their microbatches. */
function watchNodes(event: SQSEvent, perNode: Map<string, Tally>): void {
  for (const record of event.Records) {
    try {
      const { nodeId } = parseMicrobatch(record.body);
      if (!perNode.has(nodeId)) perNode.set(nodeId, { microbatchesApplied: 0, duplicatesSkipped: 0 });
    } catch {
      // A malformed message: the applier fails it, and the queue dead-letters it.
    }
  }
}
