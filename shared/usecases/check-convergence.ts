/**
 * The checker's use case (DESIGN §7): evaluate every open interval that has had a full interval to
 * land, record the verdicts, close the intervals that left the window unconverged, and describe
 * where the nodes stand against the current head. The fleet is read page by page and folded into
 * one tally for every head at once, so 100,000 nodes are judged in bounded memory
 * (bench/parts/checker.ts measures it).
 */
import pLimit from 'p-limit';
import { DEFAULT_SETTINGS } from '#shared/domain/config.ts';
import { averageIngestPerInterval, FleetTally, seqsToVerify, type TallyRules } from '#shared/domain/convergence.ts';
import type { RejectedNode } from '#shared/domain/node.ts';
import type { ConvergenceStore, LogReader, NodeRepository } from '#shared/domain/ports.ts';
import type { IntervalStatus, IntervalVerdict, UnderProvisionedNode } from '#shared/domain/types.ts';

/** Nodes a verdict counts but may not name, as they are found: the handler logs every one. */
export interface NamedNodes {
  /** Nodes whose chain differs from the log's at their cursor. */
  readonly integrityFailures: readonly string[];
  /** Nodes whose share per interval is below the average ingest. */
  readonly underProvisioned: readonly UnderProvisionedNode[];
}

/** Verdict writes and expiries in flight at once: 60 open intervals of 10 ms each land in 40 ms. */
const WRITE_CONCURRENCY = 16;

export interface CheckConvergenceDeps {
  readonly stream: string;
  readonly intervalSeconds: number;
  /**
   * The open window: the intervals k − openIntervals … k − 1 are judged until they converge; an
   * interval that leaves the window unconverged is expired.
   */
  readonly openIntervals: number;
  /** How many nodes each list of a verdict names (default: the setting's default, 10). */
  readonly reportTopN?: number;
  readonly log: Pick<LogReader, 'readHead' | 'readChains'>;
  readonly nodes: Pick<NodeRepository, 'scanActive'>;
  readonly convergence: ConvergenceStore;
  /** Told the integrity failures and under-provisioned nodes of each page of nodes judged (only non-empty ones). */
  readonly onNamed?: (named: NamedNodes) => void;
  /** Told about every page's invalid Nodes items, so each is logged with its key. */
  readonly onRejected?: (rejected: readonly RejectedNode[]) => void;
}

export interface CheckConvergenceResult {
  /** The checker's own interval k; it judges the plans of intervals before k. */
  readonly interval: number;
  /** Verdicts written this run, oldest first. */
  readonly evaluated: readonly IntervalVerdict[];
  /**
   * Intervals judged this run whose verdict was not written: another run wrote on the record after
   * this one read it (or judged a later tick), and its verdict stands.
   */
  readonly superseded: readonly number[];
  /**
   * Intervals this run closed as expired (oldest first): they left the window of `openIntervals`
   * before k without converging — at this tick, or at ticks the checker missed.
   */
  readonly expired: readonly number[];
  /** The newest interval before k with a plan, whether judged now or earlier: the one metrics report. */
  readonly latest?: { readonly interval: number; readonly converged: boolean; readonly convergedAt?: string };
  /** Where the nodes stand against the current head (not stored: the next plan header will be). */
  readonly current: IntervalVerdict;
  /** Nodes items that are not valid nodes: skipped, reported through `onRejected`. */
  readonly rejectedNodes: number;
}

export async function checkConvergence(
  input: { readonly interval: number; readonly now: Date },
  deps: CheckConvergenceDeps,
): Promise<CheckConvergenceResult> {
  const { stream, intervalSeconds } = deps;
  const [headItem, { closedThrough, records }] = await Promise.all([
    deps.log.readHead(stream),
    // The plan of interval k was made moments ago; intervals before k have had a full interval to land.
    deps.convergence.statuses(stream, input.interval - 1),
  ]);
  const windowStart = input.interval - deps.openIntervals;
  const inWindow = records.filter((record) => record.interval >= windowStart);
  const open = inWindow.filter(isOpen);
  const leftWindow = records.filter((record) => record.interval < windowStart && isOpen(record));

  const rules = { now: input.now, intervalSeconds, averageIngestPerInterval: averageIngestPerInterval(inWindow), topN: deps.reportTopN ?? DEFAULT_SETTINGS.reportTopN };
  const { tally, rejectedNodes } = await judgeFleet([headItem.head, ...open.map((record) => record.head)], rules, deps);

  const checkedAt = input.now.toISOString();
  const limit = pLimit(WRITE_CONCURRENCY);
  const [judged, expiries] = await Promise.all([
    Promise.all(
      open.map((record) =>
        limit(async () => {
          const verdict = tally.verdict(record.interval, record.head);
          const written = await deps.convergence.recordVerdict(stream, verdict, { checkedAt, readVersion: record.version ?? 0 });
          return { verdict, written };
        }),
      ),
    ),
    Promise.all(leftWindow.map((record) => limit(async () => ({ interval: record.interval, expired: await deps.convergence.expire(stream, record.interval, checkedAt) })))),
  ]);
  // Only once every interval below the window is closed (an expiry that lost to a converged verdict
  // is closed too): a run that fails before this leaves them for the next run to find.
  if (closedThrough === undefined || closedThrough < windowStart - 1) await deps.convergence.closeThrough(stream, windowStart - 1);

  const evaluated = judged.filter((outcome) => outcome.written).map((outcome) => outcome.verdict);
  const superseded = judged.filter((outcome) => !outcome.written).map((outcome) => outcome.verdict.interval);
  const expired = expiries.filter((outcome) => outcome.expired).map((outcome) => outcome.interval);
  return {
    interval: input.interval,
    evaluated,
    superseded,
    expired,
    ...latestOf(records, evaluated, checkedAt),
    current: tally.verdict(input.interval, headItem.head),
    rejectedNodes,
  };
}

/** Neither converged nor expired: still to be judged while it is in the window. */
function isOpen(record: IntervalStatus): boolean {
  return !record.converged && record.expiredAt === undefined;
}

/** The newest interval with a plan, as this run leaves it (see {@link CheckConvergenceResult.latest}). */
function latestOf(records: readonly IntervalStatus[], evaluated: readonly IntervalVerdict[], checkedAt: string): Pick<CheckConvergenceResult, 'latest'> {
  const newest = records.at(-1);
  if (newest === undefined) return {};
  const verdict = evaluated.find((candidate) => candidate.interval === newest.interval);
  if (verdict?.converged === true) return { latest: { interval: newest.interval, converged: true, convergedAt: checkedAt } };
  return { latest: { interval: newest.interval, converged: newest.converged, ...(newest.convergedAt === undefined ? {} : { convergedAt: newest.convergedAt }) } };
}

/**
 * Folds every active node into one tally against all `heads`, a page at a time: each page's chain
 * links are read (deduplicated, with the adapter's bounded BatchGetItem concurrency) while the scan
 * fetches the next page, then the page is folded and dropped. Memory holds a page or two of nodes
 * and their links, never the fleet.
 */
async function judgeFleet(
  heads: readonly number[],
  rules: TallyRules,
  deps: CheckConvergenceDeps,
): Promise<{ readonly tally: FleetTally; readonly rejectedNodes: number }> {
  const tally = new FleetTally(heads, rules);
  const highestHead = Math.max(...heads);
  let rejectedNodes = 0;
  for await (const page of deps.nodes.scanActive()) {
    if (page.rejected.length > 0) {
      rejectedNodes += page.rejected.length;
      deps.onRejected?.(page.rejected);
    }
    if (page.nodes.length === 0) continue;
    const links = await deps.log.readChains(deps.stream, seqsToVerify(page.nodes, highestHead));
    const named: { integrityFailures: string[]; underProvisioned: UnderProvisionedNode[] } = { integrityFailures: [], underProvisioned: [] };
    for (const node of page.nodes) {
      const findings = tally.add(node, links);
      if (findings.integrityFailure) named.integrityFailures.push(node.nodeId);
      if (findings.underProvisioned !== undefined) named.underProvisioned.push(findings.underProvisioned);
    }
    if (named.integrityFailures.length > 0 || named.underProvisioned.length > 0) deps.onNamed?.(named);
  }
  return { tally, rejectedNodes };
}
