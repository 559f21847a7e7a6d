/**
 * Realistic run summaries for the report tests, built by replaying the planner's formula over a
 * synthetic workload rather than typed by hand, so heads, lags, per-node convergence and the
 * theoretical bound agree with each other the way a real run's do.
 */
import { microbatchCount, sharePerInterval } from '#shared/domain/formula.ts';
import { theoreticalMinInterval } from '#local/bounds.ts';
import { perFaultKind, type FaultKind } from '#local/faults.ts';
import type { FaultCounts, IntervalSample, NodeSummary, RunSummary } from '#local/summary.ts';
import { ingestContinues, noFaults, peakIngest, totalFaults } from '#local/summary.ts';
import { seededRandom } from '#local/random.ts';

export interface SyntheticRun {
  /** r_i per node, updates per second, in the order the nodes were registered. */
  readonly rates: Readonly<Record<string, number>>;
  readonly intervals: number;
  readonly intervalSeconds: number;
  readonly batchSize: number;
  /** Updates per second the producer ingests, ±20 % per interval. */
  readonly ingestRate: number;
  readonly quietAfter: number;
  /** Inject the fault mix of a `--faults` run: duplicates, crashes, throttles, one poison message… */
  readonly faults: boolean;
  readonly seed: number;
}

/** Six nodes, ingest stopping after interval 6, one slow node (node-f) that converges last. */
export const DEFAULT_RUN: SyntheticRun = {
  rates: { 'node-a': 14, 'node-b': 11, 'node-c': 20, 'node-d': 12.5, 'node-e': 16, 'node-f': 8 },
  intervals: 10,
  intervalSeconds: 60,
  batchSize: 100,
  ingestRate: 12,
  quietAfter: 6,
  faults: true,
  seed: 1,
};

/** The fault string a `--faults` run of DEFAULT_RUN was started with. */
const FAULT_SETTING = 'duplicate=0.05,crash=0.02,throttle=0.05,poison=0.01,planner-duplicate=0.2,reorder';


interface NodeState {
  readonly nodeId: string;
  readonly rate: number;
  readonly share: number;
  cursor: number;
  firstIntervalMicrobatches: number;
  microbatchesApplied: number;
  duplicatesSkipped: number;
}

/** A whole RunSummary from a synthetic workload; `overrides` replace fields of DEFAULT_RUN. */
export function syntheticSummary(overrides: Partial<SyntheticRun> = {}): RunSummary {
  const run = { ...DEFAULT_RUN, ...overrides };
  const random = seededRandom(run.seed);
  const ingestPerInterval = run.ingestRate * run.intervalSeconds;
  const nodes: NodeState[] = Object.entries(run.rates).map(([nodeId, rate]) => ({
    nodeId,
    rate,
    share: sharePerInterval(rate, run.intervalSeconds),
    cursor: 0,
    firstIntervalMicrobatches: 0,
    microbatchesApplied: 0,
    duplicatesSkipped: 0,
  }));
  const slowest = nodes.reduce<NodeState | undefined>((slow, node) => (slow === undefined || node.rate < slow.rate ? node : slow), undefined);

  let head = 0;
  const heads: number[] = [];
  const intervals: IntervalSample[] = [];
  for (let index = 1; index <= run.intervals; index++) {
    const ingested = index <= run.quietAfter ? Math.round(ingestPerInterval * (0.8 + 0.4 * random())) : 0;
    head += ingested;
    heads.push(head);
    const faults = run.faults ? intervalFaults(index, random) : noFaults();
    let planned = 0;
    let applied = 0;
    let duplicatesSkipped = 0;
    for (const node of nodes) {
      const updates = Math.max(0, Math.min(head - node.cursor, node.share));
      const count = microbatchCount(updates, run.batchSize);
      if (index === 1) node.firstIntervalMicrobatches = count;
      planned += count;
      // A crash on the slowest node loses its last microbatch of the interval; the next plan starts
      // again from the cursor, so the node finishes later than the bound.
      const crashed = faults.crash > 0 && node === slowest && count > 0;
      const appliedNow = crashed ? count - 1 : count;
      node.cursor += crashed ? (count - 1) * run.batchSize : updates;
      node.microbatchesApplied += appliedNow;
      applied += appliedNow;
      const skipped = run.faults && random() < 0.2 ? 1 : 0;
      node.duplicatesSkipped += skipped;
      duplicatesSkipped += skipped;
    }
    const lagByNode = Object.fromEntries(nodes.map((node) => [node.nodeId, head - node.cursor]));
    const allAtHead = nodes.every((node) => node.cursor >= head);
    intervals.push({
      index,
      k: 29_600_000 + index,
      head,
      shards: 1,
      ingested,
      microbatchesPlanned: planned,
      microbatchesApplied: applied,
      duplicatesSkipped,
      deadLettered: faults.poison,
      lagByNode,
      allAtHead,
      checkerConverged: index === 1 ? null : (intervals.at(-1)?.allAtHead ?? null),
      faults,
    });
  }

  const perNode = nodes.map((node) => nodeSummary(node, intervals, heads, run));
  const converged = perNode.every((node) => node.convergedAtInterval !== null);
  const sum = (pick: (sample: IntervalSample) => number): number => intervals.reduce((total, sample) => total + pick(sample), 0);
  return {
    converged,
    ingestContinued: ingestContinues({ quietAfter: run.quietAfter }, intervals),
    recoveryBoundInterval: null,
    convergedAtInterval: converged ? Math.max(0, ...perNode.map((node) => node.convergedAtInterval ?? 0)) : null,
    theoreticalMinIntervals: Math.max(0, ...perNode.map((node) => node.theoreticalMinInterval)),
    intervalsRun: run.intervals,
    updatesIngested: head,
    microbatchesPlanned: sum((sample) => sample.microbatchesPlanned),
    microbatchesApplied: sum((sample) => sample.microbatchesApplied),
    duplicatesSkipped: sum((sample) => sample.duplicatesSkipped),
    deadLettered: sum((sample) => sample.deadLettered),
    audit: { nodesChecked: nodes.length, mismatched: 0, missing: 0, extra: 0, examples: [] },
    faults: totalFaults(intervals),
    perNode,
    intervals,
    settings: {
      scenario: 'default',
      nodes: nodes.length,
      intervals: run.intervals,
      intervalSeconds: run.intervalSeconds,
      batchSize: run.batchSize,
      ingestRate: run.ingestRate,
      quietAfter: run.quietAfter,
      faultsUntil: null,
      keys: 500,
      seed: run.seed,
      faults: run.faults ? FAULT_SETTING : '',
    },
    durationMs: 8_421,
  };
}

/**
 * The faults a `--faults` run injects in one interval, per kind: a steady trickle of the common
 * kinds plus one of each rare kind in an interval of its own.
 */
const INTERVAL_FAULTS: Readonly<Record<FaultKind, (index: number, random: () => number) => number>> = {
  duplicate: (_, random) => Math.floor(random() * 3),
  crash: (index) => (index === 4 ? 1 : 0),
  throttle: (_, random) => Math.floor(random() * 4),
  poison: (index) => (index === 3 ? 1 : 0),
  plannerDuplicate: (_, random) => (random() < 0.3 ? 1 : 0),
  reorder: (_, random) => Math.floor(random() * 2),
  lose: (index) => (index === 5 ? 1 : 0),
};

/** Every kind of the catalogue, drawn in its order (the order decides which random draw each kind gets). */
function intervalFaults(index: number, random: () => number): FaultCounts {
  return perFaultKind(({ kind }) => INTERVAL_FAULTS[kind](index, random));
}

function nodeSummary(node: NodeState, intervals: readonly IntervalSample[], heads: readonly number[], run: SyntheticRun): NodeSummary {
  const finalHead = heads.at(-1) ?? 0;
  const atHead = intervals.findIndex((sample) => (sample.lagByNode[node.nodeId] ?? 0) === 0 && sample.head === finalHead);
  const lag = finalHead - node.cursor;
  return {
    nodeId: node.nodeId,
    rate: node.rate,
    sharePerInterval: node.share,
    microbatchesPerBusyInterval: microbatchCount(node.share, run.batchSize),
    firstIntervalMicrobatches: node.firstIntervalMicrobatches,
    cursor: node.cursor,
    lag,
    convergedAtInterval: lag === 0 && atHead >= 0 ? atHead + 1 : null,
    theoreticalMinInterval: theoreticalMinInterval(heads, node.rate, run.intervalSeconds),
    microbatchesApplied: node.microbatchesApplied,
    duplicatesSkipped: node.duplicatesSkipped,
    underProvisioned: node.share < (peakIngest(intervals)?.ingested ?? 0),
  };
}
