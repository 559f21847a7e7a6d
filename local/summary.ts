/**
 * What a local run reports: the shape of `out/summary.json`, of `--json` output, and the input of
 * the HTML report. Pure types and pure arithmetic, shared by the runtime, the report and the tests.
 */
import { validateRate } from '#shared/domain/config.ts';
import { sharePerInterval } from '#shared/domain/formula.ts';
import { perFaultKind, type FaultKind } from './faults.ts';

/** How many faults of each kind (local/faults.ts FAULTS) a run, or one interval of it, injected. */
export type FaultCounts = Record<FaultKind, number>;

/** One node at the end of a run. */
export interface NodeSummary {
  readonly nodeId: string;
  /** r_i, updates per second. */
  readonly rate: number;
  /** ceil(r_i · t): the most the node takes per interval. */
  readonly sharePerInterval: number;
  /** ceil(r_i · t / b): microbatches per interval while the node has backlog (the write-up's formula). */
  readonly microbatchesPerBusyInterval: number;
  /** b_i the planner actually gave the node in the first interval (min(lag, share) cut into ≤ b). */
  readonly firstIntervalMicrobatches: number;
  /** appliedSeq at the end. */
  readonly cursor: number;
  readonly lag: number;
  /**
   * Ingest that stops: the 1-based interval of the run after which the node first held the final
   * head. Ingest that never stops: the interval from which it held each interval's head at every
   * interval to the end. Null if never.
   */
  readonly convergedAtInterval: number | null;
  /**
   * Ingest that stops: the earliest interval it could have, applying ceil(r_i · t) per interval.
   * Ingest that never stops: its recovery bound, F + staleAfterIntervals + ceil(deficit / (share −
   * ingest)) + 1 with F the first interval after the faults (the run's length + 1 for a node whose
   * share does not exceed the ingest: it cannot keep up).
   */
  readonly theoreticalMinInterval: number;
  readonly microbatchesApplied: number;
  readonly duplicatesSkipped: number;
  /** ceil(r_i · t) below the average ingest per interval: cannot keep up while ingest continues. */
  readonly underProvisioned: boolean;
}

/** What happened in one interval of the run. */
export interface IntervalSample {
  /** 1-based position in the run. */
  readonly index: number;
  /** The interval index k the handlers saw. */
  readonly k: number;
  readonly head: number;
  readonly ingested: number;
  readonly microbatchesPlanned: number;
  readonly microbatchesApplied: number;
  readonly duplicatesSkipped: number;
  readonly deadLettered: number;
  /** head − appliedSeq per node after the interval's deliveries. */
  readonly lagByNode: Readonly<Record<string, number>>;
  /** Every active node holds the head after this interval. */
  readonly allAtHead: boolean;
  /** The checker's verdict on the previous interval's plan, when there was one. */
  readonly checkerConverged: boolean | null;
  readonly faults: Readonly<FaultCounts>;
}

export interface AuditResult {
  readonly nodesChecked: number;
  /** Items whose value, seq or timestamp differs from the replay. */
  readonly mismatched: number;
  /** Keys the replay has and the replica lacks. */
  readonly missing: number;
  /** Keys the replica has and the replay lacks. */
  readonly extra: number;
  /** The first few differences, for a person to read. */
  readonly examples: readonly string[];
}

export interface RunSettings {
  readonly scenario: 'default' | 'seed';
  readonly nodes: number;
  readonly intervals: number;
  readonly intervalSeconds: number;
  readonly batchSize: number;
  readonly ingestRate: number;
  /** Intervals after which ingest stops; null: it never stops. */
  readonly quietAfter: number | null;
  /** Faults strike in intervals ≤ this; null: in every interval. */
  readonly faultsUntil: number | null;
  readonly keys: number;
  readonly seed: number;
  readonly faults: string;
}

export interface RunSummary {
  /**
   * Ingest that stops: every node held the final head and the checker said so. Ingest that never
   * stops: every interval from the recovery bound to the last was judged converged.
   */
  readonly converged: boolean;
  /** Ingest that never stops: the interval from which every interval must be converged (the largest node bound); null otherwise. */
  readonly recoveryBoundInterval: number | null;
  readonly convergedAtInterval: number | null;
  readonly theoreticalMinIntervals: number;
  readonly intervalsRun: number;
  readonly updatesIngested: number;
  readonly microbatchesPlanned: number;
  readonly microbatchesApplied: number;
  readonly duplicatesSkipped: number;
  readonly deadLettered: number;
  readonly audit: AuditResult;
  readonly faults: Readonly<FaultCounts>;
  readonly perNode: readonly NodeSummary[];
  readonly intervals: readonly IntervalSample[];
  readonly settings: RunSettings;
  readonly durationMs: number;
}

export function noFaults(): FaultCounts {
  return perFaultKind(() => 0);
}

/** The faults of every sample, added up per kind. */
export function totalFaults(samples: readonly Pick<IntervalSample, 'faults'>[]): FaultCounts {
  return perFaultKind(({ kind }) => samples.reduce((sum, sample) => sum + sample.faults[kind], 0));
}

/**
 * The earliest 1-based interval by which a node of `rate` could hold `heads.at(-1)`, taking at most
 * ceil(r·t) per interval, where `heads[j]` is the head after interval j+1's ingest (planning sees it).
 */
export function theoreticalMinInterval(heads: readonly number[], rate: number, intervalSeconds: number): number {
  if (heads.length === 0) return 0;
  // A rate must be positive (validateRate): a node of rate 0 could never converge.
  const share = sharePerInterval(validateRate(rate), intervalSeconds);
  const finalHead = heads.at(-1) ?? 0;
  let applied = 0;
  for (const [index, head] of heads.entries()) {
    applied = Math.min(head, applied + share);
    if (applied >= finalHead) return index + 1;
  }
  // Ingest stopped at the last head: keep applying a share per interval.
  return heads.length + Math.ceil((finalHead - applied) / share);
}
