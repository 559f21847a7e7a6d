/**
 * The ports the use cases depend on, in domain words (STYLE §2). `shared/adapters` implements them
 * with the AWS SDK; the model test implements them in memory.
 */
import type {
  AppliedCursor,
  ChainLink,
  ConvergenceRecord,
  IntervalStatus,
  IntervalVerdict,
  Judgement,
  LogEntry,
  LogHead,
  Microbatch,
  NodeState,
  NodeStatus,
  PlanClaim,
  PlanHeader,
  ExpiryReason,
  PlanTotals,
  ReplicaItem,
} from './types.ts';
import { chunkMarkerItem, type ChunkMarker } from './ingest.ts';
import { itemBytes, logEntryItem, logHeadItem, MAX_ITEM_BYTES, MAX_TRANSACTION_ACTIONS, MAX_TRANSACTION_BYTES } from './item-size.ts';
import type { TallyState } from './convergence.ts';
import type { IntervalClock } from './interval-clock.ts';
import type { RejectedNode } from './node.ts';
import type { PlanEntry, SegmentPlan } from './segment-plan.ts';
import type { ShardTask } from './shard-task.ts';

export interface LogReader {
  /** Consistent read of the head item; a stream with no head item has head 0 and the genesis chain. */
  readHead(stream: string): Promise<LogHead>;
  /**
   * Consistent, paginated read of the entries `from+1 … to`, ascending. Returns fewer entries than
   * asked when some are not (yet) visible; the caller decides what that means.
   */
  readRange(stream: string, from: number, to: number): Promise<LogEntry[]>;
  /**
   * The chain links (seq, chain, producedAt — not the update itself) at the given seqs (≥ 1),
   * consistently read; a seq that does not exist is absent from the map.
   */
  readChains(stream: string, seqs: readonly number[]): Promise<Map<number, ChainLink>>;
}

/** TransactWriteItems takes 100 actions: the head item plus 99 updates. */
export const MAX_ENTRIES_PER_APPEND = MAX_TRANSACTION_ACTIONS - 1;

/**
 * The precondition of {@link LogWriter.append}, shared by every implementation, so that the
 * in-memory log refuses what DynamoDB would: entries that follow the head, in one transaction
 * within DynamoDB's limits on actions, item size and aggregate size (item-size.ts), with a marker
 * that names exactly their seqs.
 * @returns the last entry.
 * @throws RangeError for no entries, more than fit beside the head item (and the marker), entries
 * that do not follow the head, an item over MAX_ITEM_BYTES, items over MAX_TRANSACTION_BYTES in
 * all, or a marker of another stream or other seqs.
 */
export function checkAppend(stream: string, expected: LogHead, entries: readonly LogEntry[], updatedAt: string, marker?: ChunkMarker): LogEntry {
  const last = entries.at(-1);
  const maxEntries = MAX_ENTRIES_PER_APPEND - (marker === undefined ? 0 : 1);
  if (last === undefined || entries.length > maxEntries) {
    throw new RangeError(`append takes 1 to ${maxEntries} entries${marker === undefined ? '' : ' with a marker'}, got ${entries.length}`);
  }
  if (marker !== undefined && (marker.stream !== stream || marker.firstSeq !== expected.head + 1 || marker.lastSeq !== last.seq)) {
    throw new RangeError(`the marker of chunk ${marker.chunk} names seqs ${marker.firstSeq}–${marker.lastSeq} of ${marker.stream}, not the entries`);
  }
  let bytes = itemBytes(logHeadItem(stream, { head: last.seq, headChain: last.chain }, updatedAt)) + (marker === undefined ? 0 : itemBytes(chunkMarkerItem(marker)));
  entries.forEach((entry, index) => {
    const seq = expected.head + 1 + index;
    if (entry.seq !== seq) throw new RangeError(`entry ${index} has seq ${entry.seq}, expected ${seq} (contiguous after head ${expected.head})`);
    const entryBytes = itemBytes(logEntryItem(stream, entry));
    if (entryBytes > MAX_ITEM_BYTES) throw new RangeError(`entry ${index} (seq ${seq}) takes ${entryBytes} bytes, over the item limit of ${MAX_ITEM_BYTES}`);
    bytes += entryBytes;
  });
  if (bytes > MAX_TRANSACTION_BYTES) throw new RangeError(`append takes at most ${MAX_TRANSACTION_BYTES} bytes of items, got ${bytes}`);
  return last;
}

export interface LogWriter {
  /**
   * Atomically appends `entries` (≤ 99, contiguous, starting at `expected.head + 1`) and moves the
   * head item to the last one, on the condition that the head is still `expected.head`. With a
   * `marker` (a chunk of an idempotent request, DESIGN §4) the same transaction records it, on the
   * condition that no live marker of that chunk exists (one whose `expiresAt` is after `updatedAt`).
   * @throws ChunkCommittedError when the chunk's marker exists (another attempt committed it);
   * HeadMovedError when another writer moved the head first; AppendThrottledError when the
   * transaction was throttled; RangeError when {@link checkAppend} refuses the entries.
   */
  append(stream: string, expected: LogHead, entries: readonly LogEntry[], updatedAt: string, marker?: ChunkMarker): Promise<void>;
}

/** Where the markers {@link LogWriter.append} writes are read back. */
export interface IngestRequestReader {
  /** Consistent read of every marker of one idempotent request, expired ones included, by chunk. */
  readMarkers(stream: string, idempotencyKey: string): Promise<ChunkMarker[]>;
}

/** What a user supplies to register a node. */
export interface NodeRegistration {
  readonly nodeId: string;
  readonly rate: number;
  readonly status?: NodeStatus;
}

/** One page of a scan of the active nodes. */
export interface NodePage {
  readonly nodes: readonly NodeState[];
  /** Items that are not valid nodes (written by hand): skipped, reported, never thrown. */
  readonly rejected: readonly RejectedNode[];
  /** Items the page read, whatever became of them (the size of the fleet as the table holds it). */
  readonly scanned: number;
}

export interface NodeRepository {
  /**
   * Every active node, page by page (parallel Scan segments once the table is large), so a caller
   * can work on a fleet of any size in bounded memory. An item that is not a valid node (see
   * `readNodeItem`) is reported in its page's `rejected` list and never stops the scan.
   */
  scanActive(): AsyncIterable<NodePage>;
  /**
   * The nodes of one segment of a parallel Scan of `segments` (sharding.ts), page by page: the
   * segments of one count cover every item exactly once. Paused nodes too with `includePaused`.
   */
  scanSegment(segment: number, segments: number, options: { readonly includePaused: boolean }): AsyncIterable<NodePage>;
  /** About how many items the table holds (DynamoDB refreshes its count about every six hours). */
  fleetSize(): Promise<number>;
  /**
   * Consistent read of one node.
   * @throws when the item exists but is not a valid node (the applier fails the record).
   */
  get(nodeId: string): Promise<NodeState | undefined>;
  /**
   * Sets the plan and progress fields on the condition that `plannedSeq` is still
   * `expectedPlannedSeq` and the node has no claim for `claim.plannedInterval` or later (one claim
   * per node per interval).
   * @returns false when the condition failed (another planner run claimed first).
   */
  claimPlan(nodeId: string, expectedPlannedSeq: number, claim: PlanClaim): Promise<boolean>;
  /**
   * Moves the cursor on the condition that `appliedSeq` is still `expectedAppliedSeq`.
   * @returns false when the condition failed (another delivery moved it first).
   */
  advanceCursor(nodeId: string, expectedAppliedSeq: number, cursor: AppliedCursor): Promise<boolean>;
  /** Creates a node with empty cursors, or updates the rate and status of an existing one. */
  register(node: NodeRegistration): Promise<void>;
}

export interface ReplicaStore {
  /**
   * Writes each item over its key with a seq guard (a write lands only where the stored seq is
   * older), with bounded concurrency. A failed guard means a newer write is already there: it
   * counts as skipped.
   */
  write(nodeId: string, items: readonly ReplicaItem[]): Promise<{ written: number; skipped: number }>;
  /** Every item of a node's replica, tombstones included (for audits). */
  list(nodeId: string): Promise<ReplicaItem[]>;
}

export interface ConvergenceStore {
  /**
   * Records interval k's plan header unless one exists (first writer wins).
   * @returns the header stored for k — this call's, or the one an earlier run of k wrote — and
   * whether this call wrote it.
   */
  putPlanHeader(header: PlanHeader, expiresAtEpochSeconds: number): Promise<{ readonly written: boolean; readonly header: PlanHeader }>;
  /** The newest plan header with `interval < before`, with the totals its shards reported. */
  latestPlanHeader(stream: string, before: number): Promise<(PlanHeader & Partial<PlanTotals>) | undefined>;
  /**
   * Adds one shard's totals to its interval's, once per shard: a redelivered or retried shard finds
   * its mark and adds nothing. With `expired`, the shard gave up (its task came after the next
   * tick) and is counted as such instead.
   * @returns false when the shard had reported already (or the header is gone).
   */
  reportPlanShard(stream: string, interval: number, shard: number, report: { readonly totals: PlanTotals } | { readonly expired: true }): Promise<boolean>;
  /**
   * The newest `limit` records with `interval ≤ upTo`, newest first, verdicts included: for audits
   * (the model test checks every verdict against the nodes with it). The checker reads the lighter
   * `statuses` instead.
   */
  recent(stream: string, upTo: number, limit: number): Promise<ConvergenceRecord[]>;
  /**
   * Stores the checker's verdict on an interval unless the record has moved on since it was read:
   * a verdict never lands on a converged record (convergence is a recorded fact, set once with
   * `convergedAt`), on a verdict of a later tick, or on anything written after `readVersion`. So
   * overlapping checker runs never take a record backwards, whichever writes last.
   * @returns false when nothing was written: no plan header, or the record had moved on.
   */
  recordVerdict(stream: string, verdict: IntervalVerdict, judgement: Judgement): Promise<boolean>;
  /**
   * The stream's watermark — every interval up to `closedThrough` is closed (converged or expired)
   * — and every record above it up to `upTo`, oldest first, without verdicts. The watermark keeps
   * a tick's read to the open window however long the table's history is, yet a checker that missed
   * ticks still finds every interval that left the window meanwhile.
   */
  statuses(stream: string, upTo: number): Promise<{ readonly closedThrough?: number; readonly records: readonly IntervalStatus[] }>;
  /**
   * Closes an interval that will not be judged: it left the open window without converging, or its
   * plan will never be whole. Sets `expiredAt` and the reason, so it is never judged again.
   * @returns false when it had converged or expired meanwhile, or has no header.
   */
  expire(stream: string, interval: number, expiredAt: string, reason: ExpiryReason): Promise<boolean>;
  /** Raises the stream's watermark to `interval` (never lowers it): every interval up to it is closed. */
  closeThrough(stream: string, interval: number): Promise<void>;
  /** The stream's watermark alone: every interval up to it is closed (undefined: none closed yet). */
  watermark(stream: string): Promise<number | undefined>;
}

/** The interval clock as stored, with the version its replacement is conditional on. */
export interface StoredClock {
  readonly clock: IntervalClock;
  readonly version: number;
}

/** Where a stream's interval clock (interval-clock.ts) is kept. Only the planner's coordinator writes it. */
export interface IntervalClockStore {
  /** The stream's clock; undefined for a stream that has none stored yet. */
  readClock(stream: string): Promise<StoredClock | undefined>;
  /**
   * Replaces the clock if the stored version is still `expectedVersion` (undefined: none stored).
   * @returns false when another run wrote it first.
   */
  writeClock(stream: string, clock: IntervalClock, expectedVersion: number | undefined): Promise<boolean>;
}

/** Where each segment's plan record is kept (segment-plan.ts). */
export interface PlanLedger {
  /** The newest record of segment `segment` of `segments` with `interval ≤ upTo`. */
  latest(stream: string, segments: number, segment: number, upTo: number): Promise<SegmentPlan | undefined>;
  /**
   * Records a segment's plan unless one exists for its interval (first writer wins). Entries that
   * do not fit one record are left out and returned: their plans must be claimed on their items.
   */
  commit(plan: SegmentPlan, expiresAtEpochSeconds: number): Promise<{ readonly committed: boolean; readonly spilled: readonly PlanEntry[] }>;
}

/** The verdicts of one check tick as its coordinator fixed them, before any shard judged. */
export interface CheckHeader {
  readonly stream: string;
  /** The checker's tick k; it judges the open intervals before k. */
  readonly interval: number;
  readonly checkedAt: string;
  readonly shards: number;
  readonly segments: number;
  /** The current head, then every judged interval's head (TallyState.heads is their sorted set). */
  readonly heads: readonly number[];
  readonly averageIngestPerInterval: number;
  /** The open intervals to judge, each with the version of its record when the coordinator read it. */
  readonly judged: readonly { readonly interval: number; readonly head: number; readonly version: number }[];
  /** The newest interval before k with a plan, as the coordinator found it. */
  readonly newest?: { readonly interval: number; readonly converged: boolean; readonly convergedAt?: string };
}

/** What the merge of a check tick found, kept on its header for the command line and the local runtime. */
export interface CheckOutcome {
  /** Where the nodes stood against the tick's current head. */
  readonly current: IntervalVerdict;
  /** The newest interval before the tick with a plan, as the merge left it. */
  readonly latest?: { readonly interval: number; readonly converged: boolean; readonly convergedAt?: string };
}

/** How a check tick's shards stand. */
export interface CheckProgress {
  readonly shards: number;
  readonly reported: number;
  readonly expired: number;
  /** Whether a shard has merged the partial verdicts into the interval records already. */
  readonly merged: boolean;
  /** What the merge found, once merged. */
  readonly outcome?: CheckOutcome;
}

/** The checker's per-tick records: the tick's header, each shard's partial tally, and the count of shards in. */
export interface CheckStore {
  /** Records the tick's header unless one exists. @returns the stored header — this one, or an earlier run's — and whether this call wrote it. */
  putCheckHeader(header: CheckHeader, expiresAtEpochSeconds: number): Promise<{ readonly written: boolean; readonly header: CheckHeader }>;
  /** The tick's header and how its shards stand; undefined when the tick has none. */
  getCheckHeader(stream: string, interval: number): Promise<{ readonly header: CheckHeader; readonly progress: CheckProgress } | undefined>;
  /** The newest tick with a check header; undefined before the first. */
  latestTick(stream: string): Promise<number | undefined>;
  /** Stores a shard's partial tally unless it has one (a duplicate run's would be the same fleet). */
  putPartial(stream: string, interval: number, shard: number, tally: TallyState, expiresAtEpochSeconds: number): Promise<void>;
  /**
   * Counts a shard in (or, with `expired`, as given up), once per shard.
   * @returns the tick's progress after this report, and whether this call counted it.
   */
  reportCheckShard(stream: string, interval: number, shard: number, expired: boolean): Promise<{ readonly counted: boolean; readonly progress: CheckProgress }>;
  /** Every shard's partial tally of the tick. */
  partials(stream: string, interval: number): Promise<TallyState[]>;
  /** Marks the tick merged, with what the merge found. @returns false when another shard had marked it first. */
  markMerged(stream: string, interval: number, outcome: CheckOutcome): Promise<boolean>;
}

/** The queue of one kind of shard task (shard-task.ts). */
export interface ShardTaskQueue<T extends ShardTask> {
  /** Sends the tasks, 10 per call; @returns the ones SQS still refused after retries. */
  send(tasks: readonly T[]): Promise<readonly T[]>;
}

/** A token SQS still refused after the adapter's retries, with the last reason. */
export interface UnsentMicrobatch {
  readonly microbatch: Microbatch;
  /** The SQS error code of the failed entry, or the error name when the whole call threw. */
  readonly code: string;
  readonly message?: string;
  /** SQS blamed the request itself: retrying the same entry cannot succeed. */
  readonly senderFault: boolean;
}

export interface MicrobatchQueue {
  /**
   * Sends every microbatch (10 per call, bounded parallel calls, in no particular order: tokens of
   * one plan may apply in any order), retrying only the entries a response reports as failed.
   * @returns the microbatches still unsent after the retries (empty when all were accepted).
   */
  send(microbatches: readonly Microbatch[]): Promise<readonly UnsentMicrobatch[]>;
}

/** Every page of {@link NodeRepository.scanActive} in one list: for small fleets, tools and tests. */
export async function listActive(nodes: Pick<NodeRepository, 'scanActive'>): Promise<{ nodes: NodeState[]; rejected: RejectedNode[] }> {
  const all: { nodes: NodeState[]; rejected: RejectedNode[] } = { nodes: [], rejected: [] };
  for await (const page of nodes.scanActive()) {
    all.nodes.push(...page.nodes);
    all.rejected.push(...page.rejected);
  }
  return all;
}
