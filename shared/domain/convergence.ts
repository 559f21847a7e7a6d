/**
 * Convergence (DESIGN §7). Node i is consistent at interval k when it has applied at least H_k, the
 * head k was planned against, and its chain equals the log's chain at its cursor. k has converged
 * when every active node is consistent at k.
 *
 * The checker folds the fleet one node at a time into a {@link FleetTally} — counts per head, the
 * greatest lag and staleness, and the first `topN` nodes of each list — so it judges any number of
 * nodes, against every open interval at once, in memory that does not grow with the fleet.
 */
import { GENESIS_CHAIN } from './chain.ts';
import { sharePerInterval } from './formula.ts';
import { byNodeId, TopN } from './top-n.ts';
import type { ChainLink, IntervalVerdict, LaggingNode, NodeState, PlanHeader, UnderProvisionedNode } from './types.ts';

/** The seqs whose chain links {@link FleetTally.add} needs: every cursor, and the next seq of a node below `head`. */
export function seqsToVerify(nodes: readonly NodeState[], head: number): number[] {
  const seqs = new Set<number>();
  for (const node of nodes) {
    if (node.appliedSeq > 0) seqs.add(node.appliedSeq);
    if (node.appliedSeq < head) seqs.add(node.appliedSeq + 1);
  }
  return [...seqs];
}

/** Mean updates appended per interval over the plan headers given (any order); 0 with fewer than two. */
export function averageIngestPerInterval(headers: readonly Pick<PlanHeader, 'interval' | 'head'>[]): number {
  if (headers.length < 2) return 0;
  let oldest = headers[0];
  let newest = headers[0];
  for (const header of headers) {
    if (oldest === undefined || header.interval < oldest.interval) oldest = header;
    if (newest === undefined || header.interval > newest.interval) newest = header;
  }
  if (oldest === undefined || newest === undefined || newest.interval === oldest.interval) return 0;
  return (newest.head - oldest.head) / (newest.interval - oldest.interval);
}

/** What the nodes are judged by, beside the heads. */
export interface TallyRules {
  /** The tick judged as of: staleness is measured to it. */
  readonly now: Date;
  readonly intervalSeconds: number;
  readonly averageIngestPerInterval: number;
  /** How many nodes each list of a verdict names (reportTopN). */
  readonly topN: number;
}

/** What one node is named for, beyond the counts: the checker logs every one of these. */
export interface NodeFindings {
  /** Its chain differs from the log's at its cursor. */
  readonly integrityFailure: boolean;
  /** Its share per interval is below the average ingest: it cannot converge while ingest goes on. */
  readonly underProvisioned?: UnderProvisionedNode;
}

type Laggard = Omit<LaggingNode, 'lagUpdates'>;

/**
 * A tally as plain data, so one shard's part of the fleet can be stored and merged with the other
 * shards' (DESIGN §7): a few numbers per head and the first `topN` of each list — a few KB at any
 * fleet size.
 */
export interface TallyState {
  /** The distinct heads, ascending. */
  readonly heads: readonly number[];
  readonly nodesIn: readonly number[];
  readonly intactIn: readonly number[];
  readonly stalestIn: readonly number[];
  readonly activeNodes: number;
  /** The smallest cursor of a laggard; null while there is none. */
  readonly lowestCursor: number | null;
  readonly integrityFailureCount: number;
  readonly underProvisionedCount: number;
  readonly laggards: readonly Laggard[];
  readonly underProvisioned: readonly UnderProvisionedNode[];
  readonly integrityFailures: readonly string[];
}

/** Biggest lag first, at any head: the smallest cursor first. */
const byLag = (a: Laggard, b: Laggard): number => a.appliedSeq - b.appliedSeq || byNodeId(a.nodeId, b.nodeId);
/** Furthest below the ingest first: the smallest share first (the ingest is the same for every node). */
const byShortfall = (a: UnderProvisionedNode, b: UnderProvisionedNode): number => a.sharePerInterval - b.sharePerInterval || byNodeId(a.nodeId, b.nodeId);

/**
 * The fleet folded against several heads at once (the open intervals' H_k and the current head).
 *
 * A node with cursor a lags exactly the heads above a, so with the distinct heads sorted
 * h_0 < … < h_{m−1} it falls in bucket b = |{h_j ≤ a}| and lags h_j for every j ≥ b. Counting nodes
 * per bucket gives every head's laggards (a prefix sum), consistent nodes (a suffix sum of intact
 * chains) and greatest staleness (a prefix maximum) from O(m) numbers. The laggards named at h_j
 * are the first `topN` of all laggards by cursor, cut to those below h_j: the laggards of h_j are a
 * prefix of that order, so their first `topN` are among the overall first `topN`.
 */
export class FleetTally {
  private readonly heads: readonly number[];
  private readonly nodesIn: number[];
  private readonly intactIn: number[];
  private readonly stalestIn: number[];
  private activeNodes = 0;
  private lowestCursor = Number.POSITIVE_INFINITY;
  private integrityFailureCount = 0;
  private underProvisionedCount = 0;
  private readonly laggards: TopN<Laggard>;
  private readonly underProvisioned: TopN<UnderProvisionedNode>;
  private readonly integrityFailures: TopN<string>;

  constructor(
    heads: readonly number[],
    private readonly rules: TallyRules,
  ) {
    this.heads = [...new Set(heads)].sort((a, b) => a - b);
    const buckets = this.heads.length + 1;
    this.nodesIn = new Array<number>(buckets).fill(0);
    this.intactIn = new Array<number>(buckets).fill(0);
    this.stalestIn = new Array<number>(buckets).fill(0);
    this.laggards = new TopN(rules.topN, byLag);
    this.underProvisioned = new TopN(rules.topN, byShortfall);
    this.integrityFailures = new TopN(rules.topN, byNodeId);
  }

  /**
   * Folds one node in. `links` must hold the log's links at the seqs {@link seqsToVerify} asks for
   * (with the highest head); a seq it lacks counts as a chain that does not match.
   */
  add(node: NodeState, links: ReadonlyMap<number, ChainLink>): NodeFindings {
    const { appliedSeq, nodeId } = node;
    const logChain = appliedSeq === 0 ? GENESIS_CHAIN : links.get(appliedSeq)?.chain;
    const intact = logChain === node.appliedChain;
    const bucket = this.bucketOf(appliedSeq);
    this.activeNodes += 1;
    this.nodesIn[bucket] = (this.nodesIn[bucket] ?? 0) + 1;
    if (intact) this.intactIn[bucket] = (this.intactIn[bucket] ?? 0) + 1;
    else {
      this.integrityFailureCount += 1;
      this.integrityFailures.offer(nodeId);
    }
    if (bucket < this.heads.length) {
      const oldestMissing = links.get(appliedSeq + 1);
      const stalenessSeconds = oldestMissing === undefined ? 0 : Math.max(0, (this.rules.now.getTime() - Date.parse(oldestMissing.producedAt)) / 1000);
      this.stalestIn[bucket] = Math.max(this.stalestIn[bucket] ?? 0, stalenessSeconds);
      this.lowestCursor = Math.min(this.lowestCursor, appliedSeq);
      this.laggards.offer({ nodeId, appliedSeq, stalenessSeconds });
    }
    const share = sharePerInterval(node.rate, this.rules.intervalSeconds);
    const ingest = this.rules.averageIngestPerInterval;
    if (share >= ingest) return { integrityFailure: !intact };
    const underProvisioned = { nodeId, sharePerInterval: share, averageIngestPerInterval: ingest };
    this.underProvisionedCount += 1;
    this.underProvisioned.offer(underProvisioned);
    return { integrityFailure: !intact, underProvisioned };
  }

  /** Nodes folded in so far. */
  activeCount(): number {
    return this.activeNodes;
  }

  /** The tally as data (see {@link TallyState}). */
  state(): TallyState {
    return {
      heads: [...this.heads],
      nodesIn: [...this.nodesIn],
      intactIn: [...this.intactIn],
      stalestIn: [...this.stalestIn],
      activeNodes: this.activeNodes,
      lowestCursor: Number.isFinite(this.lowestCursor) ? this.lowestCursor : null,
      integrityFailureCount: this.integrityFailureCount,
      underProvisionedCount: this.underProvisionedCount,
      laggards: this.laggards.values(),
      underProvisioned: this.underProvisioned.values(),
      integrityFailures: this.integrityFailures.values(),
    };
  }

  /**
   * Folds in another tally of other nodes made against the same heads: the result is the tally of
   * both sets of nodes, whatever order the parts arrive in.
   * @throws RangeError when the other tally was made against other heads.
   */
  merge(other: TallyState): void {
    if (other.heads.length !== this.heads.length || other.heads.some((head, index) => head !== this.heads[index])) {
      throw new RangeError(`a tally of heads ${other.heads.join()} cannot merge into one of heads ${this.heads.join()}`);
    }
    for (let bucket = 0; bucket < this.nodesIn.length; bucket += 1) {
      this.nodesIn[bucket] = (this.nodesIn[bucket] ?? 0) + (other.nodesIn[bucket] ?? 0);
      this.intactIn[bucket] = (this.intactIn[bucket] ?? 0) + (other.intactIn[bucket] ?? 0);
      this.stalestIn[bucket] = Math.max(this.stalestIn[bucket] ?? 0, other.stalestIn[bucket] ?? 0);
    }
    this.activeNodes += other.activeNodes;
    if (other.lowestCursor !== null) this.lowestCursor = Math.min(this.lowestCursor, other.lowestCursor);
    this.integrityFailureCount += other.integrityFailureCount;
    this.underProvisionedCount += other.underProvisionedCount;
    for (const laggard of other.laggards) this.laggards.offer(laggard);
    for (const node of other.underProvisioned) this.underProvisioned.offer(node);
    for (const nodeId of other.integrityFailures) this.integrityFailures.offer(nodeId);
  }

  /**
   * The verdict on interval `interval` with head `head`, one of the heads the tally was made with.
   * @throws RangeError for a head the tally does not know.
   */
  verdict(interval: number, head: number): IntervalVerdict {
    const index = this.heads.indexOf(head);
    if (index < 0) throw new RangeError(`the tally was not made with head ${head}`);
    let laggingCount = 0;
    let maxStalenessSeconds = 0;
    for (let bucket = 0; bucket <= index; bucket += 1) {
      laggingCount += this.nodesIn[bucket] ?? 0;
      maxStalenessSeconds = Math.max(maxStalenessSeconds, this.stalestIn[bucket] ?? 0);
    }
    let consistentNodes = 0;
    for (let bucket = index + 1; bucket < this.intactIn.length; bucket += 1) consistentNodes += this.intactIn[bucket] ?? 0;
    const laggingNodes = this.laggards
      .values()
      .filter((laggard) => laggard.appliedSeq < head)
      .map((laggard) => ({ nodeId: laggard.nodeId, appliedSeq: laggard.appliedSeq, lagUpdates: head - laggard.appliedSeq, stalenessSeconds: laggard.stalenessSeconds }));
    return {
      interval,
      head,
      activeNodes: this.activeNodes,
      consistentNodes,
      maxLagUpdates: laggingCount === 0 ? 0 : head - this.lowestCursor,
      maxStalenessSeconds,
      laggingCount,
      laggingNodes,
      underProvisionedCount: this.underProvisionedCount,
      underProvisionedNodes: this.underProvisioned.values(),
      integrityFailureCount: this.integrityFailureCount,
      integrityFailures: this.integrityFailures.values(),
      converged: consistentNodes === this.activeNodes,
    };
  }

  /** How many heads are at or below `cursor`: the node lags every head from this index on. */
  private bucketOf(cursor: number): number {
    let lo = 0;
    let hi = this.heads.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.heads[mid] ?? 0) <= cursor) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
