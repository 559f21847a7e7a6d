/**
 * Convergence (DESIGN §7). Node i is consistent at interval k when it has applied at least H_k, the
 * head k was planned against, and its chain equals the log's chain at its cursor. k has converged
 * when every active node is consistent at k.
 */
import { GENESIS_CHAIN } from './chain.ts';
import { sharePerInterval } from './formula.ts';
import type { IntervalVerdict, LaggingNode, LogEntry, NodeState, PlanHeader, UnderProvisionedNode } from './types.ts';

export const MAX_LAGGING_NODES_REPORTED = 10;

export interface ConvergenceInput {
  readonly interval: number;
  /** H_k */
  readonly head: number;
  readonly nodes: readonly NodeState[];
  /** Log entries at the nodes' cursors (chains) and just past them (producedAt, for staleness). */
  readonly entries: ReadonlyMap<number, LogEntry>;
  readonly now: Date;
  readonly intervalSeconds: number;
  readonly averageIngestPerInterval: number;
}

/** The seqs whose log entries `evaluateInterval` needs: every cursor, and the next seq of a lagging node. */
export function seqsToVerify(nodes: readonly NodeState[], head: number): number[] {
  const seqs = new Set<number>();
  for (const node of nodes) {
    if (node.appliedSeq > 0) seqs.add(node.appliedSeq);
    if (node.appliedSeq < head) seqs.add(node.appliedSeq + 1);
  }
  return [...seqs];
}

/** The log's chain at `seq`; undefined when the entry is not known. */
function chainAt(seq: number, entries: ReadonlyMap<number, LogEntry>): string | undefined {
  return seq === 0 ? GENESIS_CHAIN : entries.get(seq)?.chain;
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

export function evaluateInterval(input: ConvergenceInput): IntervalVerdict {
  const { interval, head, nodes, entries, now, intervalSeconds, averageIngestPerInterval: ingest } = input;
  const lagging: LaggingNode[] = [];
  const underProvisioned: UnderProvisionedNode[] = [];
  const integrityFailures: string[] = [];
  let consistentNodes = 0;
  let maxLagUpdates = 0;
  let maxStalenessSeconds = 0;

  for (const node of nodes) {
    const chainMatches = chainAt(node.appliedSeq, entries) === node.appliedChain;
    if (!chainMatches) integrityFailures.push(node.nodeId);
    const lagUpdates = Math.max(0, head - node.appliedSeq);
    if (lagUpdates === 0 && chainMatches) consistentNodes += 1;
    if (lagUpdates > 0) {
      const oldestMissing = entries.get(node.appliedSeq + 1);
      const stalenessSeconds = oldestMissing
        ? Math.max(0, (now.getTime() - Date.parse(oldestMissing.producedAt)) / 1000)
        : 0;
      lagging.push({ nodeId: node.nodeId, appliedSeq: node.appliedSeq, lagUpdates, stalenessSeconds });
      maxLagUpdates = Math.max(maxLagUpdates, lagUpdates);
      maxStalenessSeconds = Math.max(maxStalenessSeconds, stalenessSeconds);
    }
    const share = sharePerInterval(node.rate, intervalSeconds);
    if (share < ingest) {
      underProvisioned.push({ nodeId: node.nodeId, sharePerInterval: share, averageIngestPerInterval: ingest });
    }
  }

  lagging.sort((a, b) => b.lagUpdates - a.lagUpdates || a.nodeId.localeCompare(b.nodeId));
  return {
    interval,
    head,
    activeNodes: nodes.length,
    consistentNodes,
    maxLagUpdates,
    maxStalenessSeconds,
    laggingNodes: lagging.slice(0, MAX_LAGGING_NODES_REPORTED),
    underProvisionedNodes: underProvisioned,
    integrityFailures,
    converged: consistentNodes === nodes.length,
  };
}
