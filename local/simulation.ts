/**
 * One local run of the whole system on a simulated clock: interval j's scheduled time is
 * start + j·t, so a 60-second interval takes as long as its work. Each interval a synthetic
 * producer ingests through the ingest handler, the planner handler runs on a Scheduler-shaped
 * event, the event source drains the queue into the applier handler, and the checker handler
 * judges the intervals before the next tick. At the end every replica is audited against the log.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomBytes, randomUUID } from 'node:crypto';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { DynamoReplicaStore } from '#shared/adapters/dynamodb/replica-store.ts';
import { DEFAULT_SETTINGS, validateSettings, type SyncSettings } from '#shared/domain/config.ts';
import { microbatchCount, sharePerInterval } from '#shared/domain/formula.ts';
import { intervalIndex } from '#shared/domain/interval.ts';
import { listActive } from '#shared/domain/ports.ts';
import { MAX_UPDATES_PER_REQUEST, parseMicrobatch } from '#shared/domain/schemas.ts';
import type { Microbatch, NewUpdate } from '#shared/domain/types.ts';
import type { AppendResult } from '#shared/usecases/append-updates.ts';
import type { CheckConvergenceResult } from '#shared/usecases/check-convergence.ts';
import type { PlanIntervalResult } from '#shared/usecases/plan-interval.ts';
import { registerNode } from '#shared/usecases/register-node.ts';
import { auditReplicas } from './audit.ts';
import { LOCAL_REGION, localDocumentClient, localDynamoClient, localSqsClient, type EmulatorEndpoints } from './emulators.ts';
import { FifoEventSource } from './event-source.ts';
import { startFaultProxy, type FaultProxy } from './fault-proxy.ts';
import { formatFaults, NO_FAULTS, type FaultSettings } from './faults.ts';
import { functionEnvironment, LambdaHost, type LogLevel } from './lambda-host.ts';
import { below, chance, streamOf, type Random } from './random.ts';
import { createResources, type LocalResources } from './resources.ts';
import { noFaults, theoreticalMinInterval, totalFaults, type FaultCounts, type IntervalSample, type NodeSummary, type RunSummary } from './summary.ts';

export type Scenario = 'default' | 'seed';

export interface SimulationOptions {
  readonly scenario: Scenario;
  readonly nodes: number;
  /** Intervals to run at most; undefined: enough to converge ({@link defaultIntervals}). */
  readonly intervals?: number;
  readonly intervalSeconds: number;
  readonly batchSize: number;
  /** Updates per second the synthetic producer ingests while it runs. */
  readonly ingestRate: number;
  /** Ingest stops after this many intervals, so that the nodes can converge; null: it never stops. */
  readonly quietAfter: number | null;
  /** Faults strike only in intervals ≤ this (1-based); undefined: in every interval. */
  readonly faultsUntil?: number;
  /** Distinct keys the updates touch. */
  readonly keys: number;
  readonly seed: number;
  readonly faults: FaultSettings;
  /** Node id → rate; default: {@link nodeRates}. */
  readonly rates?: Readonly<Record<string, number>>;
  /** Handler log level (Powertools); default SILENT. */
  readonly logLevel?: LogLevel;
  /**
   * Applier batches in flight at once; default 1. More rarely helps: the queue hands out one message per
   * node at a time, so one batch already holds every node that has work, and one poller keeps the
   * fault decisions of a seed reproducible.
   */
  readonly concurrency?: number;
  /** Called after each interval with its sample. */
  readonly onInterval?: (sample: IntervalSample, run: { readonly intervals: number; readonly nodes: readonly string[] }) => void;
  /** Diagnostics for `--verbose`. */
  readonly log?: (line: string) => void;
}

export interface SimulationRun {
  readonly summary: RunSummary;
  readonly resources: LocalResources;
  /** Where the handlers reached DynamoDB (the fault proxy) and SQS. */
  readonly functionEndpoints: EmulatorEndpoints;
  readonly coldStarts: Readonly<Record<string, number>>;
  /** DynamoDB requests the handlers made (through the fault proxy). */
  readonly handlerDynamoRequests: number;
}

/** The defaults of a scenario; the seed scenario is the original write-up's example (b = 100, t = 1000 s). */
export function scenarioDefaults(scenario: Scenario): Omit<SimulationOptions, 'faults' | 'scenario'> {
  return scenario === 'seed'
    ? { nodes: 10, intervalSeconds: 1000, batchSize: 100, ingestRate: 1, quietAfter: 1, keys: 200, seed: 1 }
    : { nodes: 5, intervalSeconds: 60, batchSize: 100, ingestRate: 5, quietAfter: 3, keys: 200, seed: 1 };
}

/** Attempts the handlers' SDK clients make per call (shared/clients.ts): an episode this long fails the call. */
const SDK_MAX_ATTEMPTS = 5;

/** Intervals beyond the theoretical minimum before a run that has not converged counts as failed. */
export const CONVERGENCE_SLACK_INTERVALS = 2;

/**
 * Node rates. Default scenario: heterogeneous, each between 1.4 and 3 times the ingest rate, and
 * the last node slow (half the ingest rate: it falls behind while ingest runs and catches up after).
 * Seed scenario: random in [0, 1) to two decimals (at least 0.01), as in the write-up.
 */
export function nodeRates(options: Pick<SimulationOptions, 'scenario' | 'nodes' | 'ingestRate' | 'seed'>): Record<string, number> {
  const random = streamOf(options.seed, 'rates');
  const width = String(options.nodes).length;
  const id = (index: number): string => `node-${String(index + 1).padStart(width, '0')}`;
  if (options.scenario === 'seed') {
    return Object.fromEntries(Array.from({ length: options.nodes }, (_, index) => [id(index), Math.max(0.01, Math.floor(random() * 100) / 100)]));
  }
  const base = options.ingestRate > 0 ? options.ingestRate : 1;
  return Object.fromEntries(
    Array.from({ length: options.nodes }, (_, index) => {
      const slow = options.nodes > 1 && index === options.nodes - 1;
      const factor = slow ? 0.5 : 1.4 + 1.6 * random();
      return [id(index), Math.max(0.1, Math.round(base * factor * 10) / 10)];
    }),
  );
}

/** Updates the producer ingests in interval j (1-based). */
export function ingestIn(j: number, options: Pick<SimulationOptions, 'ingestRate' | 'intervalSeconds' | 'quietAfter'>): number {
  return options.quietAfter === null || j <= options.quietAfter ? Math.round(options.ingestRate * options.intervalSeconds) : 0;
}

/**
 * Ingest that stops: the theoretical minimum for the planned workload, plus staleAfterIntervals and
 * a little slack. Ingest that never stops: the faults' window, staleAfterIntervals and room to watch
 * a few intervals past the recovery bound.
 */
export function defaultIntervals(options: Omit<SimulationOptions, 'intervals'>, rates: Readonly<Record<string, number>>): number {
  if (options.quietAfter === null) return (options.faultsUntil ?? 0) + DEFAULT_SETTINGS.staleAfterIntervals + 8;
  const heads: number[] = [];
  for (let j = 1, head = 0; j <= Math.max(1, options.quietAfter); j += 1) heads.push((head += ingestIn(j, options)));
  const minimum = Math.max(1, ...Object.values(rates).map((rate) => theoreticalMinInterval(heads, rate, options.intervalSeconds)));
  return minimum + DEFAULT_SETTINGS.staleAfterIntervals + CONVERGENCE_SLACK_INTERVALS;
}

/** What the applier did with the microbatches it was given, per node and per interval. */
interface Tally {
  microbatchesApplied: number;
  duplicatesSkipped: number;
}

/**
 * Runs the system against emulators that are already running (`endpoints`), in fresh tables and
 * queues. The handlers read their configuration from `process.env`, which this sets.
 */
export async function runSimulation(options: SimulationOptions, endpoints: EmulatorEndpoints): Promise<SimulationRun> {
  const run = await LocalRun.create(options, endpoints);
  try {
    return await run.execute();
  } finally {
    await run.close();
  }
}

/** The parts of one run and the counts it keeps while its intervals go by. */
class LocalRun {
  private readonly started = performance.now();
  private readonly log: (line: string) => void;
  private readonly nodeIds: readonly string[];
  /** Intervals to run; a run of never-ending ingest without --intervals extends it past its recovery bound. */
  private intervals: number;
  private readonly stores: { readonly log: DynamoLogStore; readonly nodes: DynamoNodeRepository; readonly replica: DynamoReplicaStore };
  private readonly host: LambdaHost;
  private readonly eventSource: FifoEventSource;
  private readonly random: Readonly<Record<'workload' | 'poison' | 'poisonPlacement' | 'plannerDuplicate', Random>>;
  /** Interval j's tick is start + j·t on the simulated clock. */
  private readonly startSeconds: number;
  private readonly nodeTally: Map<string, Tally>;
  private intervalTally: Tally = { microbatchesApplied: 0, duplicatesSkipped: 0 };
  /** b_i of interval 1, read from the claims its planner made. */
  private firstShares = new Map<string, number>();
  /** Updates produced so far: each put's value carries its number. */
  private serial = 0;
  /** The interval running now (1-based): faults strike only up to `faultsUntil`. */
  private current = 0;
  /** Each node's lag just before the first interval after the faults is planned. */
  private deficits = new Map<string, number>();

  private constructor(
    private readonly options: SimulationOptions,
    private readonly runId: string,
    private readonly settings: Readonly<SyncSettings>,
    private readonly rates: Readonly<Record<string, number>>,
    private readonly clients: { readonly dynamodb: DynamoDBClient; readonly doc: DynamoDBDocumentClient; readonly sqs: SQSClient },
    private readonly resources: LocalResources,
    private readonly proxy: FaultProxy,
    private readonly sqsEndpoint: string,
  ) {
    this.log = options.log ?? (() => undefined);
    this.nodeIds = Object.keys(rates);
    this.intervals = options.intervals ?? defaultIntervals(options, rates);
    const { doc, sqs } = clients;
    this.stores = {
      log: new DynamoLogStore(doc, resources.tables.log),
      nodes: new DynamoNodeRepository(doc, resources.tables.nodes),
      replica: new DynamoReplicaStore(doc, resources.tables.replica),
    };
    const throttleDecisions = streamOf(options.seed, 'throttle');
    this.host = new LambdaHost(
      functionEnvironment({ settings, resources: resources.functionResources, endpoints: this.functionEndpoints, logLevel: options.logLevel ?? 'SILENT' }),
      runId,
      () => {
        // A throttling episode for this invocation: mostly absorbed by the SDK's retries, sometimes not.
        if (chance(throttleDecisions, this.faults.throttle)) {
          proxy.throttleNext(chance(throttleDecisions, 0.1) ? SDK_MAX_ATTEMPTS : 1 + below(throttleDecisions, 2));
        }
      },
    );
    this.nodeTally = new Map(this.nodeIds.map((nodeId) => [nodeId, { microbatchesApplied: 0, duplicatesSkipped: 0 }]));
    const observer = new CursorObserver(this.stores.nodes, this.nodeTally, () => this.intervalTally);
    this.eventSource = new FifoEventSource({
      sqs,
      queue: resources.queues.microbatch,
      region: LOCAL_REGION,
      faults: () => this.faults,
      random: streamOf(options.seed, 'delivery'),
      concurrency: options.concurrency ?? 1,
      invoke: (event) => observer.around(event, () => this.host.invoke<SQSBatchResponse>('applier', event)),
      onInvocationError: (error) => {
        this.log(`applier invocation failed (the whole batch returns to the queue): ${describeError(error)}`);
      },
    });
    this.random = {
      workload: streamOf(options.seed, 'workload'),
      poison: streamOf(options.seed, 'poison'),
      poisonPlacement: streamOf(options.seed, 'poison-placement'),
      plannerDuplicate: streamOf(options.seed, 'planner-duplicate'),
    };
    this.startSeconds = Math.floor(Date.now() / 1000 / settings.intervalSeconds) * settings.intervalSeconds;
  }

  static async create(options: SimulationOptions, endpoints: EmulatorEndpoints): Promise<LocalRun> {
    const runId = randomBytes(3).toString('hex');
    const settings = validateSettings({ stream: 'main', intervalSeconds: options.intervalSeconds, batchSize: options.batchSize }, 'local');
    // The runtime's own clients go straight to the emulators; only the handlers meet the faults.
    const clients = { dynamodb: localDynamoClient(endpoints.dynamodb), doc: localDocumentClient(endpoints.dynamodb), sqs: localSqsClient(endpoints.sqs) };
    const resources = await createResources(clients, { prefix: `msync-${runId}` });
    const proxy = await startFaultProxy({ target: endpoints.dynamodb });
    return new LocalRun(options, runId, settings, options.rates ?? nodeRates(options), clients, resources, proxy, endpoints.sqs);
  }

  /** The faults in force in the current interval. */
  private get faults(): FaultSettings {
    const { faults, faultsUntil } = this.options;
    return faultsUntil === undefined || this.current <= faultsUntil ? faults : NO_FAULTS;
  }

  private get functionEndpoints(): EmulatorEndpoints {
    return { dynamodb: this.proxy.endpoint, sqs: this.sqsEndpoint };
  }

  async execute(): Promise<SimulationRun> {
    const { resources, proxy, host } = this;
    this.log(`run ${this.runId}: tables ${resources.tables.log} …, queue ${resources.queues.microbatch.name}, handlers reach DynamoDB through ${proxy.endpoint}`);
    await Promise.all(this.nodeIds.map((nodeId) => registerNode({ nodeId, rate: this.rates[nodeId] ?? 0 }, { nodes: this.stores.nodes })));

    const heads: number[] = [];
    const samples: IntervalSample[] = [];
    for (let j = 1; j <= this.intervals; j += 1) {
      const sample = await this.interval(j, samples.at(-1));
      samples.push(sample);
      heads.push(sample.head);
      this.options.onInterval?.(sample, { intervals: this.intervals, nodes: this.nodeIds });
      // Stop once ingest is over, every node holds the head and the checker has said so (ingest
      // that never stops runs every interval: the point is to watch convergence hold).
      const { quietAfter } = this.options;
      if (quietAfter !== null && j >= quietAfter && sample.allAtHead && sample.checkerConverged === true) break;
    }

    const audit = await auditReplicas(this.nodeIds, { stream: this.settings.stream, ...this.stores });
    const finalNodes = (await listActive(this.stores.nodes)).nodes;
    const summary = summarize({
      options: this.options,
      settings: this.settings,
      intervals: this.intervals,
      rates: this.rates,
      heads,
      samples,
      audit,
      finalCursors: new Map(finalNodes.map((node) => [node.nodeId, node.appliedSeq])),
      firstIntervalMicrobatches: this.firstShares,
      nodeTally: this.nodeTally,
      deficits: this.deficits,
      deadLettered: await this.deadLettered(),
      durationMs: Math.round(performance.now() - this.started),
    });
    this.log(`containers started: ${JSON.stringify(host.coldStarts())}; handler DynamoDB requests ${proxy.requests()}, throttled ${proxy.throttled()}`);
    return { summary, resources, functionEndpoints: this.functionEndpoints, coldStarts: host.coldStarts(), handlerDynamoRequests: proxy.requests() };
  }

  async close(): Promise<void> {
    await this.proxy.stop();
    this.clients.dynamodb.destroy();
    this.clients.doc.destroy();
    this.clients.sqs.destroy();
  }

  /** One interval: produce, maybe poison, plan, drain into the applier, then check on the next tick. */
  private async interval(j: number, previous: IntervalSample | undefined): Promise<IntervalSample> {
    const t = this.settings.intervalSeconds;
    const tick = new Date((this.startSeconds + j * t) * 1000);
    const k = intervalIndex(tick, t);
    this.current = j;
    const faults = noFaults();
    const throttledBefore = this.proxy.throttled();
    const deadLetteredBefore = await this.deadLettered();
    this.intervalTally = { microbatchesApplied: 0, duplicatesSkipped: 0 };
    const timer = new PhaseTimer();

    await this.produce(j);
    const head = (await this.stores.log.readHead(this.settings.stream)).head;
    timer.lap('ingest');
    if (j === faultsStopAt(this.options)) {
      const nodes = (await listActive(this.stores.nodes)).nodes;
      this.deficits = new Map(nodes.map((node) => [node.nodeId, head - node.appliedSeq]));
      const bound = recoveryBound(this.options, this.rates, this.deficits);
      // Without --intervals, watch every interval up to the bound and three beyond it.
      if (this.options.intervals === undefined && bound !== null && Number.isFinite(bound)) this.intervals = Math.max(this.intervals, bound + 3);
    }

    if (chance(this.random.poison, this.faults.poison)) {
      const victim = this.nodeIds[below(this.random.poisonPlacement, this.nodeIds.length)] ?? 'node-1';
      await injectPoison(this.clients.sqs, this.resources.queues.microbatch.url, `${this.runId}-${j}`, victim, k);
      faults.poison += 2;
    }
    const plans = await this.plan({ scheduledTime: tick.toISOString(), executionId: randomUUID(), attempt: '1' }, faults);
    if (j === 1) {
      const nodes = (await listActive(this.stores.nodes)).nodes;
      this.firstShares = new Map(nodes.map((node) => [node.nodeId, microbatchCount(node.plannedSeq - node.appliedSeq, this.settings.batchSize)]));
    }
    timer.lap('plan');

    const drained = await this.eventSource.drain();
    faults.duplicate += drained.faults.duplicate;
    faults.crash += drained.faults.crash;
    faults.reorder += drained.faults.reorder;
    faults.lose += drained.faults.lose;
    const nodes = (await listActive(this.stores.nodes)).nodes;
    const lagByNode = Object.fromEntries(this.nodeIds.map((nodeId) => [nodeId, head - (nodes.find((node) => node.nodeId === nodeId)?.appliedSeq ?? 0)]));
    timer.lap('drain');

    // The checker runs on the next tick: it judges the plans of the intervals before its own.
    const nextTick = new Date((this.startSeconds + (j + 1) * t) * 1000);
    const check = await scheduled<CheckConvergenceResult>(this.host, 'checker', { scheduledTime: nextTick.toISOString(), executionId: randomUUID(), attempt: '1' }, this.log);
    faults.throttle += this.proxy.throttled() - throttledBefore;
    timer.lap('check');
    this.log(`interval ${j}: ${timer.describe()}; ${drained.batches} batches, ${drained.invocations} applier invocations, ${drained.returned} records returned to the queue`);

    return {
      index: j,
      k,
      head,
      ingested: head - (previous?.head ?? 0),
      microbatchesPlanned: Math.max(...plans.map((plan) => plan.microbatches)),
      microbatchesApplied: this.intervalTally.microbatchesApplied,
      duplicatesSkipped: this.intervalTally.duplicatesSkipped,
      deadLettered: (await this.deadLettered()) - deadLetteredBefore,
      lagByNode,
      allAtHead: Object.values(lagByNode).every((lag) => lag === 0),
      checkerConverged: check.latest?.converged ?? null,
      faults,
    };
  }

  /** The synthetic producer: interval j's updates, in requests of at most 1000. */
  private async produce(j: number): Promise<void> {
    const count = ingestIn(j, this.options);
    for (let offset = 0, request = 0; offset < count; offset += MAX_UPDATES_PER_REQUEST, request += 1) {
      const updates: NewUpdate[] = [];
      for (let index = 0; index < Math.min(MAX_UPDATES_PER_REQUEST, count - offset); index += 1) {
        this.serial += 1;
        updates.push(syntheticUpdate(this.serial, j, this.options.keys, this.random.workload));
      }
      await ingest(this.host, { updates, idempotencyKey: `${this.runId}:${j}:${request}` }, this.log);
    }
  }

  /** The planner on the Scheduler payload the stack configures; with `planner-duplicate`, delivered twice (at once or one after the other). */
  private async plan(event: ScheduledTick, faults: FaultCounts): Promise<PlanIntervalResult[]> {
    const run = (): Promise<PlanIntervalResult> => scheduled<PlanIntervalResult>(this.host, 'planner', event, this.log);
    if (!chance(this.random.plannerDuplicate, this.faults.plannerDuplicate)) return [await run()];
    faults.plannerDuplicate += 1;
    return chance(this.random.plannerDuplicate, 0.5) ? Promise.all([run(), run()]) : [await run(), await run()];
  }

  private deadLettered(): Promise<number> {
    return queueDepth(this.clients.sqs, this.resources.queues.microbatchDeadLetter.url);
  }
}

/** EventBridge Scheduler's payload as the stack configures it (context attributes). */
interface ScheduledTick {
  readonly scheduledTime: string;
  readonly executionId: string;
  readonly attempt: string;
}

/** Milliseconds per phase of an interval, for `--verbose`. */
class PhaseTimer {
  private last = performance.now();
  private readonly laps: string[] = [];

  lap(name: string): void {
    const now = performance.now();
    this.laps.push(`${name} ${Math.round(now - this.last)} ms`);
    this.last = now;
  }

  describe(): string {
    return this.laps.join(', ');
  }
}

/**
 * Tells, for each record the applier was given, what became of it, from the node's cursor before
 * and after the invocation. Exact because a FIFO message group (one node) is never in two
 * invocations at once: the queue hands out a group's next message only after the last one is done.
 */
class CursorObserver {
  constructor(
    private readonly nodes: DynamoNodeRepository,
    private readonly perNode: Map<string, Tally>,
    private readonly interval: () => Tally,
  ) {}

  async around(event: SQSEvent, invoke: () => Promise<SQSBatchResponse>): Promise<SQSBatchResponse> {
    const microbatches = new Map<SQSRecord, Microbatch>();
    for (const record of event.Records) {
      try {
        const microbatch = parseMicrobatch(record.body);
        if (this.perNode.has(microbatch.nodeId)) microbatches.set(record, microbatch);
      } catch {
        // A malformed message: the applier fails it; nothing to observe.
      }
    }
    const nodeIds = [...new Set([...microbatches.values()].map((microbatch) => microbatch.nodeId))];
    const before = await this.cursors(nodeIds);
    let failed: ReadonlySet<string> | 'all' = 'all';
    try {
      const response = await invoke();
      failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
      return response;
    } finally {
      const after = await this.cursors(nodeIds);
      for (const [record, microbatch] of microbatches) {
        const was = before.get(microbatch.nodeId) ?? 0;
        const moved = (after.get(microbatch.nodeId) ?? 0) > was;
        const succeeded = failed !== 'all' && !failed.has(record.messageId);
        const tally = this.perNode.get(microbatch.nodeId);
        if (tally === undefined) continue;
        if (moved) {
          // Its work is done even when the invocation then failed: the next delivery finds it a duplicate.
          tally.microbatchesApplied += 1;
          this.interval().microbatchesApplied += 1;
        } else if (succeeded && was >= microbatch.target) {
          tally.duplicatesSkipped += 1;
          this.interval().duplicatesSkipped += 1;
        }
      }
    }
  }

  private async cursors(nodeIds: readonly string[]): Promise<Map<string, number>> {
    const states = await Promise.all(nodeIds.map((nodeId) => this.nodes.get(nodeId)));
    return new Map(states.flatMap((state) => (state === undefined ? [] : [[state.nodeId, state.appliedSeq] as const])));
  }
}

/** Puts and deletes over `keys` keys; a value carries its serial number so every put differs. */
function syntheticUpdate(serial: number, interval: number, keys: number, random: Random): NewUpdate {
  const key = `key-${below(random, keys) + 1}`;
  if (random() < 0.1) return { key, op: 'delete' };
  return { key, op: 'put', value: { serial, interval, amount: Math.round(random() * 100_000) / 100, tags: random() < 0.5 ? ['a'] : ['b', 'c'] } };
}

/** A producer retries a failed request with the same idempotency key: the log appends it once. */
async function ingest(host: LambdaHost, request: { readonly updates: readonly NewUpdate[]; readonly idempotencyKey: string }, log: (line: string) => void): Promise<AppendResult> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await host.invoke<AppendResult>('ingest', request);
    } catch (error) {
      if (attempt >= 3) throw new Error(`ingest failed ${attempt} times: ${describeError(error)}`, { cause: error });
      log(`ingest attempt ${attempt} failed, retrying with the same idempotency key: ${describeError(error)}`);
    }
  }
}

/** EventBridge Scheduler retries a failed invocation (the stack's retry policy), with the next attempt number. */
async function scheduled<T>(host: LambdaHost, name: 'planner' | 'checker', event: { scheduledTime: string; executionId: string; attempt: string }, log: (line: string) => void): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await host.invoke<T>(name, { ...event, attempt: String(attempt) });
    } catch (error) {
      if (attempt >= 3) throw new Error(`the ${name} failed ${attempt} times: ${describeError(error)}`, { cause: error });
      log(`${name} attempt ${attempt} failed, the scheduler retries: ${describeError(error)}`);
    }
  }
}

/** One body that is not JSON into a real node's group, one of a schema version the applier does not know into a group of its own. */
async function injectPoison(sqs: SQSClient, queueUrl: string, tag: string, nodeId: string, interval: number): Promise<void> {
  const wrongVersion = { v: 3, stream: 'main', nodeId: 'poison', interval, from: 0, target: 1, index: 0, count: 1, plannedAt: new Date().toISOString() };
  await Promise.all([
    sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: `{"v":1,"nodeId":"${nodeId}","from":`, MessageGroupId: nodeId, MessageDeduplicationId: `poison-${tag}-a` })),
    sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(wrongVersion), MessageGroupId: 'poison', MessageDeduplicationId: `poison-${tag}-b` })),
  ]);
}

async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Number(Attributes.ApproximateNumberOfMessages ?? 0);
}

/**
 * The first interval (1-based) with no fault: 1 when no fault is on, `faultsUntil` + 1 when faults
 * stop, null when they strike to the end.
 */
export function faultsStopAt(options: Pick<SimulationOptions, 'faults' | 'faultsUntil'>): number | null {
  if (Object.values(options.faults).every((p) => p === 0)) return 1;
  return options.faultsUntil === undefined ? null : options.faultsUntil + 1;
}

/**
 * A node's recovery bound under ingest that never stops (DESIGN §5 step 3): from interval
 * F + staleAfterIntervals + ceil(deficit / (share − ingest)) + 1 on it is consistent at every
 * interval, F being the first interval after the faults. Infinite when its share does not exceed
 * the ingest: it cannot keep up.
 */
export function nodeRecoveryBound(faultsStop: number, deficit: number, share: number, ingestPerInterval: number): number {
  if (share <= ingestPerInterval) return Number.POSITIVE_INFINITY;
  return faultsStop + DEFAULT_SETTINGS.staleAfterIntervals + Math.ceil(deficit / (share - ingestPerInterval)) + 1;
}

/** The largest node bound; null when faults never stop (or the deficits are not measured yet). */
function recoveryBound(options: SimulationOptions, rates: Readonly<Record<string, number>>, deficits: ReadonlyMap<string, number>): number | null {
  const stop = faultsStopAt(options);
  if (stop === null || deficits.size === 0) return null;
  const ingest = Math.round(options.ingestRate * options.intervalSeconds);
  return Math.max(
    ...Object.entries(rates).map(([nodeId, rate]) => nodeRecoveryBound(stop, deficits.get(nodeId) ?? 0, sharePerInterval(rate, options.intervalSeconds), ingest)),
  );
}

function summarize(input: {
  readonly options: SimulationOptions;
  readonly settings: Readonly<SyncSettings>;
  readonly intervals: number;
  readonly rates: Readonly<Record<string, number>>;
  readonly heads: readonly number[];
  readonly samples: readonly IntervalSample[];
  readonly audit: RunSummary['audit'];
  readonly finalCursors: ReadonlyMap<string, number>;
  readonly firstIntervalMicrobatches: ReadonlyMap<string, number>;
  readonly nodeTally: ReadonlyMap<string, Tally>;
  readonly deficits: ReadonlyMap<string, number>;
  readonly deadLettered: number;
  readonly durationMs: number;
}): RunSummary {
  const { options, settings, samples, heads } = input;
  const t = settings.intervalSeconds;
  const finalHead = heads.at(-1) ?? 0;
  const ingestPerInterval = options.ingestRate * t;
  const continuous = ingestContinues(options, samples.length);
  const stop = faultsStopAt(options);
  const perNode: NodeSummary[] = Object.entries(input.rates).map(([nodeId, rate]) => {
    const share = sharePerInterval(rate, t);
    const cursor = input.finalCursors.get(nodeId) ?? 0;
    const tally = input.nodeTally.get(nodeId);
    let convergedAtInterval: number | null;
    let theoretical: number;
    if (continuous) {
      // From when on it held each interval's head at every interval.
      const lastBehind = samples.findLastIndex((sample) => (sample.lagByNode[nodeId] ?? 0) > 0);
      convergedAtInterval = lastBehind + 1 < samples.length ? lastBehind + 2 : null;
      const bound = stop === null ? Number.POSITIVE_INFINITY : nodeRecoveryBound(stop, input.deficits.get(nodeId) ?? 0, share, Math.round(ingestPerInterval));
      theoretical = Number.isFinite(bound) ? bound : samples.length + 1;
    } else {
      const first = samples.findIndex((sample) => sample.head === finalHead && sample.lagByNode[nodeId] === 0);
      convergedAtInterval = cursor >= finalHead && first >= 0 ? first + 1 : null;
      theoretical = theoreticalMinInterval(heads, rate, t);
    }
    return {
      nodeId,
      rate,
      sharePerInterval: share,
      microbatchesPerBusyInterval: microbatchCount(share, settings.batchSize),
      firstIntervalMicrobatches: input.firstIntervalMicrobatches.get(nodeId) ?? 0,
      cursor,
      lag: finalHead - cursor,
      convergedAtInterval,
      theoreticalMinInterval: theoretical,
      microbatchesApplied: tally?.microbatchesApplied ?? 0,
      duplicatesSkipped: tally?.duplicatesSkipped ?? 0,
      underProvisioned: options.quietAfter !== 0 && share < ingestPerInterval,
    };
  });
  const bound = continuous && stop !== null ? Math.max(...perNode.map((node) => node.theoreticalMinInterval)) : null;
  let converged: boolean;
  let convergedAtInterval: number | null;
  if (continuous) {
    // Every interval from the bound to the last was judged converged.
    const lastNot = samples.findLastIndex((sample) => sample.checkerConverged !== true);
    convergedAtInterval = lastNot + 1 < samples.length ? lastNot + 2 : null;
    converged = bound !== null && bound <= samples.length && convergedAtInterval !== null && convergedAtInterval <= bound;
  } else {
    converged = perNode.every((node) => node.convergedAtInterval !== null) && samples.at(-1)?.checkerConverged === true;
    convergedAtInterval = converged ? Math.max(...perNode.map((node) => node.convergedAtInterval ?? 0)) : null;
  }
  const total = (pick: (sample: IntervalSample) => number): number => samples.reduce((sum, sample) => sum + pick(sample), 0);
  return {
    converged,
    recoveryBoundInterval: bound,
    convergedAtInterval,
    theoreticalMinIntervals: Math.max(0, ...perNode.map((node) => node.theoreticalMinInterval)),
    intervalsRun: samples.length,
    updatesIngested: finalHead,
    microbatchesPlanned: total((sample) => sample.microbatchesPlanned),
    microbatchesApplied: total((sample) => sample.microbatchesApplied),
    duplicatesSkipped: total((sample) => sample.duplicatesSkipped),
    deadLettered: input.deadLettered,
    audit: input.audit,
    faults: totalFaults(samples),
    perNode,
    intervals: samples,
    settings: {
      scenario: options.scenario,
      nodes: perNode.length,
      intervals: input.intervals,
      intervalSeconds: t,
      batchSize: settings.batchSize,
      ingestRate: options.ingestRate,
      quietAfter: options.quietAfter,
      faultsUntil: options.faultsUntil ?? null,
      keys: options.keys,
      seed: options.seed,
      faults: formatFaults(options.faults),
    },
    durationMs: input.durationMs,
  };
}

/** Whether ingest ran to the end of the run (it never stops, or stops only after the last interval). */
export function ingestContinues(options: Pick<SimulationOptions, 'quietAfter'>, intervalsRun: number): boolean {
  return options.quietAfter === null || options.quietAfter >= intervalsRun;
}

/**
 * Whether a run that did not converge should have. Ingest that stops: it had stopped and the run
 * lasted at least the theoretical minimum plus staleAfterIntervals (a lost microbatch's recovery)
 * plus some slack. Ingest that never stops: always — `converged` already says whether the run
 * reached and watched its recovery bound, and the exit code follows it.
 */
export function shouldHaveConverged(summary: RunSummary): boolean {
  const { quietAfter } = summary.settings;
  if (quietAfter === null || quietAfter >= summary.intervalsRun) return true;
  return summary.intervalsRun >= summary.theoreticalMinIntervals + DEFAULT_SETTINGS.staleAfterIntervals + CONVERGENCE_SLACK_INTERVALS;
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

