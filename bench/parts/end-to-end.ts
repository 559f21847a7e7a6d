/**
 * The whole pipeline locally, against what no design can avoid, in one run on one DynamoDB Local:
 *
 *   - overheadVsWriteFloor: the pipeline's wall time at b = 100 (10 nodes, 2,000 updates ingested
 *     in the first interval, then ticks until the checker judges the fleet converged) over the
 *     time the same log transactions and replica conditional PutItems take when made directly, at
 *     the same concurrency (bench/pipeline/write-floor.ts) — two rounds of pipeline then floor,
 *     the ratio of their sums;
 *   - speedupVsPerUpdate: the same workload at b = 1 — the seed's one message per update, set as
 *     the stack's batch size — over b = 100 (the rounds' mean), by wall time;
 *   - costPerMillionUpdates: each run's counted requests (DynamoDB units by the meter, billable SQS
 *     requests, Lambda invocations and GB-seconds from the local host's measured durations) at
 *     on-demand list prices (bench/pricing.ts), per million updates applied on a node.
 *
 * A small warm-up round of the pipeline and its floor comes first, so no timed run pays for
 * DynamoDB Local's JIT alone. Every run is audited: each replica must equal a replay of the log.
 */
import type { Emulators } from '../../local/emulators.ts';
import type { FunctionName } from '../../local/lambda-host.ts';
import { CapacityLedger, type CapacityTally } from '../capacity/tally.ts';
import { runPipeline, type PipelineRun, type Workload } from '../pipeline/local-pipeline.ts';
import { timeline, type TimeKind } from '../pipeline/timeline.ts';
import { floorWrites, runWriteFloor } from '../pipeline/write-floor.ts';
import { billableSqsRequests, costOf, perMillion, PRICES, type Cost } from '../pricing.ts';
import { startRecordingProxy, type RecordingProxy } from '../recording-proxy.ts';

/** 10 nodes whose shares (600–1,680 updates an interval at t = 60 s) take the 2,000 updates in two to four intervals. */
export const WORKLOAD: Workload = { rates: [10, 12, 14, 16, 18, 20, 22, 24, 26, 28], updates: 2_000, keys: 200, intervalSeconds: 60, concurrency: 1 };
const WARM_UP: Workload = { ...WORKLOAD, updates: 300 };
const ROUNDS = 2;

export interface RunFigures {
  readonly batchSize: number;
  readonly wallMs: number;
  readonly intervals: number;
  readonly converged: boolean;
  /** Replicas that differ from a replay of the log (0: clean). */
  readonly auditDifferences: number;
  readonly microbatchesPlanned: number;
  readonly updatesApplied: number;
  readonly updatesAppliedPerSecond: number;
  readonly dynamodb: {
    readonly requests: number;
    readonly wru: number;
    readonly rru: number;
    readonly reportedByDynamoDbLocal: { readonly wru: number; readonly rru: number };
    readonly byOperation: Readonly<Record<string, number>>;
  };
  readonly sqs: { readonly billableRequests: number; readonly idleRequestsLeftOut: number };
  readonly lambda: { readonly invocations: Readonly<Record<FunctionName, number>>; readonly gbSeconds: number };
  /** USD for this run. */
  readonly cost: Cost;
  /** Where the wall time went (ms): bench/pipeline/timeline.ts. */
  readonly timeline: Readonly<Record<TimeKind, number>>;
}

/** One b = 100 pipeline run and the floor of its own writes, made right after it. */
export interface Round {
  readonly pipelineMs: number;
  readonly floorMs: number;
  readonly ratio: number;
  /** Where each one's wall time went (ms): bench/pipeline/timeline.ts. */
  readonly pipelineTimeline: Readonly<Record<TimeKind, number>>;
  readonly floorTimeline: Readonly<Record<TimeKind, number>>;
  /** The floor's writes; its write units equal the pipeline's log, marker and replica writes. */
  readonly floor: { readonly transactions: number; readonly puts: number; readonly groups: number; readonly wru: number };
}

export interface EndToEndResult {
  readonly workload: Workload;
  readonly overheadVsWriteFloor: number;
  readonly speedupVsPerUpdate: number;
  readonly costPerMillionUpdates: {
    /** What a million updates applied on a node cost: 2,000 ingested × 10 nodes are 20,000 a run. */
    readonly unit: string;
    readonly microbatch: Cost;
    readonly perUpdate: Cost;
    /** perUpdate over microbatch, total. */
    readonly ratio: number;
  };
  readonly prices: typeof PRICES;
  /** Each pipeline run at b = 100 and the floor of its writes, in the order they ran. */
  readonly rounds: readonly Round[];
  /** The first b = 100 run (its costs), and the b = 1 run. */
  readonly runs: { readonly microbatch: RunFigures; readonly perUpdate: RunFigures };
}

function figures(run: PipelineRun, tally: CapacityTally): RunFigures {
  const updatesApplied = run.updatesIngested * WORKLOAD.rates.length;
  const sqs = billableSqsRequests(run.sqs);
  const gbSeconds = Object.values(run.invocations).reduce((sum, tally) => sum + (tally.billedMs / 1000) * (tally.memoryMb / 1024), 0);
  const lambdaRequests = Object.values(run.invocations).reduce((sum, tally) => sum + tally.count, 0);
  const cost = costOf({ writeRequestUnits: tally.writeUnits, readRequestUnits: tally.readUnits, sqsRequests: sqs.billable, lambdaRequests, lambdaGbSeconds: gbSeconds });
  return {
    batchSize: run.batchSize,
    wallMs: Math.round(run.wallMs),
    intervals: run.intervals,
    converged: run.converged,
    auditDifferences: run.audit.mismatched + run.audit.missing + run.audit.extra,
    microbatchesPlanned: run.microbatchesPlanned,
    updatesApplied,
    updatesAppliedPerSecond: Math.round(updatesApplied / (run.wallMs / 1000)),
    dynamodb: {
      requests: tally.requests,
      wru: tally.writeUnits,
      rru: tally.readUnits,
      reportedByDynamoDbLocal: { wru: tally.reportedWriteUnits, rru: tally.reportedReadUnits },
      byOperation: tally.byOperation,
    },
    sqs: { billableRequests: sqs.billable, idleRequestsLeftOut: sqs.leftOut },
    lambda: {
      invocations: Object.fromEntries(Object.entries(run.invocations).map(([name, tally]) => [name, tally.count])) as Record<FunctionName, number>,
      gbSeconds: Number(gbSeconds.toFixed(3)),
    },
    cost,
    timeline: timeline([...run.dynamodb, ...run.sqs], run.startedAt, run.endedAt),
  };
}

function requireClean(run: PipelineRun): void {
  const differences = run.audit.mismatched + run.audit.missing + run.audit.extra;
  if (!run.converged || differences > 0) {
    throw new Error(`the b = ${run.batchSize} run ${run.converged ? '' : 'did not converge and '}left ${differences} replica differences: ${run.audit.examples.join('; ')}`);
  }
}

export async function measureEndToEnd(progress: (line: string) => void, emulators: Emulators): Promise<EndToEndResult> {
  const proxies: { dynamodb: RecordingProxy; sqs: RecordingProxy } = {
    dynamodb: await startRecordingProxy({ target: emulators.endpoints.dynamodb, service: 'dynamodb' }),
    sqs: await startRecordingProxy({ target: emulators.endpoints.sqs, service: 'sqs' }),
  };
  try {
    const pipeline = async (workload: Workload, batchSize: number): Promise<PipelineRun> => {
      const run = await runPipeline(workload, batchSize, emulators.endpoints, proxies, progress);
      requireClean(run);
      return run;
    };
    progress(`end to end: warm-up (${WARM_UP.updates} updates and their floor)…`);
    const warmUp = await pipeline(WARM_UP, 100);
    await runWriteFloor(floorWrites(warmUp.dynamodb), emulators.endpoints, proxies.dynamodb);
    await proxies.dynamodb.take();

    // Pipeline and floor twice, alternately: the machine's other load drifts, and the ratio of the
    // sums of two interleaved pairs is steadier than one pair's.
    const rounds: Round[] = [];
    let microbatch: PipelineRun | undefined;
    for (let round = 1; round <= ROUNDS; round += 1) {
      progress(`end to end: round ${round}/${ROUNDS}: b = 100, ${WORKLOAD.rates.length} nodes, ${WORKLOAD.updates} updates…`);
      const run = await pipeline(WORKLOAD, 100);
      microbatch ??= run;
      progress(`end to end: b = 100 took ${Math.round(run.wallMs)} ms; now the same writes made directly…`);
      const floor = await runWriteFloor(floorWrites(run.dynamodb), emulators.endpoints, proxies.dynamodb);
      const floorExchanges = await proxies.dynamodb.take();
      rounds.push({
        pipelineMs: Math.round(run.wallMs),
        floorMs: Math.round(floor.wallMs),
        ratio: Number((run.wallMs / floor.wallMs).toFixed(2)),
        pipelineTimeline: timeline([...run.dynamodb, ...run.sqs], run.startedAt, run.endedAt),
        floorTimeline: timeline(floorExchanges, floor.startedAt, floor.endedAt),
        floor: { transactions: floor.transactions, puts: floor.puts, groups: floor.groups, wru: new CapacityLedger().charge(floorExchanges).writeUnits },
      });
      progress(`end to end: the write floor took ${Math.round(floor.wallMs)} ms (${rounds.at(-1)?.ratio ?? Number.NaN}×)`);
    }
    if (microbatch === undefined) throw new Error('no round ran');
    progress('end to end: now b = 1 (one message per update)…');
    const perUpdate = await pipeline(WORKLOAD, 1);
    progress(`end to end: b = 1 took ${Math.round(perUpdate.wallMs)} ms`);

    const runs = { microbatch: figures(microbatch, new CapacityLedger().charge(microbatch.dynamodb)), perUpdate: figures(perUpdate, new CapacityLedger().charge(perUpdate.dynamodb)) };
    const updatesApplied = runs.microbatch.updatesApplied;
    const costs = { microbatch: perMillion(runs.microbatch.cost, updatesApplied), perUpdate: perMillion(runs.perUpdate.cost, updatesApplied) };
    const sum = (pick: (round: Round) => number): number => rounds.reduce((total, round) => total + pick(round), 0);
    const microbatchMs = sum((round) => round.pipelineMs) / rounds.length;
    return {
      workload: WORKLOAD,
      overheadVsWriteFloor: Number((sum((round) => round.pipelineMs) / sum((round) => round.floorMs)).toFixed(2)),
      speedupVsPerUpdate: Number((perUpdate.wallMs / microbatchMs).toFixed(2)),
      costPerMillionUpdates: {
        unit: `USD per million updates applied on a node (${WORKLOAD.updates} ingested × ${WORKLOAD.rates.length} nodes = ${updatesApplied} a run)`,
        ...costs,
        ratio: Number((costs.perUpdate.total / costs.microbatch.total).toFixed(2)),
      },
      prices: PRICES,
      rounds,
      runs,
    };
  } finally {
    await proxies.dynamodb.stop();
    await proxies.sqs.stop();
  }
}
