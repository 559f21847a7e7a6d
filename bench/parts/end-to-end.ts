/**
 * The whole pipeline locally, against what no design can avoid, in one run on one DynamoDB Local:
 *
 *   - overheadVsWriteFloor: the pipeline's wall time at b = 100 (10 nodes, 2,000 updates ingested
 *     in the first interval, then ticks until the checker judges the fleet converged) over the
 *     time the same log transactions and replica conditional PutItems take when made directly, at
 *     the same concurrency (bench/pipeline/write-floor.ts), the floor made right after the
 *     pipeline; the same ratio by the CPU this process and DynamoDB Local burnt stands beside it;
 *   - speedupVsPerUpdate: the same workload at b = 1 — the seed's one message per update, set as
 *     the stack's batch size — over b = 100 (the rounds' mean), by wall time;
 *   - costPerMillionUpdates: each run's counted requests (DynamoDB units by the meter, billable SQS
 *     requests, Lambda invocations and GB-seconds from the local host's measured durations) at
 *     on-demand list prices (bench/pricing.ts), per million updates applied on a node.
 *
 * A small warm-up round of the pipeline and its floor comes first, so no timed run pays for
 * DynamoDB Local's JIT alone. Every run is audited: each replica must equal a replay of the log.
 */
import { loadavg } from 'node:os';
import type { Emulators } from '#local/emulators.ts';
import type { FunctionName } from '#local/lambda-host.ts';
import { CapacityLedger, type CapacityTally } from '../capacity/tally.ts';
import { runPipeline, type PipelineRun, type Workload } from '../pipeline/local-pipeline.ts';
import { timeline, type TimeKind } from '../pipeline/timeline.ts';
import { floorWrites, runWriteFloor, type FloorRun, type FloorWrites } from '../pipeline/write-floor.ts';
import { billableSqsRequests, costOf, perMillion, PRICES, type Cost } from '../pricing.ts';
import { startRequestRecorder, type Exchange } from '../request-recorder.ts';

/** 10 nodes whose shares (600–1,680 updates an interval at t = 60 s) take the 2,000 updates in two to four intervals. */
export const WORKLOAD: Workload = { rates: [10, 12, 14, 16, 18, 20, 22, 24, 26, 28], updates: 2_000, keys: 200, intervalSeconds: 60, concurrency: 1 };
const WARM_UP: Workload = { ...WORKLOAD, updates: 300 };
/**
 * Pipeline-then-floor rounds. One: the b = 1 run already takes most of the part's minutes, and the
 * CPU ratio beside the wall-time ratio is what another helper's load on the machine does not move
 * (two rounds on a busy machine gave wall ratios 1.47 and 1.63 in one run, 1.00 and 1.10 in another).
 */
const ROUNDS = 1;

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
  /** CPU of this process and DynamoDB Local in each stretch, and their ratio: what other load on the machine does not move. */
  readonly pipelineCpuMs: number;
  readonly floorCpuMs: number;
  readonly cpuRatio: number;
  /** The machine's 1-minute load average as the round started. */
  readonly loadAverage: number;
  /** Where each one's wall time went (ms): bench/pipeline/timeline.ts. */
  readonly pipelineTimeline: Readonly<Record<TimeKind, number>>;
  readonly floorTimeline: Readonly<Record<TimeKind, number>>;
  /** The floor's writes; its write units equal the pipeline's log, marker and replica writes. */
  readonly floor: { readonly transactions: number; readonly puts: number; readonly groups: number; readonly wru: number };
}

export interface EndToEndResult {
  readonly workload: Workload;
  readonly overheadVsWriteFloor: number;
  /** The same by the CPU this process and DynamoDB Local spent. */
  readonly overheadVsWriteFloorCpu: number;
  readonly speedupVsPerUpdate: number;
  readonly speedupVsPerUpdateCpu: number;
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

/** A pipeline run reduced to what the part reports and the writes its floor makes again. */
interface Measured {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly figures: RunFigures;
  readonly writes: FloorWrites;
}

/** A full collection, when the process runs with --expose-gc (npm run bench does). */
function collectGarbage(): void {
  globalThis.gc?.();
}

function requireClean(run: PipelineRun): void {
  const differences = run.audit.mismatched + run.audit.missing + run.audit.extra;
  if (!run.converged || differences > 0) {
    throw new Error(`the b = ${run.batchSize} run ${run.converged ? '' : 'did not converge and '}left ${differences} replica differences: ${run.audit.examples.join('; ')}`);
  }
}

export async function measureEndToEnd(progress: (line: string) => void, emulators: Emulators): Promise<EndToEndResult> {
  const recorder = startRequestRecorder();
  try {
    // A run is reduced to its figures, its timeline and the floor's writes at once, and dropped:
    // the next timed stretch starts after a full garbage collection with none of it on the heap
    // (a few tens of MB of parsed requests made the floor after a run measurably slower).
    const pipeline = async (workload: Workload, batchSize: number): Promise<Measured> => {
      collectGarbage();
      const run = await runPipeline(workload, batchSize, emulators.endpoints, recorder, progress);
      requireClean(run);
      return {
        wallMs: run.wallMs,
        cpuMs: run.cpuMs,
        figures: figures(run, new CapacityLedger().charge(run.dynamodb)),
        writes: floorWrites(run.dynamodb),
      };
    };
    const floorOf = async (writes: FloorWrites): Promise<{ readonly run: FloorRun; readonly exchanges: Exchange[] }> => {
      collectGarbage();
      const run = await runWriteFloor(writes, emulators.endpoints, recorder);
      return { run, exchanges: recorder.take() };
    };
    progress(`end to end: warm-up (${WARM_UP.updates} updates and their floor)…`);
    await floorOf((await pipeline(WARM_UP, 100)).writes);

    const rounds: Round[] = [];
    let microbatch: RunFigures | undefined;
    for (let round = 1; round <= ROUNDS; round += 1) {
      progress(`end to end: round ${round}/${ROUNDS}: b = 100, ${WORKLOAD.rates.length} nodes, ${WORKLOAD.updates} updates…`);
      const loadAverage = Number((loadavg()[0] ?? 0).toFixed(2));
      const run = await pipeline(WORKLOAD, 100);
      microbatch ??= run.figures;
      progress(`end to end: b = 100 took ${Math.round(run.wallMs)} ms; now the same writes made directly…`);
      const floor = await floorOf(run.writes);
      rounds.push({
        pipelineMs: Math.round(run.wallMs),
        floorMs: Math.round(floor.run.wallMs),
        ratio: Number((run.wallMs / floor.run.wallMs).toFixed(2)),
        pipelineCpuMs: run.cpuMs,
        floorCpuMs: floor.run.cpuMs,
        cpuRatio: Number((run.cpuMs / floor.run.cpuMs).toFixed(2)),
        loadAverage,
        pipelineTimeline: run.figures.timeline,
        floorTimeline: timeline(floor.exchanges, floor.run.startedAt, floor.run.endedAt),
        floor: { transactions: floor.run.transactions, puts: floor.run.puts, groups: floor.run.groups, wru: new CapacityLedger().charge(floor.exchanges).writeUnits },
      });
      progress(`end to end: the write floor took ${Math.round(floor.run.wallMs)} ms (${rounds.at(-1)?.ratio ?? Number.NaN}×; by CPU ${rounds.at(-1)?.cpuRatio ?? Number.NaN}×)`);
    }
    if (microbatch === undefined) throw new Error('no round ran');
    progress('end to end: now b = 1 (one message per update)…');
    const perUpdate = await pipeline(WORKLOAD, 1);
    progress(`end to end: b = 1 took ${Math.round(perUpdate.wallMs)} ms`);

    const runs = { microbatch, perUpdate: perUpdate.figures };
    const updatesApplied = runs.microbatch.updatesApplied;
    const costs = { microbatch: perMillion(runs.microbatch.cost, updatesApplied), perUpdate: perMillion(runs.perUpdate.cost, updatesApplied) };
    const sum = (pick: (round: Round) => number): number => rounds.reduce((total, round) => total + pick(round), 0);
    const microbatchMs = sum((round) => round.pipelineMs) / rounds.length;
    return {
      workload: WORKLOAD,
      overheadVsWriteFloor: Number((sum((round) => round.pipelineMs) / sum((round) => round.floorMs)).toFixed(2)),
      overheadVsWriteFloorCpu: Number((sum((round) => round.pipelineCpuMs) / sum((round) => round.floorCpuMs)).toFixed(2)),
      speedupVsPerUpdate: Number((perUpdate.wallMs / microbatchMs).toFixed(2)),
      speedupVsPerUpdateCpu: Number((perUpdate.cpuMs / (sum((round) => round.pipelineCpuMs) / rounds.length)).toFixed(2)),
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
    recorder.stop();
  }
}
