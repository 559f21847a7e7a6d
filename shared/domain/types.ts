/**
 * The vocabulary of Microbatch Sync (DESIGN §2). Every other module speaks in these types.
 */

/** Any JSON value an update may carry. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * What an update does to its key. Named here, so that this vocabulary depends on no other module;
 * what each op means is declared in ops.ts (`OPS`), which the compiler holds to exactly these names.
 */
export type Op = 'put' | 'delete';

/** What a producer sends: the log assigns `seq`, `chain` and `producedAt`. */
export interface NewUpdate {
  readonly key: string;
  readonly op: Op;
  readonly value?: JsonValue;
}

/** One committed entry of the log. `seq` starts at 1 and has no gaps. */
export interface LogEntry extends NewUpdate {
  readonly seq: number;
  /** `chain_seq`: the hash chain up to and including this entry. */
  readonly chain: string;
  /** ISO-8601 time the log accepted the update. */
  readonly producedAt: string;
}

/** The log's head item (seq 0): the highest committed seq and its chain. */
export interface LogHead {
  readonly head: number;
  readonly headChain: string;
  readonly updatedAt?: string;
}

export type NodeStatus = 'active' | 'paused';

/** A replica and its two cursors: what it has applied and what has been enqueued for it. */
export interface NodeState {
  readonly nodeId: string;
  /** Updates per second the node can absorb (r_i). */
  readonly rate: number;
  readonly status: NodeStatus;
  /** Seqs 1…appliedSeq are applied: the node's timestamp in the seed's sense. */
  readonly appliedSeq: number;
  readonly appliedChain: string;
  readonly appliedAt?: string;
  /** Work for the node has been enqueued up to this seq. */
  readonly plannedSeq: number;
  readonly plannedAt?: string;
  /** Interval index k of the last plan; a node is planned at most once per k. */
  readonly plannedInterval?: number;
  /**
   * The cursor as the planner last saw it move (`progressSeq`), and the interval since which it has
   * not moved while work was outstanding (`progressInterval`). Written only by the planner's claim,
   * so the applier's hot path pays nothing for it; the planner re-sends lost tokens once the cursor
   * has stood still for `staleAfterIntervals` (DESIGN §5 step 3).
   */
  readonly progressSeq?: number;
  readonly progressInterval?: number;
  /** `producedAt` of the last applied update. */
  readonly lastProducedAt?: string;
}

/** The cursor fields the applier moves forward. */
export interface AppliedCursor {
  readonly appliedSeq: number;
  readonly appliedChain: string;
  readonly appliedAt: string;
  readonly lastProducedAt?: string;
}

/** The plan fields the planner claims. */
export interface PlanClaim {
  readonly plannedSeq: number;
  readonly plannedAt: string;
  readonly plannedInterval: number;
  readonly progressSeq: number;
  readonly progressInterval: number;
}

/**
 * Schema version 2 of the SQS message (DESIGN §3): a work token, "move `nodeId`'s cursor toward
 * `target`, at most b updates". Every token of one plan carries the plan's target, so any `count`
 * of them, in any order, bring the node from its cursor at planning time to the target.
 */
export interface Microbatch {
  readonly v: 2;
  readonly stream: string;
  readonly nodeId: string;
  readonly interval: number;
  /** Where the plan's new work starts (the node's plannedSeq when it was planned). */
  readonly from: number;
  /** The plan's target: no token of this plan moves the cursor past it. */
  readonly target: number;
  /** Position of this token among the plan's `count` tokens. */
  readonly index: number;
  readonly count: number;
  readonly plannedAt: string;
}

/**
 * A replica's item, as stored and as written: a value, or a tombstone that keeps the seq of the
 * delete. ops.ts says which item each op leaves.
 */
export interface ReplicaItem {
  readonly key: string;
  readonly value?: JsonValue;
  readonly deleted?: true;
  /** The seq of the entry that wrote the item: the replica store's guard compares it. */
  readonly seq: number;
  /** That entry's `producedAt`: the item's timestamp, so a replica is an exact replay of the log. */
  readonly updatedAt: string;
}

/** What the planner records for interval k before it plans (first writer wins). */
export interface PlanHeader {
  readonly stream: string;
  readonly interval: number;
  /** H_k: the head every planner run of k plans against. */
  readonly head: number;
  readonly headChain: string;
  readonly plannedAt: string;
  /**
   * How k's planning is cut (sharding.ts): S shards over B parallel-Scan segments, and the B of the
   * plan records k's segments find their history in. A header written before planning was sharded
   * reads as one shard of one segment.
   */
  readonly shards: number;
  readonly segments: number;
  readonly previousSegments: number;
}

/** What an interval's shards planned, added up as each shard reports (once per shard). */
export interface PlanTotals {
  readonly activeNodes: number;
  /** Nodes that were sent tokens. */
  readonly nodesPlanned: number;
  readonly microbatches: number;
  /** New updates planned: Σ q_i. */
  readonly updatesPlanned: number;
  /** Nodes whose stalled work was re-sent. */
  readonly resends: number;
  /** Nodes whose progress alone was recorded. */
  readonly observations: number;
  readonly rejectedNodes: number;
  /** Nodes left unplanned because SQS refused some of their tokens (the next interval plans them). */
  readonly unsentNodes: number;
  /** Nodes items the segments' Scans read (paused and invalid ones too): what sizes the next cut. */
  readonly scannedItems: number;
}

/** The zero of {@link PlanTotals}. */
export const NO_PLAN_TOTALS: PlanTotals = {
  activeNodes: 0,
  nodesPlanned: 0,
  microbatches: 0,
  updatesPlanned: 0,
  resends: 0,
  observations: 0,
  rejectedNodes: 0,
  unsentNodes: 0,
  scannedItems: 0,
};

export function addPlanTotals(a: PlanTotals, b: PlanTotals): PlanTotals {
  const sum: Record<string, number> = {};
  for (const key of Object.keys(NO_PLAN_TOTALS) as (keyof PlanTotals)[]) sum[key] = a[key] + b[key];
  return sum as unknown as PlanTotals;
}

/** A node that has not reached an interval's head, and by how much. */
export interface LaggingNode {
  readonly nodeId: string;
  readonly appliedSeq: number;
  readonly lagUpdates: number;
  readonly stalenessSeconds: number;
}

/** A node whose share per interval is below the average ingest: it cannot converge while ingest goes on. */
export interface UnderProvisionedNode {
  readonly nodeId: string;
  readonly sharePerInterval: number;
  readonly averageIngestPerInterval: number;
}

/**
 * What the checker needs of a log entry to verify a node: the chain at the node's cursor, and when
 * the first update it lacks was produced.
 */
export type ChainLink = Pick<LogEntry, 'seq' | 'chain' | 'producedAt'>;

/**
 * The checker's verdict for interval k (DESIGN §7): counts of the whole fleet, and the first
 * `reportTopN` nodes of each list, so the item stays a few KB at any fleet size (the checker logs
 * the full lists).
 */
export interface IntervalVerdict {
  readonly interval: number;
  readonly head: number;
  readonly activeNodes: number;
  readonly consistentNodes: number;
  readonly maxLagUpdates: number;
  readonly maxStalenessSeconds: number;
  /** Nodes below the head. */
  readonly laggingCount: number;
  /** The biggest laggards, biggest lag first (ties by node id). */
  readonly laggingNodes: readonly LaggingNode[];
  readonly underProvisionedCount: number;
  /** The under-provisioned nodes furthest below the ingest, furthest first (ties by node id). */
  readonly underProvisionedNodes: readonly UnderProvisionedNode[];
  /** Nodes whose chain differs from the log's chain at their own cursor, laggards included: their data differs. */
  readonly integrityFailureCount: number;
  /** The first of those nodes in node-id order: the same names every tick while they stay broken. */
  readonly integrityFailures: readonly string[];
  readonly converged: boolean;
}

/** An interval's row without its verdict: what the checker needs to decide what to judge, expire or report. */
export interface IntervalStatus extends PlanHeader {
  /** Shards that planned their segments (each counted once), and shards that gave up as stale. */
  readonly shardsReported: number;
  readonly shardsExpired: number;
  readonly converged: boolean;
  readonly convergedAt?: string;
  readonly checkedAt?: string;
  /**
   * When the interval left the checker's open window without having converged. An expired interval
   * is closed: never judged again, never counted as converged.
   */
  readonly expiredAt?: string;
  /** Why it expired. */
  readonly expiredReason?: ExpiryReason;
  /** How many times the checker has written the record; absent until the first time. Every write is conditional on the version it read. */
  readonly version?: number;
}

/**
 * Why an interval was closed without a verdict: it left the open window unconverged, or its plan
 * was never whole (a planner shard gave up, or never reported), so no verdict could be fair.
 */
export const EXPIRY_REASONS = ['left-window', 'plan-incomplete'] as const;
export type ExpiryReason = (typeof EXPIRY_REASONS)[number];

/** One row of the Convergence table: the plan header, and the checker's latest verdict once checked. */
export interface ConvergenceRecord extends IntervalStatus, Partial<PlanTotals> {
  readonly verdict?: IntervalVerdict;
}

/** What a verdict was judged from, so that a write never lands on a record that has moved on since. */
export interface Judgement {
  /** The tick the verdict was judged as of. */
  readonly checkedAt: string;
  /** The record's version when the checker read it (0 when it had none). */
  readonly readVersion: number;
}
