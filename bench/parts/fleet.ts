/**
 * The fleets the planner and checker benchmarks run on, generated rather than stored: node i's every
 * attribute is a function of i alone (a hash, not a sequence of draws), so the nodes of one Scan
 * segment can be built without building the other 999,000, and a shard measured and a shard only
 * counted see the same nodes. Nodes fall into segments by the fake endpoint's hash of their id, as
 * DynamoDB spreads a parallel Scan by the hash of the partition key.
 *
 * Planner fleets (H = 10,000,000, b = 100, t = 60 s, rates 1–8 updates/s: shares of 60–480):
 *   - steady: continuous ingest, every node caught up to within one microbatch — its cursor 1–100
 *     updates behind the head, its last plan applied — so each gets exactly one token;
 *   - catchUp: cursors anywhere in the first 1,000,000 seqs, so each gets its whole share, 1–5 tokens
 *     (today's 100,000-node bench).
 * Either way the segment's plan record of the previous interval holds every node's plan (plannedSeq =
 * the cursor: the last plan was applied), as in any interval after the first.
 *
 * The checker fleet (64-character ids): a 10,000-update log, 60 open intervals with heads 100 apart (4,100 … 10,000),
 * cursors spread uniformly over the last 7,000 seqs (every open interval has nodes short of it: the
 * most chain reads a page can need), rates 1–3 updates/s (a third below the ingest of 100 an
 * interval: named as under-provisioned), one node in a hundred with a chain that differs from the log.
 */
import { GENESIS_CHAIN, nextChain } from '#shared/domain/chain.ts';
import { intervalStart } from '#shared/domain/interval.ts';
import { logEntryItem } from '#shared/domain/item-size.ts';
import type { PlanEntry } from '#shared/domain/segment-plan.ts';
import type { ChainLink } from '#shared/domain/types.ts';
import { toWireItem, type WireItem } from '../capacity/attribute-size.ts';
import { segmentOf } from '../fake-aws/dynamodb.ts';

export const STREAM = 'main';
export const INTERVAL_SECONDS = 60;
export const BATCH_SIZE = 100;

/** Tables named as the local runtime names them, so the capacity ledger knows their keys. */
export const TABLE = {
  log: 'bench-LogTable',
  nodes: 'bench-NodesTable',
  plans: 'bench-PlansTable',
  convergence: 'bench-ConvergenceTable',
} as const;

export const QUEUE = {
  microbatch: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench-MicrobatchQueue.fifo',
  planTasks: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench-PlanTaskQueue',
  checkTasks: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench-CheckTaskQueue',
} as const;

/** A number in [0, 1) fixed by (index, salt). */
export function unit(index: number, salt: number): number {
  let hash = Math.imul(index ^ Math.imul(salt, 0x9e3779b1), 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  hash = Math.imul(hash ^ salt, 0x27d4eb2d);
  hash ^= hash >>> 15;
  return (hash >>> 0) / 2 ** 32;
}

/**
 * `node-000042`; or, longer than that, `node-0000042-` and random hex up to `idLength` characters
 * (64: the longest id a node may have) — random, because zero padding would compress in the plan
 * records as a short id does.
 */
export function nodeId(index: number, idLength: number): string {
  const short = `node-${String(index).padStart(6, '0')}`;
  if (idLength <= short.length) return short;
  let id = `node-${String(index).padStart(7, '0')}-`;
  for (let salt = 101; id.length < idLength; salt += 1) id += Math.floor(unit(index, salt) * 2 ** 32).toString(16).padStart(8, '0');
  return id.slice(0, idLength);
}

/** The node indices of every segment of a `segments`-way parallel Scan, ascending. */
export function membersBySegment(nodes: number, idLength: number, segments: number): Int32Array[] {
  const segmentOfNode = new Int32Array(nodes);
  const sizes = new Int32Array(segments);
  for (let index = 0; index < nodes; index += 1) {
    const segment = segmentOf(nodeId(index, idLength), segments);
    segmentOfNode[index] = segment;
    sizes[segment] = (sizes[segment] ?? 0) + 1;
  }
  const members = Array.from(sizes, (size) => new Int32Array(size));
  const filled = new Int32Array(segments);
  for (let index = 0; index < nodes; index += 1) {
    const segment = segmentOfNode[index] ?? 0;
    const at = filled[segment] ?? 0;
    const list = members[segment];
    if (list !== undefined) list[at] = index;
    filled[segment] = at + 1;
  }
  return members;
}

const ISO_BASE = Date.UTC(2026, 10, 27, 10, 0, 0);
const iso = (index: number, salt: number): string => new Date(ISO_BASE - Math.floor(unit(index, salt) * 3_600_000)).toISOString();

// ---------------------------------------------------------------- planner

export type PlannerFleetKind = 'steady' | 'catchUp';

/** The interval the planner benchmark plans, and H_k. */
export const PLAN_INTERVAL = 29_933_600;
export const PLAN_HEAD = 10_000_000;
const APPLIED_CHAIN = 'c'.repeat(64);

export interface PlannerNode {
  /** The Nodes item as the document client reads it. */
  readonly item: Readonly<Record<string, unknown>>;
  /** The node's plan in its segment's record of the previous interval. */
  readonly entry: PlanEntry;
}

/**
 * Node i of a planner fleet. Its item is what registration and the applier leave (the plan fields
 * live in the plan records now, so the item's plannedSeq is registration's 0).
 */
export function plannerNode(index: number, kind: PlannerFleetKind, idLength: number): PlannerNode {
  const id = nodeId(index, idLength);
  const appliedSeq = kind === 'steady' ? PLAN_HEAD - 1 - Math.floor(unit(index, 1) * BATCH_SIZE) : Math.floor(unit(index, 1) * 1_000_000);
  return {
    item: {
      nodeId: id,
      rate: 1 + Math.floor(unit(index, 2) * 70) / 10,
      status: 'active',
      appliedSeq,
      appliedChain: APPLIED_CHAIN,
      appliedAt: iso(index, 3),
      lastProducedAt: iso(index, 4),
      plannedSeq: 0,
    },
    entry: { nodeId: id, plannedSeq: appliedSeq, progressSeq: Math.max(0, appliedSeq - 1 - Math.floor(unit(index, 5) * BATCH_SIZE)), progressInterval: PLAN_INTERVAL - 1 },
  };
}

// ---------------------------------------------------------------- checker

/** The tick the checker benchmark judges, the log's length and the open intervals. */
export const CHECK_TICK = 29_447_718;
const LOG_LENGTH = 10_000;
export const OPEN_INTERVALS = 60;
const HEAD_STEP = 100;
const CURSOR_SPREAD = 7_000;
const BROKEN_SHARE = 0.01;

/** The open intervals k − 60 … k − 1 and the head each was planned against (100 apart, the newest at the log's head). */
export function openIntervals(): { readonly interval: number; readonly head: number }[] {
  return Array.from({ length: OPEN_INTERVALS }, (_, index) => ({ interval: CHECK_TICK - OPEN_INTERVALS + index, head: LOG_LENGTH - (OPEN_INTERVALS - 1 - index) * HEAD_STEP }));
}

export interface CheckerLog {
  /** The chain at every seq (index = seq; seq 0 is the genesis chain). */
  readonly chains: readonly string[];
  /** Every link, for folding the shards not measured. */
  readonly links: ReadonlyMap<number, ChainLink>;
  /** The Log items as the log adapter writes them, the head item first. */
  readonly items: readonly WireItem[];
}

/** The log: LOG_LENGTH puts over 1,000 keys, produced evenly over the 61 intervals before the tick. */
export function checkerLog(): CheckerLog {
  const first = intervalStart(CHECK_TICK - OPEN_INTERVALS - 1, INTERVAL_SECONDS).getTime();
  const spacingMs = ((OPEN_INTERVALS + 1) * INTERVAL_SECONDS * 1000) / LOG_LENGTH;
  const chains = [GENESIS_CHAIN];
  const links = new Map<number, ChainLink>();
  const items: WireItem[] = [];
  for (let seq = 1; seq <= LOG_LENGTH; seq += 1) {
    const update = { key: `key-${seq % 1_000}`, op: 'put' as const, value: { n: seq } };
    const chain = nextChain(chains[seq - 1] ?? GENESIS_CHAIN, seq, update);
    const producedAt = new Date(first + Math.floor(seq * spacingMs)).toISOString();
    chains.push(chain);
    links.set(seq, { seq, chain, producedAt });
    items.push(toWireItem(logEntryItem(STREAM, { seq, ...update, chain, producedAt })));
  }
  const head = { stream: STREAM, seq: 0, head: LOG_LENGTH, headChain: chains[LOG_LENGTH] ?? GENESIS_CHAIN, updatedAt: links.get(LOG_LENGTH)?.producedAt ?? '' };
  return { chains, links, items: [toWireItem(head), ...items] };
}

/** Node i of the checker fleet, as the document client reads its Nodes item. */
export function checkerNode(index: number, idLength: number, chains: readonly string[]): Readonly<Record<string, unknown>> {
  const appliedSeq = LOG_LENGTH - Math.floor(unit(index, 11) * CURSOR_SPREAD);
  return {
    nodeId: nodeId(index, idLength),
    rate: 1 + Math.floor(unit(index, 12) * 3),
    status: 'active',
    appliedSeq,
    appliedChain: unit(index, 13) < BROKEN_SHARE ? 'f'.repeat(64) : (chains[appliedSeq] ?? GENESIS_CHAIN),
    appliedAt: iso(index, 14),
    lastProducedAt: iso(index, 15),
    plannedSeq: appliedSeq,
  };
}
