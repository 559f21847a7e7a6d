/**
 * What a local run reports: the shape of `out/summary.json`, of `--json` output, and the input of
 * the HTML report; when a run's faults stop and its fleet's recovery bound (each node's bound is
 * `bounds.ts` arithmetic); and `summarize`, which turns what a run recorded into that shape. Pure
 * types and pure arithmetic, shared by the runtime, the report and the tests.
 */
import { DEFAULT_SETTINGS, type SyncSettings } from '#shared/domain/config.ts';
import { microbatchCount, sharePerInterval } from '#shared/domain/formula.ts';
import { CONVERGENCE_SLACK_INTERVALS, nodeRecoveryBound, theoreticalMinInterval } from './bounds.ts';
import { formatFaults, perFaultKind, type FaultKind } from './faults.ts';
import type { Scenario, ScenarioOptions } from './scenario.ts';

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
  /**
   * Its share ceil(r_i · t) was below the updates the run ingested in some interval (see
   * {@link peakIngest}): the node fell behind while ingest ran. What the run did, not the configured
   * rate: a run whose intervals never ingested more than the share does not flag the node.
   */
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
  /** Planner shards the interval was cut into (each planned its own Scan segments). */
  readonly shards: number;
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
  readonly scenario: Scenario;
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
  /**
   * Whether ingest ran to the end of the run, so "converged" is judged against the recovery bound:
   * it never stops, or it stopped only with the last interval and the run did not end converged.
   */
  readonly ingestContinued: boolean;
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

/** The interval that ingested the most updates, or undefined when no interval ingested any. */
export function peakIngest(samples: readonly Pick<IntervalSample, 'index' | 'ingested'>[]): { readonly index: number; readonly ingested: number } | undefined {
  let peak: { index: number; ingested: number } | undefined;
  for (const { index, ingested } of samples) if (ingested > 0 && ingested > (peak?.ingested ?? 0)) peak = { index, ingested };
  return peak;
}

export function noFaults(): FaultCounts {
  return perFaultKind(() => 0);
}

/** The faults of every sample, added up per kind. */
export function totalFaults(samples: readonly Pick<IntervalSample, 'faults'>[]): FaultCounts {
  return perFaultKind(({ kind }) => samples.reduce((sum, sample) => sum + sample.faults[kind], 0));
}

/** What the applier did with the microbatches it was given, per node and per interval. */
export interface Tally {
  microbatchesApplied: number;
  duplicatesSkipped: number;
}

/**
 * The first interval (1-based) with no fault: 1 when no fault is on, `faultsUntil` + 1 when faults
 * stop, null when they strike to the end.
 */
export function faultsStopAt(options: Pick<ScenarioOptions, 'faults' | 'faultsUntil'>): number | null {
  if (Object.values(options.faults).every((p) => p === 0)) return 1;
  return options.faultsUntil === undefined ? null : options.faultsUntil + 1;
}

/** The largest node bound; null when faults never stop (or the deficits are not measured yet). */
export function recoveryBound(options: ScenarioOptions, rates: Readonly<Record<string, number>>, deficits: ReadonlyMap<string, number>): number | null {
  const stop = faultsStopAt(options);
  if (stop === null || deficits.size === 0) return null;
  const ingest = Math.round(options.ingestRate * options.intervalSeconds);
  return Math.max(
    ...Object.entries(rates).map(([nodeId, rate]) => nodeRecoveryBound(stop, deficits.get(nodeId) ?? 0, sharePerInterval(rate, options.intervalSeconds), ingest)),
  );
}

/** The run summary from what a run recorded: per node, per interval and in total. */
export function summarize(input: {
  readonly options: ScenarioOptions;
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
  const continuous = ingestContinues(options, samples);
  const stop = faultsStopAt(options);
  const peak = peakIngest(samples)?.ingested ?? 0;
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
      underProvisioned: share < peak,
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
    ingestContinued: continuous,
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

/**
 * Whether a run may stop at this interval: ingest is over (`quietAfter` intervals have run), every
 * node holds the head and the checker has said so. Ingest that never stops runs every interval.
 */
export function endsConverged(options: Pick<ScenarioOptions, 'quietAfter'>, sample: Pick<IntervalSample, 'index' | 'allAtHead' | 'checkerConverged'>): boolean {
  return options.quietAfter !== null && sample.index >= options.quietAfter && sample.allAtHead && sample.checkerConverged === true;
}

/**
 * Whether ingest ran to the end of the run: it never stops, or it stops only after the last interval
 * run — unless the run stopped there because it had converged (ingest was over by then: nothing
 * more came after the head those nodes hold).
 */
export function ingestContinues(options: Pick<ScenarioOptions, 'quietAfter'>, samples: readonly Pick<IntervalSample, 'index' | 'allAtHead' | 'checkerConverged'>[]): boolean {
  const { quietAfter } = options;
  if (quietAfter === null || quietAfter > samples.length) return true;
  const last = samples.at(-1);
  return quietAfter === samples.length && !(last !== undefined && endsConverged(options, last));
}

/**
 * Whether a run that did not converge should have. Ingest that stops: it had stopped and the run
 * lasted at least the theoretical minimum plus staleAfterIntervals (a lost microbatch's recovery)
 * plus some slack. Ingest that never stops: always — `converged` already says whether the run
 * reached and watched its recovery bound, and the exit code follows it.
 */
export function shouldHaveConverged(summary: RunSummary): boolean {
  if (summary.ingestContinued) return true;
  return summary.intervalsRun >= summary.theoreticalMinIntervals + DEFAULT_SETTINGS.staleAfterIntervals + CONVERGENCE_SLACK_INTERVALS;
}
