/**
 * The checker's use case (DESIGN §7): evaluate every open interval that has had a full interval to
 * land, record the verdicts, and describe where the nodes stand against the current head.
 */
import { averageIngestPerInterval, FleetTally, seqsToVerify } from '#shared/domain/convergence.ts';
import { listActive, type ConvergenceStore, type LogReader, type NodeRepository } from '#shared/domain/ports.ts';
import type { IntervalVerdict, UnderProvisionedNode } from '#shared/domain/types.ts';

/** Nodes a verdict counts but may not name, as they are found: the handler logs every one. */
export interface NamedNodes {
  /** Nodes whose chain differs from the log's at their cursor. */
  readonly integrityFailures: readonly string[];
  /** Nodes whose share per interval is below the average ingest. */
  readonly underProvisioned: readonly UnderProvisionedNode[];
}

export interface CheckConvergenceDeps {
  readonly stream: string;
  readonly intervalSeconds: number;
  /** How many recent intervals to look back over for open (not yet converged) ones. */
  readonly openIntervals: number;
  /** How many nodes each list of a verdict names. */
  readonly reportTopN: number;
  readonly log: LogReader;
  readonly nodes: NodeRepository;
  readonly convergence: ConvergenceStore;
  /** Told the integrity failures and under-provisioned nodes of each batch of nodes judged (only non-empty ones). */
  readonly onNamed?: (named: NamedNodes) => void;
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
  const entries = await deps.log.readChains(stream, seqsToVerify(nodes, headItem.head));
  const tally = new FleetTally([headItem.head, ...open.map((record) => record.head)], {
    now: input.now,
    intervalSeconds,
    averageIngestPerInterval: ingest,
    topN: deps.reportTopN,
  });
  const named = { integrityFailures: [] as string[], underProvisioned: [] as UnderProvisionedNode[] };
  for (const node of nodes) {
    const findings = tally.add(node, entries);
    if (findings.integrityFailure) named.integrityFailures.push(node.nodeId);
    if (findings.underProvisioned !== undefined) named.underProvisioned.push(findings.underProvisioned);
  }
  if (named.integrityFailures.length > 0 || named.underProvisioned.length > 0) deps.onNamed?.(named);
  const evaluate = (interval: number, head: number): IntervalVerdict => tally.verdict(interval, head);

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
