/**
 * One checker shard (DESIGN §7): folds the active nodes of its segments into a partial tally against
 * every head the tick's check header fixed, stores it, and counts itself in, once. The shard that
 * completes the count merges every partial into one tally and writes the verdicts — so the verdict
 * on an interval is the whole fleet's, and stays a few KB (counts and the first `reportTopN` of
 * each list) at any fleet size.
 *
 * Idempotent: a redelivered or duplicated task stores no second partial and is not counted twice;
 * if the merging run died before marking the tick merged, any later run of a shard of the tick
 * merges again (the verdict writes are conditional on the versions the coordinator read, so a
 * repeat never takes a record backwards). A task that arrives once a later tick has written its
 * header is counted as expired: that tick judges the same intervals afresh.
 */
import pLimit from 'p-limit';
import { DEFAULT_SETTINGS } from '#shared/domain/config.ts';
import { FleetTally, seqsToVerify, type TallyRules } from '#shared/domain/convergence.ts';
import type { RejectedNode } from '#shared/domain/node.ts';
import type { CheckHeader, CheckStore, ConvergenceStore, LogReader, NodeRepository } from '#shared/domain/ports.ts';
import { segmentsOfShard } from '#shared/domain/sharding.ts';
import type { CheckTask } from '#shared/domain/shard-task.ts';
import type { ChainLink, IntervalVerdict, UnderProvisionedNode } from '#shared/domain/types.ts';

/** Nodes a verdict counts but may not name, as they are found: the handler logs every one. */
export interface NamedNodes {
  /** Nodes whose chain differs from the log's at their cursor. */
  readonly integrityFailures: readonly string[];
  /** Nodes whose share per interval is below the average ingest. */
  readonly underProvisioned: readonly UnderProvisionedNode[];
}

/**
 * Chain links a shard keeps between pages. Cursors bunch near the head, so the pages of a shard ask
 * for the same few thousand seqs again and again: kept, a shard of 50,000 nodes read ~7,000 links
 * instead of ~76,000 (bench/parts/checker.ts). A few hundred bytes a link; past the bound the cache
 * starts afresh, so memory stays bounded whatever the cursors' spread.
 */
const MAX_CACHED_LINKS = 200_000;
/** Verdict writes in flight at once: 60 open intervals of 10 ms each land in 40 ms. */
const WRITE_CONCURRENCY = 16;
/** Partial tallies are kept a day: they only serve their tick. */
const PARTIAL_SECONDS = 86_400;

export interface CheckShardDeps {
  readonly stream: string;
  readonly intervalSeconds: number;
  /** How many nodes each list of a verdict names (default: the setting's default, 10). */
  readonly reportTopN?: number;
  readonly log: Pick<LogReader, 'readChains'>;
  readonly nodes: Pick<NodeRepository, 'scanSegment'>;
  readonly convergence: Pick<ConvergenceStore, 'recordVerdict'>;
  readonly checks: Pick<CheckStore, 'latestTick' | 'getCheckHeader' | 'putPartial' | 'reportCheckShard' | 'partials' | 'markMerged'>;
  /** Told the integrity failures and under-provisioned nodes of each page of nodes judged (only non-empty ones). */
  readonly onNamed?: (named: NamedNodes) => void;
  /** Told about every page's invalid Nodes items, so each is logged with its key. */
  readonly onRejected?: (rejected: readonly RejectedNode[]) => void;
}

/** What the merge of a tick wrote: the checker's verdicts of that tick. */
export interface TickVerdicts {
  /** The checker's own interval k; it judged the plans of intervals before k. */
  readonly interval: number;
  /** Verdicts written, oldest first. */
  readonly evaluated: readonly IntervalVerdict[];
  /** Intervals whose verdict was not written: another run wrote on the record after the coordinator read it. */
  readonly superseded: readonly number[];
  /** The newest interval before k with a plan, whether judged now or earlier: the one metrics report. */
  readonly latest?: { readonly interval: number; readonly converged: boolean; readonly convergedAt?: string };
  /** Where the nodes stand against the current head (not stored: the next plan header will be). */
  readonly current: IntervalVerdict;
}

export interface CheckShardResult {
  readonly interval: number;
  readonly shard: number;
  readonly shards: number;
  /** The task came after a later tick had written its header: counted as expired, nothing judged. */
  readonly expired: boolean;
  /** Whether this run counted the shard (false: an earlier run of the shard had). */
  readonly counted: boolean;
  /** Active nodes this run folded in (0 when it was not counted). */
  readonly activeNodes: number;
  readonly rejectedNodes: number;
  /** Present when this run merged the tick and wrote its verdicts. */
  readonly merged?: TickVerdicts;
}

export async function checkShard(task: CheckTask, deps: CheckShardDeps): Promise<CheckShardResult> {
  const base = { interval: task.interval, shard: task.shard, shards: task.shards };
  const rules: TallyRules = {
    now: new Date(task.checkedAt),
    intervalSeconds: deps.intervalSeconds,
    averageIngestPerInterval: task.averageIngestPerInterval,
    topN: deps.reportTopN ?? DEFAULT_SETTINGS.reportTopN,
  };
  const newest = await deps.checks.latestTick(task.stream);
  if (newest !== undefined && newest > task.interval) {
    const { counted } = await deps.checks.reportCheckShard(task.stream, task.interval, task.shard, true);
    return { ...base, expired: true, counted, activeNodes: 0, rejectedNodes: 0 };
  }
  const { tally, rejectedNodes } = await foldSegments(task, rules, deps);
  await deps.checks.putPartial(task.stream, task.interval, task.shard, tally.state(), Math.floor(rules.now.getTime() / 1000) + PARTIAL_SECONDS);
  const { counted, progress } = await deps.checks.reportCheckShard(task.stream, task.interval, task.shard, false);
  const complete = progress.reported === progress.shards && progress.expired === 0;
  const merged = complete && !progress.merged ? await merge(task, rules, deps) : undefined;
  return { ...base, expired: false, counted, activeNodes: tally.activeCount(), rejectedNodes, ...(merged === undefined ? {} : { merged }) };
}

/**
 * Folds every active node of the shard's segments into one tally against the task's heads, a page
 * at a time: the chain links a page needs and no earlier page read are read (deduplicated, with the
 * adapter's bounded BatchGetItem concurrency), the page is folded and dropped. Memory holds a page
 * and the links read so far (bounded), never the fleet.
 */
async function foldSegments(task: CheckTask, rules: TallyRules, deps: CheckShardDeps): Promise<{ readonly tally: FleetTally; readonly rejectedNodes: number }> {
  const tally = new FleetTally(task.heads, rules);
  const highestHead = Math.max(...task.heads);
  let rejectedNodes = 0;
  let cache = new Map<number, ChainLink>();
  /** The links a page needs: those known from earlier pages, the rest read (a seq not in the log yet is asked again later). */
  const linksFor = async (seqs: readonly number[]): Promise<ReadonlyMap<number, ChainLink>> => {
    const missing = seqs.filter((seq) => !cache.has(seq));
    const read = missing.length === 0 ? new Map<number, ChainLink>() : await deps.log.readChains(task.stream, missing);
    const page = new Map<number, ChainLink>();
    for (const seq of seqs) {
      const link = cache.get(seq) ?? read.get(seq);
      if (link !== undefined) page.set(seq, link);
    }
    if (cache.size + read.size > MAX_CACHED_LINKS) cache = new Map();
    for (const [seq, link] of read) cache.set(seq, link);
    return page;
  };
  // Segment after segment, page after page: each page reads only the links no page before it read
  // (segments in parallel would read the same links twice, and save ~0.1 s at 50,000 nodes).
  for (const segment of segmentsOfShard(task.shard, task)) {
    for await (const page of deps.nodes.scanSegment(segment, task.segments, { includePaused: false })) {
      if (page.rejected.length > 0) {
        rejectedNodes += page.rejected.length;
        deps.onRejected?.(page.rejected);
      }
      if (page.nodes.length === 0) continue;
      const links = await linksFor(seqsToVerify(page.nodes, highestHead));
      const named: { integrityFailures: string[]; underProvisioned: UnderProvisionedNode[] } = { integrityFailures: [], underProvisioned: [] };
      for (const node of page.nodes) {
        const findings = tally.add(node, links);
        if (findings.integrityFailure) named.integrityFailures.push(node.nodeId);
        if (findings.underProvisioned !== undefined) named.underProvisioned.push(findings.underProvisioned);
      }
      if (named.integrityFailures.length > 0 || named.underProvisioned.length > 0) deps.onNamed?.(named);
    }
  }
  return { tally, rejectedNodes };
}

/** Merges every shard's partial tally and writes the tick's verdicts, then marks the tick merged. */
async function merge(task: CheckTask, rules: TallyRules, deps: CheckShardDeps): Promise<TickVerdicts | undefined> {
  const [stored, partials] = await Promise.all([deps.checks.getCheckHeader(task.stream, task.interval), deps.checks.partials(task.stream, task.interval)]);
  if (stored === undefined || partials.length < task.shards) return undefined;
  const tally = new FleetTally(task.heads, rules);
  for (const partial of partials) tally.merge(partial);
  const verdicts = await writeVerdicts(stored.header, tally, deps);
  await deps.checks.markMerged(task.stream, task.interval, { current: verdicts.current, ...(verdicts.latest === undefined ? {} : { latest: verdicts.latest }) });
  return verdicts;
}

async function writeVerdicts(header: CheckHeader, tally: FleetTally, deps: CheckShardDeps): Promise<TickVerdicts> {
  const limit = pLimit(WRITE_CONCURRENCY);
  const outcomes = await Promise.all(
    header.judged.map(({ interval, head, version }) =>
      limit(async () => {
        const verdict = tally.verdict(interval, head);
        const written = await deps.convergence.recordVerdict(header.stream, verdict, { checkedAt: header.checkedAt, readVersion: version });
        return { verdict, written };
      }),
    ),
  );
  const evaluated = outcomes.filter((outcome) => outcome.written).map((outcome) => outcome.verdict);
  const superseded = outcomes.filter((outcome) => !outcome.written).map((outcome) => outcome.verdict.interval);
  const current = tally.verdict(header.interval, header.heads[0] ?? 0);
  return { interval: header.interval, evaluated, superseded, current, ...latestOf(header, evaluated) };
}

/** The newest interval with a plan, as this merge leaves it (see {@link TickVerdicts.latest}). */
function latestOf(header: CheckHeader, evaluated: readonly IntervalVerdict[]): Pick<TickVerdicts, 'latest'> {
  const { newest } = header;
  if (newest === undefined) return {};
  const verdict = evaluated.find((candidate) => candidate.interval === newest.interval);
  if (verdict?.converged === true) return { latest: { interval: newest.interval, converged: true, convergedAt: header.checkedAt } };
  return { latest: newest };
}
