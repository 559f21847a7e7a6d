/**
 * The whole pipeline on the emulators, for the end-to-end benchmark: the real handlers in the local
 * Lambda host (local/lambda-host.ts), the FIFO event source draining the queue into the applier
 * (local/event-source.ts), tables and queues from infra/definitions.ts (local/resources.ts). One
 * run ingests a workload through the ingest handler in interval 1, then ticks — planner, drain,
 * checker at the next tick — until the checker judges the interval converged.
 *
 * Every request the handlers (and the event source, which is Lambda's in AWS) make is recorded
 * for counting (bench/request-recorder.ts); the runtime's own setup and audit are recorded too, and
 * left out: the recorder is emptied as the clock starts, and taken as it stops. The batch size b
 * is the stack's setting, as the functions read it from their environment. Containers are started
 * before the clock starts (a cold start of a TypeScript module in this process is not a cost of the
 * design), and no fault is injected.
 */
import type { SQSBatchResponse } from 'aws-lambda';
import { randomBytes, randomUUID } from 'node:crypto';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { DynamoReplicaStore } from '#shared/adapters/dynamodb/replica-store.ts';
import { validateSettings } from '#shared/domain/config.ts';
import { MAX_UPDATES_PER_REQUEST } from '#shared/domain/schemas.ts';
import type { NewUpdate } from '#shared/domain/types.ts';
import { auditReplicas } from '#local/audit.ts';
import { LOCAL_REGION, localDocumentClient, localDynamoClient, localSqsClient, type EmulatorEndpoints } from '#local/emulators.ts';
import { FifoEventSource } from '#local/event-source.ts';
import { functionEnvironment, lambdaContext, LambdaHost, type FunctionName } from '#local/lambda-host.ts';
import { seededRandom } from '#local/random.ts';
import { createResources, type LocalResources } from '#local/resources.ts';
import { ShardedTicks } from '#local/sharded-ticks.ts';
import type { AuditResult } from '#local/summary.ts';
import { cpuBetween, sampleCpu } from '../process-cpu.ts';
import type { Exchange, RequestRecorder } from '../request-recorder.ts';

export interface Workload {
  /** Node rates (updates a second), one per node. */
  readonly rates: readonly number[];
  /** Updates ingested in the first interval. */
  readonly updates: number;
  /** Distinct keys the updates touch. */
  readonly keys: number;
  readonly intervalSeconds: number;
  /** Batches the event source keeps in flight (Lambda's concurrency for the source). */
  readonly concurrency: number;
}

/** Invocations of one function and their billed duration (each rounded up to a millisecond). */
export interface InvocationTally {
  count: number;
  billedMs: number;
  readonly memoryMb: number;
}

export interface PipelineRun {
  readonly batchSize: number;
  /** From the first ingest to the checker's converged verdict. */
  readonly wallMs: number;
  /** The timed stretch, on the `performance.now()` clock the recorded requests use. */
  readonly startedAt: number;
  readonly endedAt: number;
  /** CPU this process and DynamoDB Local spent in the timed stretch (ms). */
  readonly cpuMs: number;
  readonly intervals: number;
  readonly converged: boolean;
  readonly updatesIngested: number;
  readonly microbatchesPlanned: number;
  /** The handlers' and the event source's requests in the timed run, in the order their answers came. */
  readonly dynamodb: readonly Exchange[];
  readonly sqs: readonly Exchange[];
  readonly invocations: Readonly<Record<FunctionName, InvocationTally>>;
  readonly resources: LocalResources;
  readonly audit: AuditResult;
}

const STREAM = 'main';
const FUNCTIONS: readonly FunctionName[] = ['ingest', 'planner', 'plannerShard', 'applier', 'checker', 'checkerShard'];
/** Ticks before a run that has not converged is given up (the workloads here converge in a few). */
const MAX_INTERVALS = 30;

/** Puts and deletes over `keys` keys, every put a different value. */
export function workloadUpdates(count: number, keys: number, seed: number): NewUpdate[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, index) => {
    const key = `key-${Math.floor(random() * keys) + 1}`;
    if (random() < 0.1) return { key, op: 'delete' };
    return { key, op: 'put', value: { serial: index + 1, amount: Math.round(random() * 100_000) / 100, tags: random() < 0.5 ? ['a'] : ['b', 'c'] } };
  });
}

export async function runPipeline(
  workload: Workload,
  batchSize: number,
  endpoints: EmulatorEndpoints,
  recorder: RequestRecorder,
  log: (line: string) => void,
): Promise<PipelineRun> {
  const runId = randomBytes(3).toString('hex');
  const settings = validateSettings({ stream: STREAM, intervalSeconds: workload.intervalSeconds, batchSize }, 'local');
  const admin = { dynamodb: localDynamoClient(endpoints.dynamodb), sqs: localSqsClient(endpoints.sqs), doc: localDocumentClient(endpoints.dynamodb) };
  const eventSqs = localSqsClient(endpoints.sqs);
  try {
    const resources = await createResources(admin, { prefix: `bench-e2e-${runId}` });
    const stores = {
      log: new DynamoLogStore(admin.doc, resources.tables.log),
      nodes: new DynamoNodeRepository(admin.doc, resources.tables.nodes),
      replica: new DynamoReplicaStore(admin.doc, resources.tables.replica),
    };
    const nodeIds = workload.rates.map((_, index) => `node-${String(index + 1).padStart(2, '0')}`);
    await Promise.all(nodeIds.map((nodeId, index) => stores.nodes.register({ nodeId, rate: workload.rates[index] ?? 1 })));

    const host = new LambdaHost(
      functionEnvironment({ settings, resources: resources.functionResources, endpoints, logLevel: 'SILENT' }),
      runId,
    );
    const invocations = Object.fromEntries(
      FUNCTIONS.map((name) => [name, { count: 0, billedMs: 0, memoryMb: Number(lambdaContext(name, 'bench').memoryLimitInMB) }]),
    ) as Record<FunctionName, InvocationTally>;
    const invoke = async <T>(name: FunctionName, event: unknown): Promise<T> => {
      const started = performance.now();
      try {
        return await host.invoke<T>(name, event);
      } finally {
        invocations[name].count += 1;
        invocations[name].billedMs += Math.ceil(performance.now() - started);
      }
    };
    const eventSource = new FifoEventSource({
      sqs: eventSqs,
      queue: resources.queues.microbatch,
      region: LOCAL_REGION,
      invoke: (event) => invoke<SQSBatchResponse>('applier', event),
      faults: () => ({ duplicate: 0, crash: 0, reorder: 0, lose: 0 }),
      random: seededRandom(1),
      concurrency: workload.concurrency,
      onInvocationError: (error) => {
        log(`applier invocation failed: ${String(error)}`);
      },
    });

    const ticks = new ShardedTicks({ invoke, sqs: eventSqs, doc: admin.doc, resources, stream: STREAM, onInvocationError: (error) => { log(`shard invocation failed: ${String(error)}`); } });

    // Start every container with an event it refuses: the module loads, nothing is written. The
    // refusals' only output is Powertools' "no metrics to publish" warning on stderr: held back.
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = () => true;
    try {
      for (const name of FUNCTIONS) await host.invoke(name, {}).catch(() => undefined);
    } finally {
      process.stderr.write = write;
    }
    recorder.take();
    for (const name of FUNCTIONS) invocations[name] = { ...invocations[name], count: 0, billedMs: 0 };

    const updates = workloadUpdates(workload.updates, workload.keys, 7);
    const t = workload.intervalSeconds;
    const startSeconds = Math.floor(Date.now() / 1000 / t) * t;
    const tick = (j: number): string => new Date((startSeconds + j * t) * 1000).toISOString();
    let converged = false;
    let intervals = 0;
    let microbatchesPlanned = 0;
    const cpu = sampleCpu();
    const started = performance.now();
    for (let j = 1; j <= MAX_INTERVALS && !converged; j += 1) {
      intervals = j;
      if (j === 1) {
        for (let offset = 0, request = 0; offset < updates.length; offset += MAX_UPDATES_PER_REQUEST, request += 1) {
          await invoke('ingest', { updates: updates.slice(offset, offset + MAX_UPDATES_PER_REQUEST), idempotencyKey: `${runId}:${request}` });
        }
      }
      const plan = await ticks.plan({ scheduledTime: tick(j), executionId: randomUUID() });
      const planned = plan.record.microbatches ?? 0;
      microbatchesPlanned += planned;
      await eventSource.drain();
      const check = await ticks.check({ scheduledTime: tick(j + 1), executionId: randomUUID() });
      const { latest } = check.progress.outcome ?? {};
      converged = latest?.interval === plan.start.interval && latest.converged && plan.start.head === updates.length;
      log(`  b = ${batchSize}, interval ${j}: ${planned} microbatches planned${converged ? ', converged' : ''}`);
    }
    const endedAt = performance.now();
    const cpuMs = cpuBetween(cpu, sampleCpu());
    const wallMs = endedAt - started;
    const exchanges = recorder.take();
    const dynamodb = exchanges.filter((exchange) => exchange.service === 'dynamodb');
    const sqs = exchanges.filter((exchange) => exchange.service === 'sqs');
    const audit = await auditReplicas(nodeIds, { stream: STREAM, ...stores });
    return { batchSize, wallMs, startedAt: started, endedAt, cpuMs, intervals, converged, updatesIngested: updates.length, microbatchesPlanned, dynamodb, sqs, invocations, resources, audit };
  } finally {
    eventSqs.destroy();
    admin.dynamodb.destroy();
    admin.sqs.destroy();
    admin.doc.destroy();
  }
}
