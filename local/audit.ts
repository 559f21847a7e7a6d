/**
 * The audit of replicas, for the end of `npm start` and for `microbatch audit`: for every node,
 * replay the log up to the node's own cursor and compare the result with every item of its replica.
 * A replica is right when it is exactly that replay — same keys, values, seqs and timestamps, a
 * tombstone where the replay deleted a key — whatever faults the run injected or hands edited.
 *
 * Paged for a log and replicas of any size: the log is read once, in seq windows, in cursor order
 * (nodes are audited as the replay passes their cursors), and each replica is read Query page by
 * page. Memory holds one replay's keys, never the log's entries.
 */
import pLimit from 'p-limit';
import { canonicalJson, firstChainBreak, GENESIS_CHAIN } from '#shared/domain/chain.ts';
import type { LogReader, NodeRepository } from '#shared/domain/ports.ts';
import { applyEntry, type Replica } from '#shared/domain/ops.ts';
import type { ReplicaItem } from '#shared/domain/types.ts';
import type { AuditResult } from './summary.ts';

/** Differences quoted in full by default; the rest are only counted. */
const MAX_EXAMPLES = 5;
/** Seqs per log read: one Query (DynamoDB pages it at 1 MB) per window. */
const LOG_WINDOW = 1000;

/** A node's replica, page by page (`DynamoReplicaStore.pages`). */
export interface ReplicaPages {
  pages(nodeId: string): AsyncIterable<readonly ReplicaItem[]>;
}

/** A node to audit, and the cursor its replica should match. */
export interface AuditTarget {
  readonly nodeId: string;
  readonly appliedSeq: number;
}

export type DifferenceKind = 'mismatched' | 'missing' | 'extra';

/** One key where a replica and the replay disagree. */
export interface AuditDifference {
  readonly nodeId: string;
  readonly key: string;
  readonly kind: DifferenceKind;
  /** What the replica holds (absent when missing). */
  readonly replica?: ReplicaItem;
  /** What the replay up to the node's cursor holds (absent when extra). */
  readonly log?: ReplicaItem;
  /** The difference in words. */
  readonly text: string;
}

/** One node's part of an audit. */
export interface NodeAudit extends AuditTarget {
  readonly itemsCompared: number;
  readonly mismatched: number;
  readonly missing: number;
  readonly extra: number;
}

/** An audit with its details: per node, and the first differences as data. */
export interface ReplicaAudit extends AuditResult {
  readonly nodes: readonly NodeAudit[];
  readonly differences: readonly AuditDifference[];
  /** The first seq at which the log's hash chain does not verify (or is missing), if any. */
  readonly chainBreak?: number;
  readonly logEntriesRead: number;
}

/** What an audit's progress reports: log entries replayed, or replica items compared. */
export type AuditProgress = { readonly kind: 'log'; readonly seqs: number } | { readonly kind: 'replica'; readonly nodeId: string; readonly items: number };

export interface AuditDeps {
  readonly stream: string;
  readonly log: Pick<LogReader, 'readRange'>;
  readonly replica: ReplicaPages;
  /** Differences kept as examples (default 5). */
  readonly maxExamples?: number;
  /** Seqs per log read (default 1000). */
  readonly logWindow?: number;
  readonly onProgress?: (progress: AuditProgress) => void;
}

/** Audits each target's replica against the replay of the log up to its cursor. */
export async function auditTargets(targets: readonly AuditTarget[], deps: AuditDeps): Promise<ReplicaAudit> {
  const maxExamples = deps.maxExamples ?? MAX_EXAMPLES;
  const window = deps.logWindow ?? LOG_WINDOW;
  // Each node keeps its own first examples; they are merged in the order the nodes were given.
  const examplesByNode = new Map<string, AuditDifference[]>();
  const nodeAudits = new Map<string, NodeAudit>();
  const expected: Replica = new Map();
  let seq = 0;
  let chain = GENESIS_CHAIN;
  let chainBreak: number | undefined;
  let logEntriesRead = 0;

  const byCursor = [...targets].sort((a, b) => a.appliedSeq - b.appliedSeq);
  for (const target of byCursor) {
    while (seq < target.appliedSeq) {
      const to = Math.min(seq + window, target.appliedSeq);
      const page = await deps.log.readRange(deps.stream, seq, to);
      if (chainBreak === undefined) {
        chainBreak = firstChainBreak(seq, chain, page) ?? (page.length < to - seq ? seq + page.length + 1 : undefined);
        chain = page.at(-1)?.chain ?? chain;
      }
      for (const entry of page) applyEntry(expected, entry);
      logEntriesRead += page.length;
      deps.onProgress?.({ kind: 'log', seqs: to - seq });
      seq = to;
    }
    const examples: AuditDifference[] = [];
    const audit = await compareReplica(target, expected, deps, (difference) => {
      if (examples.length < maxExamples) examples.push(difference);
    });
    examplesByNode.set(target.nodeId, examples);
    nodeAudits.set(target.nodeId, audit);
  }

  const nodes = targets.map((target) => nodeAudits.get(target.nodeId) ?? { ...target, itemsCompared: 0, mismatched: 0, missing: 0, extra: 0 });
  const differences = targets.flatMap((target) => examplesByNode.get(target.nodeId) ?? []).slice(0, maxExamples);
  const chainNote = chainBreak === undefined ? [] : [`the log itself does not verify: its hash chain breaks at seq ${chainBreak}`];
  const sum = (field: 'mismatched' | 'missing' | 'extra'): number => nodes.reduce((total, node) => total + node[field], 0);
  return {
    nodesChecked: nodes.length,
    mismatched: sum('mismatched') + (chainBreak === undefined ? 0 : 1),
    missing: sum('missing'),
    extra: sum('extra'),
    examples: [...chainNote, ...differences.map((difference) => difference.text)].slice(0, maxExamples),
    nodes,
    differences,
    ...(chainBreak === undefined ? {} : { chainBreak }),
    logEntriesRead,
  };
}

async function compareReplica(target: AuditTarget, expected: Replica, deps: AuditDeps, note: (difference: AuditDifference) => void): Promise<NodeAudit> {
  const { nodeId, appliedSeq } = target;
  const counts = { itemsCompared: 0, mismatched: 0, missing: 0, extra: 0 };
  const seen = new Set<string>();
  for await (const page of deps.replica.pages(nodeId)) {
    for (const have of page) {
      seen.add(have.key);
      counts.itemsCompared += 1;
      const want = expected.get(have.key);
      if (want === undefined) {
        counts.extra += 1;
        note({ nodeId, key: have.key, kind: 'extra', replica: have, text: difference(target, have.key, have, undefined) });
      } else if (!same(want, have)) {
        counts.mismatched += 1;
        note({ nodeId, key: have.key, kind: 'mismatched', replica: have, log: want, text: difference(target, have.key, have, want) });
      }
    }
    deps.onProgress?.({ kind: 'replica', nodeId, items: page.length });
  }
  for (const [key, want] of expected) {
    if (seen.has(key)) continue;
    counts.missing += 1;
    note({ nodeId, key, kind: 'missing', log: want, text: difference(target, key, undefined, want) });
  }
  return { nodeId, appliedSeq, ...counts };
}

/** Node reads in flight at once while the audit collects the cursors. */
const NODE_READS_IN_FLIGHT = 32;

/**
 * The end-of-run audit of `npm start`: the nodes' cursors from the repository; a node that is not
 * registered counts as missing.
 */
export async function auditReplicas(nodeIds: readonly string[], deps: AuditDeps & { readonly nodes: Pick<NodeRepository, 'get'> }): Promise<AuditResult> {
  // Fewer reads in flight than the SDK has sockets (50): a fleet of thousands would otherwise queue behind them.
  const limit = pLimit(NODE_READS_IN_FLIGHT);
  const states = await Promise.all(nodeIds.map((nodeId) => limit(async () => ({ nodeId, state: await deps.nodes.get(nodeId) }))));
  const unregistered = states.filter(({ state }) => state === undefined).map(({ nodeId }) => nodeId);
  const targets = states.flatMap(({ nodeId, state }) => (state === undefined ? [] : [{ nodeId, appliedSeq: state.appliedSeq }]));
  const audit = await auditTargets(targets, deps);
  return {
    nodesChecked: nodeIds.length,
    mismatched: audit.mismatched,
    missing: audit.missing + unregistered.length,
    extra: audit.extra,
    examples: [...audit.examples, ...unregistered.map((nodeId) => `${nodeId}: the node is not registered`)].slice(0, deps.maxExamples ?? MAX_EXAMPLES),
  };
}

function same(want: ReplicaItem, have: ReplicaItem): boolean {
  if ((want.deleted === true) !== (have.deleted === true) || want.seq !== have.seq || want.updatedAt !== have.updatedAt) return false;
  if (want.deleted) return true;
  return want.value !== undefined && have.value !== undefined && canonicalJson(want.value) === canonicalJson(have.value);
}

/**
 * A difference in words, the same for every kind: what the replica holds and what the replay of
 * the log up to the node's cursor holds, each item with the seq that wrote it — "n-b key-4: replica
 * has value 999 (written at seq 1507, …); the log replayed to seq 2300 has value 4 (written at seq 1507, …)".
 */
function difference(target: AuditTarget, key: string, replica: ReplicaItem | undefined, log: ReplicaItem | undefined): string {
  const held = replica === undefined ? 'replica has no item' : `replica has ${describe(replica)}`;
  const replayed = log === undefined ? 'never wrote the key' : `has ${describe(log)}`;
  return `${target.nodeId} ${key}: ${held}; the log replayed to seq ${target.appliedSeq} ${replayed}`;
}

/** An item with the seq (and time) of the entry that wrote it: `value 8 (written at seq 9, …)`, `a tombstone (deleted at seq 7, …)`. */
function describe(item: ReplicaItem): string {
  if (item.deleted) return `a tombstone (deleted at seq ${item.seq}, ${item.updatedAt})`;
  return `value ${item.value === undefined ? '(none)' : canonicalJson(item.value).slice(0, 60)} (written at seq ${item.seq}, ${item.updatedAt})`;
}
