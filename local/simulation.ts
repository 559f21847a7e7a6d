/**
 * One local run of the whole system on a simulated clock: interval j's scheduled time is
 * start + j·t, so a 60-second interval takes as long as its work. Each interval a synthetic
 * producer ingests through the ingest handler, the planner handler runs on a Scheduler-shaped
 * event, the event source drains the queue into the applier handler, and the checker handler
 * judges the intervals before the next tick. At the end every replica is audited against the log.
 */
import type { SQSBatchResponse } from 'aws-lambda';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomBytes, randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { DynamoReplicaStore } from '#shared/adapters/dynamodb/replica-store.ts';
import { validateSettings, type SyncSettings } from '#shared/domain/config.ts';
import { microbatchCount } from '#shared/domain/formula.ts';
import { intervalIndex } from '#shared/domain/interval.ts';
import { listActive } from '#shared/domain/ports.ts';
import type { NewUpdate } from '#shared/domain/types.ts';
import type { AppendResult } from '#shared/usecases/append-updates.ts';
import { DynamoConvergenceStore } from '#shared/adapters/dynamodb/convergence-store.ts';
import { DynamoPlanLedger } from '#shared/adapters/dynamodb/plan-ledger.ts';
import { readPlans } from '#shared/usecases/read-plans.ts';
import { registerNode } from '#shared/usecases/register-node.ts';
import { auditReplicas } from './audit.ts';
import { plural } from './counts.ts';
import { CursorObserver } from './cursor-observer.ts';
import { LOCAL_REGION, localDocumentClient, localDynamoClient, localSqsClient, type EmulatorEndpoints } from './emulators.ts';
import { HandlerFailedError } from './errors.ts';
import { FifoEventSource } from './event-source.ts';
import { startFaultProxy, type FaultProxy } from './fault-proxy.ts';
import { NO_FAULTS, type FaultSettings } from './faults.ts';
import { functionEnvironment, LambdaHost, type LogLevel } from './lambda-host.ts';
import { below, chance, streamOf, type Random } from './random.ts';
import { createResources, type LocalResources } from './resources.ts';
import { defaultIntervals, LOCAL_NODES_PER_SHARD, nodeRates, SyntheticWorkload, type ScenarioOptions } from './scenario.ts';
import { ShardedTicks, type PlanTick, type SchedulerPayload } from './sharded-ticks.ts';
import { endsConverged, faultsStopAt, noFaults, recoveryBound, summarize, type FaultCounts, type IntervalSample, type RunSummary, type Tally } from './summary.ts';
import { injectPoison, planMaybeTwice, POISON_MESSAGES } from './tick-faults.ts';

/** A run's scenario and settings, with what the runtime needs to run it and report its progress. */
export interface SimulationOptions extends ScenarioOptions {
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

/** Attempts the handlers' SDK clients make per call (shared/clients.ts): an episode this long fails the call. */
const SDK_MAX_ATTEMPTS = 5;

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
  private readonly ticks: ShardedTicks;
  private readonly workload: SyntheticWorkload;
  private readonly random: Readonly<Record<'poison' | 'poisonPlacement' | 'plannerDuplicate', Random>>;
  /** Interval j's tick is start + j·t on the simulated clock. */
  private readonly startSeconds: number;
  private readonly nodeTally: Map<string, Tally>;
  private intervalTally: Tally = { microbatchesApplied: 0, duplicatesSkipped: 0 };
  /** b_i of interval 1, read from the claims its planner made. */
  private firstShares = new Map<string, number>();
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
    this.ticks = new ShardedTicks({
      invoke: (name, event) => this.host.invoke(name, event),
      sqs,
      doc,
      resources,
      stream: settings.stream,
      onInvocationError: (error) => {
        this.log(`shard invocation failed (its task returns to the queue): ${describeError(error)}`);
      },
      log: this.log,
    });
    this.workload = new SyntheticWorkload(options);
    this.random = {
      poison: streamOf(options.seed, 'poison'),
      poisonPlacement: streamOf(options.seed, 'poison-placement'),
      plannerDuplicate: streamOf(options.seed, 'planner-duplicate'),
    };
    this.startSeconds = Math.floor(Date.now() / 1000 / settings.intervalSeconds) * settings.intervalSeconds;
  }

  static async create(options: SimulationOptions, endpoints: EmulatorEndpoints): Promise<LocalRun> {
    const runId = randomBytes(3).toString('hex');
    const settings = validateSettings(
      { stream: 'main', intervalSeconds: options.intervalSeconds, batchSize: options.batchSize, nodesPerShard: options.nodesPerShard ?? LOCAL_NODES_PER_SHARD, shards: options.shards ?? 0 },
      'local',
    );
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
    // A few dozen registrations at once: DynamoDB Local serves a fleet of thousands without a storm of sockets.
    const limit = pLimit(32);
    await Promise.all(this.nodeIds.map((nodeId) => limit(() => registerNode({ nodeId, rate: this.rates[nodeId] ?? 0 }, { nodes: this.stores.nodes }))));

    const heads: number[] = [];
    const samples: IntervalSample[] = [];
    for (let j = 1; j <= this.intervals; j += 1) {
      const sample = await this.interval(j, samples.at(-1));
      samples.push(sample);
      heads.push(sample.head);
      this.options.onInterval?.(sample, { intervals: this.intervals, nodes: this.nodeIds });
      // Stop once ingest is over, every node holds the head and the checker has said so (ingest
      // that never stops runs every interval: the point is to watch convergence hold).
      if (endsConverged(this.options, sample)) break;
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
      // Any interval number will do: the body is poison either way.
      await injectPoison(this.clients.sqs, this.resources.queues.microbatch.url, `${this.runId}-${j}`, victim, intervalIndex(tick, t));
      faults.poison += POISON_MESSAGES;
    }
    const plan = await this.plan({ scheduledTime: tick.toISOString(), executionId: randomUUID() }, faults);
    // The interval clock's number for the tick, as the planner gave it.
    const k = plan.start.interval;
    if (j === 1) {
      // b_i of the first plan: its tokens carry each node from the cursor it saw to the plan's target.
      const plans = await readPlans(this.settings.stream, k, { ledger: new DynamoPlanLedger(this.clients.doc, this.resources.tables.plans), convergence: new DynamoConvergenceStore(this.clients.doc, this.resources.tables.convergence) });
      this.firstShares = new Map([...plans].map(([nodeId, { entry }]) => [nodeId, microbatchCount(entry.plannedSeq - (entry.progressSeq ?? 0), this.settings.batchSize)]));
    }
    timer.lap('plan');

    const drained = await this.eventSource.drain();
    faults.duplicate += drained.faults.duplicate;
    faults.crash += drained.faults.crash;
    faults.reorder += drained.faults.reorder;
    faults.lose += drained.faults.lose;
    const nodes = (await listActive(this.stores.nodes)).nodes;
    const cursors = new Map(nodes.map((node) => [node.nodeId, node.appliedSeq]));
    const lagByNode = Object.fromEntries(this.nodeIds.map((nodeId) => [nodeId, head - (cursors.get(nodeId) ?? 0)]));
    timer.lap('drain');

    // The checker runs on the next tick: it judges the plans of the intervals before its own.
    const nextTick = new Date((this.startSeconds + (j + 1) * t) * 1000);
    const check = await this.ticks.check({ scheduledTime: nextTick.toISOString(), executionId: randomUUID() });
    faults.throttle += this.proxy.throttled() - throttledBefore;
    timer.lap('check');
    this.log(`interval ${j}: ${timer.describe()}; ${plural(drained.batches, 'batch', 'batches')}, ${plural(drained.invocations, 'applier invocation')}, ${plural(drained.returned, 'record')} returned to the queue`);

    return {
      index: j,
      k,
      head,
      ingested: head - (previous?.head ?? 0),
      microbatchesPlanned: plan.record.microbatches ?? 0,
      shards: plan.start.shards,
      microbatchesApplied: this.intervalTally.microbatchesApplied,
      duplicatesSkipped: this.intervalTally.duplicatesSkipped,
      deadLettered: (await this.deadLettered()) - deadLetteredBefore,
      lagByNode,
      allAtHead: Object.values(lagByNode).every((lag) => lag === 0),
      checkerConverged: check.progress.outcome?.latest?.converged ?? null,
      faults,
    };
  }

  /** The synthetic producer: interval j's requests, each sent through the ingest handler. */
  private async produce(j: number): Promise<void> {
    for (const [request, updates] of this.workload.requests(j).entries()) {
      await ingest(this.host, { updates, idempotencyKey: `${this.runId}:${j}:${request}` }, this.log);
    }
  }

  /** The planner on the Scheduler payload the stack configures, then its shards; with `planner-duplicate`, maybe twice. */
  private async plan(event: SchedulerPayload, faults: FaultCounts): Promise<PlanTick> {
    const { tick, duplicated } = await planMaybeTwice(this.ticks, event, this.random.plannerDuplicate, this.faults.plannerDuplicate);
    if (duplicated) faults.plannerDuplicate += 1;
    return tick;
  }

  private deadLettered(): Promise<number> {
    return queueDepth(this.clients.sqs, this.resources.queues.microbatchDeadLetter.url);
  }
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

/** A producer retries a failed request with the same idempotency key: the log appends it once. */
async function ingest(host: LambdaHost, request: { readonly updates: readonly NewUpdate[]; readonly idempotencyKey: string }, log: (line: string) => void): Promise<AppendResult> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await host.invoke<AppendResult>('ingest', request);
    } catch (error) {
      if (attempt >= 3) throw new HandlerFailedError('ingest', attempt, error);
      log(`ingest attempt ${attempt} failed, retrying with the same idempotency key: ${describeError(error)}`);
    }
  }
}

async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Number(Attributes.ApproximateNumberOfMessages ?? 0);
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

