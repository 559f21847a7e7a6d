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
  PlanTotals,
  ReplicaItem,
} from './types.ts';
import { chunkMarkerItem, type ChunkMarker } from './ingest.ts';
import { itemBytes, logEntryItem, logHeadItem, MAX_ITEM_BYTES, MAX_TRANSACTION_ACTIONS, MAX_TRANSACTION_BYTES } from './item-size.ts';
import type { RejectedNode } from './node.ts';

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
}

export interface NodeRepository {
  /**
   * Every active node, page by page (parallel Scan segments once the table is large), so a caller
   * can work on a fleet of any size in bounded memory. An item that is not a valid node (see
   * `readNodeItem`) is reported in its page's `rejected` list and never stops the scan.
   */
  scanActive(): AsyncIterable<NodePage>;
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
  /** Adds what one planner run of the interval sent to the interval's totals. */
  addPlanTotals(stream: string, interval: number, totals: PlanTotals): Promise<void>;
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
   * Closes an interval that left the open window without converging: sets `expiredAt`, so it is
   * never judged again. @returns false when it had converged or expired meanwhile, or has no header.
   */
  expire(stream: string, interval: number, expiredAt: string): Promise<boolean>;
  /** Raises the stream's watermark to `interval` (never lowers it): every interval up to it is closed. */
  closeThrough(stream: string, interval: number): Promise<void>;
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
