/**
 * The checker's use case (DESIGN §7): evaluate every open interval that has had a full interval to
 * land, record the verdicts, and describe where the nodes stand against the current head.
 */
import { averageIngestPerInterval, evaluateInterval, seqsToVerify } from '#shared/domain/convergence.ts';
import { listActive, type ConvergenceStore, type LogReader, type NodeRepository } from '#shared/domain/ports.ts';
import type { IntervalVerdict } from '#shared/domain/types.ts';

export interface CheckConvergenceDeps {
  readonly stream: string;
  readonly intervalSeconds: number;
  /** How many recent intervals to look back over for open (not yet converged) ones. */
  readonly openIntervals: number;
  readonly log: LogReader;
  readonly nodes: NodeRepository;
  readonly convergence: ConvergenceStore;
}

export interface CheckConvergenceResult {
  /** The checker's own interval k; it judges the plans of intervals before k. */
  readonly interval: number;
  /** Verdicts written this run, newest first. */
  readonly evaluated: readonly IntervalVerdict[];
  /** The newest interval before k with a plan, whether judged now or earlier: the one metrics report. */
  readonly latest?: { readonly interval: number; readonly converged: boolean; readonly convergedAt?: string };
  /** Where the nodes stand against the current head (not stored: the next plan header will be). */
  readonly current: IntervalVerdict;
}

export async function checkConvergence(
  input: { readonly interval: number; readonly now: Date },
  deps: CheckConvergenceDeps,
): Promise<CheckConvergenceResult> {
  const { stream, intervalSeconds } = deps;
  const [headItem, nodes, records] = await Promise.all([
    deps.log.readHead(stream),
    listActive(deps.nodes).then((scan) => scan.nodes),
    // The plan of interval k was made moments ago; intervals before k have had a full interval to land.
    deps.convergence.recent(stream, input.interval - 1, deps.openIntervals),
  ]);
  const open = records.filter((record) => !record.converged);
  const ingest = averageIngestPerInterval(records);
  const entries = await deps.log.readEntries(stream, seqsToVerify(nodes, headItem.head));
  const evaluate = (interval: number, head: number): IntervalVerdict =>
    evaluateInterval({ interval, head, nodes, entries, now: input.now, intervalSeconds, averageIngestPerInterval: ingest });

  const checkedAt = input.now.toISOString();
  const evaluated = open.map((record) => evaluate(record.interval, record.head));
  await Promise.all(evaluated.map((verdict) => deps.convergence.recordVerdict(stream, verdict, checkedAt)));

  const newest = records[0];
  const newestVerdict = evaluated.find((verdict) => verdict.interval === newest?.interval);
  const latest =
    newest === undefined
      ? undefined
      : {
          interval: newest.interval,
          converged: newestVerdict?.converged ?? newest.converged,
          ...(newestVerdict?.converged ? { convergedAt: checkedAt } : newest.convergedAt ? { convergedAt: newest.convergedAt } : {}),
        };
  return { interval: input.interval, evaluated, ...(latest ? { latest } : {}), current: evaluate(input.interval, headItem.head) };
}
