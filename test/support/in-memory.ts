/**
 * In-memory implementations of every port in `shared/domain/ports.ts`, for model and handler tests.
 *
 * They keep the contracts of the DynamoDB and SQS adapters, because a test that passes against a
 * kinder store proves nothing about the real one:
 * - every conditional write checks its condition and takes effect in one synchronous step, after
 *   an `await` that lets other callers run first (as a network round trip would), so races between
 *   concurrent callers are real;
 * - values are stored as JSON text, as the adapters store them, and every read returns fresh
 *   objects: a caller can neither mutate stored state nor see a value the adapters could not return;
 * - the queue drops a message whose deduplication id it has already accepted (the SQS FIFO
 *   deduplication window, taken as unbounded).
 *
 * {@link FaultPlan} wraps any port so that its Nth call of a method throws {@link InjectedCrash}
 * before or after the call takes effect: a crash between any two steps of a use case.
 */
import { GENESIS_CHAIN } from '#shared/domain/chain.ts';
import { ChunkCommittedError, HeadMovedError } from '#shared/domain/errors.ts';
import { requestId, type ChunkMarker } from '#shared/domain/ingest.ts';
import { gzipSync } from 'node:zlib';
import type { TallyState } from '#shared/domain/convergence.ts';
import {
  checkAppend,
  type CheckHeader,
  type CheckOutcome,
  type CheckProgress,
  type CheckStore,
  type ConvergenceStore,
  type IngestRequestReader,
  type IntervalClockStore,
  type LogReader,
  type LogWriter,
  type MicrobatchQueue,
  type NodePage,
  type NodeRegistration,
  type NodeRepository,
  type PlanLedger,
  type ReplicaStore,
  type ShardTaskQueue,
  type StoredClock,
  type UnsentMicrobatch,
} from '#shared/domain/ports.ts';
import type { IntervalClock } from '#shared/domain/interval-clock.ts';
import { encodeEntries, type PlanEntry, type SegmentPlan } from '#shared/domain/segment-plan.ts';
import type { CheckTask, PlanTask, ShardTask } from '#shared/domain/shard-task.ts';
import { readNodeItem, type RejectedNode } from '#shared/domain/node.ts';
import { deduplicationId, serializeMicrobatch } from '#shared/domain/microbatch.ts';
import type {
  AppliedCursor,
  ChainLink,
  ConvergenceRecord,
  ExpiryReason,
  IntervalStatus,
  IntervalVerdict,
  JsonValue,
  Judgement,
  LogEntry,
  LogHead,
  Microbatch,
  NodeState,
  PlanClaim,
  PlanHeader,
  PlanTotals,
  ReplicaItem,
} from '#shared/domain/types.ts';
import { addPlanTotals, NO_PLAN_TOTALS } from '#shared/domain/types.ts';

/** Lets every other pending caller run before this call takes effect, as a network round trip would. */
async function roundTrip(): Promise<void> {
  await Promise.resolve();
}

function toJsonText(value: JsonValue): string {
  return JSON.stringify(value);
}

function fromJsonText(text: string): JsonValue {
  return JSON.parse(text) as JsonValue;
}

/** A deep copy through JSON: what a value looks like after a trip through a table. */
function jsonCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** DynamoDB orders string sort keys by their UTF-8 bytes. */
function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

interface StoredEntry {
  readonly seq: number;
  readonly key: string;
  readonly op: LogEntry['op'];
  readonly valueText?: string;
  readonly chain: string;
  readonly producedAt: string;
}

interface StoredStream {
  head: LogHead;
  readonly entries: Map<number, StoredEntry>;
}

/**
 * {@link LogReader}, {@link LogWriter} and {@link IngestRequestReader}: a head item and its entries
 * per stream, and the chunk markers of idempotent requests, written in the same step as their chunk.
 */
export class InMemoryLog implements LogReader, LogWriter, IngestRequestReader {
  private readonly streams = new Map<string, StoredStream>();
  /** Markers by request id, then by chunk. */
  private readonly markers = new Map<string, Map<number, ChunkMarker>>();

  async readHead(stream: string): Promise<LogHead> {
    await roundTrip();
    const stored = this.streams.get(stream);
    return stored === undefined ? { head: 0, headChain: GENESIS_CHAIN } : { ...stored.head };
  }

  async readRange(stream: string, from: number, to: number): Promise<LogEntry[]> {
    await roundTrip();
    const stored = this.streams.get(stream);
    if (stored === undefined) return [];
    const entries: LogEntry[] = [];
    // Never below 1: seq 0 is the head item, not an entry.
    for (let seq = Math.max(from + 1, 1); seq <= Math.min(to, stored.head.head); seq += 1) {
      const entry = stored.entries.get(seq);
      if (entry !== undefined) entries.push(toLogEntry(entry));
    }
    return entries;
  }

  async readChains(stream: string, seqs: readonly number[]): Promise<Map<number, ChainLink>> {
    await roundTrip();
    const links = new Map<number, ChainLink>();
    const stored = this.streams.get(stream);
    for (const seq of seqs) {
      const entry = stored?.entries.get(seq);
      if (entry !== undefined) links.set(seq, { seq: entry.seq, chain: entry.chain, producedAt: entry.producedAt });
    }
    return links;
  }

  async append(stream: string, expected: LogHead, entries: readonly LogEntry[], updatedAt: string, marker?: ChunkMarker): Promise<void> {
    const last = checkAppend(stream, expected, entries, updatedAt, marker);
    const copies = entries.map(toStoredEntry);
    const markerCopy = marker === undefined ? undefined : jsonCopy(marker);

    await roundTrip();
    // From here to the end nothing awaits: the conditions and the writes are one transaction.
    const requestMarkers = markerCopy === undefined ? undefined : (this.markers.get(requestId(stream, markerCopy.idempotencyKey)) ?? new Map<number, ChunkMarker>());
    const existing = markerCopy === undefined ? undefined : requestMarkers?.get(markerCopy.chunk);
    // As the adapter's `attribute_not_exists(requestId) OR expiresAt <= :now`: an expired marker is overwritten.
    if (existing !== undefined && existing.expiresAt > Math.floor(Date.parse(updatedAt) / 1000)) {
      throw new ChunkCommittedError(`chunk ${existing.chunk} of request ${existing.idempotencyKey} is already committed`);
    }
    const stored = this.streams.get(stream) ?? { head: { head: 0, headChain: GENESIS_CHAIN }, entries: new Map() };
    if (stored.head.head !== expected.head) {
      throw new HeadMovedError(`head of stream ${stream} is no longer ${expected.head}`);
    }
    for (const entry of copies) stored.entries.set(entry.seq, entry);
    stored.head = { head: last.seq, headChain: last.chain, updatedAt };
    this.streams.set(stream, stored);
    if (markerCopy !== undefined && requestMarkers !== undefined) {
      requestMarkers.set(markerCopy.chunk, markerCopy);
      this.markers.set(requestId(stream, markerCopy.idempotencyKey), requestMarkers);
    }
  }

  async readMarkers(stream: string, idempotencyKey: string): Promise<ChunkMarker[]> {
    await roundTrip();
    const requestMarkers = this.markers.get(requestId(stream, idempotencyKey)) ?? new Map<number, ChunkMarker>();
    return [...requestMarkers.values()].sort((a, b) => a.chunk - b.chunk).map((marker) => jsonCopy(marker));
  }
}

function toStoredEntry(entry: LogEntry): StoredEntry {
  return {
    seq: entry.seq,
    key: entry.key,
    op: entry.op,
    ...(entry.value === undefined ? {} : { valueText: toJsonText(entry.value) }),
    chain: entry.chain,
    producedAt: entry.producedAt,
  };
}

function toLogEntry(stored: StoredEntry): LogEntry {
  return {
    seq: stored.seq,
    key: stored.key,
    op: stored.op,
    ...(stored.valueText === undefined ? {} : { value: fromJsonText(stored.valueText) }),
    chain: stored.chain,
    producedAt: stored.producedAt,
  };
}

/** A plan claim that won its condition, in the order they landed. */
export interface ClaimRecord {
  readonly nodeId: string;
  readonly expectedPlannedSeq: number;
  readonly claim: PlanClaim;
}

/** A cursor move that won its condition, in the order they landed. */
export interface CursorMove {
  readonly nodeId: string;
  readonly expectedAppliedSeq: number;
  readonly cursor: AppliedCursor;
}

/**
 * {@link NodeRepository}. Items are kept as DynamoDB would hold them — plain records — and read with
 * the same `readNodeItem` rule as the adapter, so a test can write an item by hand ({@link putItem})
 * and see it rejected. Besides the port it keeps the history of the conditional writes that won
 * ({@link claims}, {@link cursorMoves}), so a test can check every step, not only the end state.
 */
export class InMemoryNodeRepository implements NodeRepository {
  private readonly items = new Map<string, Record<string, unknown>>();
  private readonly claimHistory: ClaimRecord[] = [];
  private readonly moveHistory: CursorMove[] = [];

  /** @param pageSize items per page of {@link scanActive}: small, so tests cross pages. */
  constructor(private readonly pageSize = 3) {}

  /** Every claim that won, oldest first. */
  get claims(): readonly ClaimRecord[] {
    return jsonCopy(this.claimHistory);
  }

  /** Every cursor move that won, oldest first. */
  get cursorMoves(): readonly CursorMove[] {
    return jsonCopy(this.moveHistory);
  }

  /** Writes an item as it is, the way `aws dynamodb put-item` would. */
  putItem(item: Record<string, unknown>): void {
    this.items.set(String(item.nodeId), jsonCopy(item));
  }

  async *scanActive(): AsyncGenerator<NodePage, void, undefined> {
    yield* this.pages([...this.items.values()].filter((item) => item.status !== 'paused'), false);
  }

  /**
   * Segment g of a parallel Scan of `segments`, as DynamoDB cuts it: a range of the key's hash
   * (here FNV-1a of the node id), so segment g of B is exactly segments 2g and 2g+1 of 2B.
   */
  async *scanSegment(segment: number, segments: number, options: { readonly includePaused: boolean }): AsyncGenerator<NodePage, void, undefined> {
    yield* this.pages([...this.items.values()].filter((item) => segmentOf(String(item.nodeId), segments) === segment), options.includePaused);
  }

  async fleetSize(): Promise<number> {
    await roundTrip();
    return this.items.size;
  }

  private async *pages(items: readonly Record<string, unknown>[], includePaused: boolean): AsyncGenerator<NodePage, void, undefined> {
    for (let start = 0; start < items.length || start === 0; start += this.pageSize) {
      await roundTrip();
      const nodes: NodeState[] = [];
      const rejected: RejectedNode[] = [];
      const page = items.slice(start, start + this.pageSize);
      for (const item of page) {
        const read = readNodeItem(jsonCopy(item));
        if ('rejected' in read) rejected.push(read.rejected);
        else if (includePaused || read.node.status === 'active') nodes.push(read.node);
      }
      yield { nodes, rejected, scanned: page.length };
    }
  }

  async get(nodeId: string): Promise<NodeState | undefined> {
    await roundTrip();
    return this.read(nodeId);
  }

  async claimPlan(nodeId: string, expectedPlannedSeq: number, claim: PlanClaim): Promise<boolean> {
    await roundTrip();
    // As in DynamoDB, the condition also fails for a node that does not exist.
    const node = this.read(nodeId);
    if (node?.plannedSeq !== expectedPlannedSeq) return false;
    if (node.plannedInterval !== undefined && node.plannedInterval >= claim.plannedInterval) return false;
    this.write(nodeId, { ...claim });
    this.claimHistory.push({ nodeId, expectedPlannedSeq, claim: { ...claim } });
    return true;
  }

  async advanceCursor(nodeId: string, expectedAppliedSeq: number, cursor: AppliedCursor): Promise<boolean> {
    await roundTrip();
    const node = this.read(nodeId);
    if (node?.appliedSeq !== expectedAppliedSeq) return false;
    this.write(nodeId, { ...cursor });
    this.moveHistory.push({ nodeId, expectedAppliedSeq, cursor: { ...cursor } });
    return true;
  }

  async register(registration: NodeRegistration): Promise<void> {
    await roundTrip();
    // Re-registering keeps the cursors, as the adapter's if_not_exists does.
    const existing = this.items.get(registration.nodeId) ?? { nodeId: registration.nodeId, appliedSeq: 0, appliedChain: GENESIS_CHAIN, plannedSeq: 0 };
    this.items.set(registration.nodeId, { ...existing, rate: registration.rate, status: registration.status ?? 'active' });
  }

  /** The node as the adapter's `get` reads it: a malformed item throws, naming what is wrong. */
  private read(nodeId: string): NodeState | undefined {
    const item = this.items.get(nodeId);
    if (item === undefined) return undefined;
    const read = readNodeItem(jsonCopy(item));
    if ('rejected' in read) throw new Error(`Nodes: attribute ${read.rejected.attribute} ${read.rejected.problem} in the item of node ${nodeId}`);
    return read.node;
  }

  /** An UpdateItem's SET: the given attributes replace the stored ones, undefined ones are left out. */
  private write(nodeId: string, attributes: Record<string, unknown>): void {
    const item = this.items.get(nodeId) ?? { nodeId };
    for (const [name, value] of Object.entries(attributes)) if (value !== undefined) item[name] = value;
    this.items.set(nodeId, item);
  }
}

interface StoredReplicaItem {
  readonly valueText?: string;
  readonly deleted?: true;
  readonly seq: number;
  readonly updatedAt: string;
}

/** {@link ReplicaStore}: one guarded put per key, as the adapter's conditional PutItem. */
export class InMemoryReplicaStore implements ReplicaStore {
  private readonly replicas = new Map<string, Map<string, StoredReplicaItem>>();

  async write(nodeId: string, items: readonly ReplicaItem[]): Promise<{ written: number; skipped: number }> {
    let written = 0;
    let skipped = 0;
    // One round trip per key: the adapter's puts are separate requests, so another delivery's
    // writes can land between two of ours.
    for (const item of items) {
      await roundTrip();
      const replica = this.replicas.get(nodeId) ?? new Map<string, StoredReplicaItem>();
      this.replicas.set(nodeId, replica);
      const current = replica.get(item.key);
      if (current !== undefined && current.seq >= item.seq) {
        skipped += 1;
        continue;
      }
      replica.set(item.key, {
        ...(item.value === undefined ? {} : { valueText: toJsonText(item.value) }),
        ...(item.deleted ? { deleted: true as const } : {}),
        seq: item.seq,
        updatedAt: item.updatedAt,
      });
      written += 1;
    }
    return { written, skipped };
  }

  async list(nodeId: string): Promise<ReplicaItem[]> {
    await roundTrip();
    const replica = this.replicas.get(nodeId) ?? new Map<string, StoredReplicaItem>();
    return [...replica.entries()]
      .sort(([a], [b]) => byUtf8(a, b))
      .map(([key, item]) => ({
        key,
        ...(item.valueText === undefined ? {} : { value: fromJsonText(item.valueText) }),
        ...(item.deleted ? { deleted: true as const } : {}),
        seq: item.seq,
        updatedAt: item.updatedAt,
      }));
  }
}

type StoredVerdict = Omit<IntervalVerdict, 'interval' | 'head' | 'converged'>;

interface StoredConvergence {
  readonly header: PlanHeader;
  readonly totals?: PlanTotals;
  readonly expiresAt: number;
  readonly converged: boolean;
  readonly checkedAt?: string;
  readonly verdict?: StoredVerdict;
  readonly convergedAt?: string;
  readonly expiredAt?: string;
  readonly expiredReason?: ExpiryReason;
  readonly version?: number;
  /** The shards that reported, and those that gave up as stale (each once, as the adapter's number sets). */
  readonly plannedShards: readonly number[];
  readonly expiredShards: readonly number[];
}

/** {@link ConvergenceStore}: plan header first-writer-wins; the verdict lands on the header's item. */
export class InMemoryConvergenceStore implements ConvergenceStore {
  private readonly records = new Map<string, StoredConvergence>();
  /** Each stream's closedThrough, as the adapter's watermark item holds it. */
  private readonly watermarks = new Map<string, number>();

  async putPlanHeader(header: PlanHeader, expiresAtEpochSeconds: number): Promise<{ written: boolean; header: PlanHeader }> {
    await roundTrip();
    const id = recordId(header.stream, header.interval);
    const existing = this.records.get(id);
    if (existing !== undefined) return { written: false, header: jsonCopy(existing.header) };
    this.records.set(id, { header: jsonCopy(header), expiresAt: expiresAtEpochSeconds, converged: false, plannedShards: [], expiredShards: [] });
    return { written: true, header: jsonCopy(header) };
  }

  async latestPlanHeader(stream: string, before: number): Promise<(PlanHeader & Partial<PlanTotals>) | undefined> {
    await roundTrip();
    const newest = [...this.records.values()]
      .filter((record) => record.header.stream === stream && record.header.interval < before)
      .sort((a, b) => b.header.interval - a.header.interval)[0];
    return newest === undefined ? undefined : { ...jsonCopy(newest.header), ...(newest.totals === undefined ? {} : { ...newest.totals }) };
  }

  async reportPlanShard(stream: string, interval: number, shard: number, report: { readonly totals: PlanTotals } | { readonly expired: true }): Promise<boolean> {
    await roundTrip();
    const id = recordId(stream, interval);
    const record = this.records.get(id);
    // As the adapter's condition: a header exists, and the shard has no mark in either set.
    if (record === undefined || record.plannedShards.includes(shard) || record.expiredShards.includes(shard)) return false;
    if ('expired' in report) this.records.set(id, { ...record, expiredShards: [...record.expiredShards, shard] });
    else this.records.set(id, { ...record, plannedShards: [...record.plannedShards, shard], totals: addPlanTotals(record.totals ?? NO_PLAN_TOTALS, report.totals) });
    return true;
  }

  async recent(stream: string, upTo: number, limit: number): Promise<ConvergenceRecord[]> {
    await roundTrip();
    return [...this.records.values()]
      .filter((record) => record.header.stream === stream && record.header.interval <= upTo)
      .sort((a, b) => b.header.interval - a.header.interval)
      .slice(0, limit)
      .map(toConvergenceRecord);
  }

  async recordVerdict(stream: string, verdict: IntervalVerdict, judgement: Judgement): Promise<boolean> {
    const { checkedAt, readVersion } = judgement;
    await roundTrip();
    const id = recordId(stream, verdict.interval);
    const record = this.records.get(id);
    // The adapter's condition: a header exists, it is neither converged nor expired, it was last
    // judged at this tick or before, and nothing was written on it since the read.
    if (record === undefined || record.converged || record.expiredAt !== undefined) return false;
    if (record.checkedAt !== undefined && record.checkedAt > checkedAt) return false;
    if ((record.version ?? 0) !== readVersion) return false;
    const { converged } = verdict;
    this.records.set(id, {
      ...record,
      version: readVersion + 1,
      checkedAt,
      verdict: toStoredVerdict(verdict),
      converged,
      ...(converged ? { convergedAt: checkedAt } : {}),
    });
    return true;
  }

  async statuses(stream: string, upTo: number): Promise<{ closedThrough?: number; records: IntervalStatus[] }> {
    await roundTrip();
    const closedThrough = this.watermarks.get(stream);
    const records = [...this.records.values()]
      .filter((record) => record.header.stream === stream && record.header.interval <= upTo && record.header.interval > (closedThrough ?? -1))
      .sort((a, b) => a.header.interval - b.header.interval)
      .map(toIntervalStatus);
    return { ...(closedThrough === undefined ? {} : { closedThrough }), records };
  }

  async expire(stream: string, interval: number, expiredAt: string, reason: ExpiryReason): Promise<boolean> {
    await roundTrip();
    const id = recordId(stream, interval);
    const record = this.records.get(id);
    // As the adapter's condition: only a header that is neither converged nor expired.
    if (record === undefined || record.converged || record.expiredAt !== undefined) return false;
    this.records.set(id, { ...record, expiredAt, expiredReason: reason, version: (record.version ?? 0) + 1 });
    return true;
  }

  async closeThrough(stream: string, interval: number): Promise<void> {
    await roundTrip();
    this.watermarks.set(stream, Math.max(interval, this.watermarks.get(stream) ?? interval));
  }

  async watermark(stream: string): Promise<number | undefined> {
    await roundTrip();
    return this.watermarks.get(stream);
  }

  /** The TTL the plan header was written with (epoch seconds); undefined when there is no record. */
  expiresAt(stream: string, interval: number): number | undefined {
    return this.records.get(recordId(stream, interval))?.expiresAt;
  }
}

/** {@link IntervalClockStore} in memory: a stored copy per stream, replaced only at the version read. */
export class InMemoryClockStore implements IntervalClockStore {
  private readonly clocks = new Map<string, StoredClock>();
  /** Every clock written, in order (the model test checks they only ever number time forward). */
  readonly writes: { readonly stream: string; readonly clock: IntervalClock }[] = [];

  async readClock(stream: string): Promise<StoredClock | undefined> {
    await roundTrip();
    const stored = this.clocks.get(stream);
    return stored === undefined ? undefined : jsonCopy(stored);
  }

  async writeClock(stream: string, clock: IntervalClock, expectedVersion: number | undefined): Promise<boolean> {
    await roundTrip();
    if (this.clocks.get(stream)?.version !== expectedVersion) return false;
    this.clocks.set(stream, { clock: jsonCopy(clock), version: (expectedVersion ?? 0) + 1 });
    this.writes.push({ stream, clock: jsonCopy(clock) });
    return true;
  }
}

/** The verdict's attributes as the adapter stores them: `interval` and `head` stay the header's. */
function toStoredVerdict(verdict: IntervalVerdict): StoredVerdict {
  return jsonCopy({
    activeNodes: verdict.activeNodes,
    consistentNodes: verdict.consistentNodes,
    maxLagUpdates: verdict.maxLagUpdates,
    maxStalenessSeconds: verdict.maxStalenessSeconds,
    laggingCount: verdict.laggingCount,
    laggingNodes: verdict.laggingNodes,
    underProvisionedCount: verdict.underProvisionedCount,
    underProvisionedNodes: verdict.underProvisionedNodes,
    integrityFailureCount: verdict.integrityFailureCount,
    integrityFailures: verdict.integrityFailures,
  });
}

function recordId(stream: string, interval: number): string {
  return `${stream}\u0000${interval}`;
}

/** The record as the adapter's `statuses` reads it: no totals, no verdict. */
function toIntervalStatus(stored: StoredConvergence): IntervalStatus {
  return {
    ...jsonCopy(stored.header),
    shardsReported: stored.plannedShards.length,
    shardsExpired: stored.expiredShards.length,
    converged: stored.converged,
    ...(stored.checkedAt === undefined ? {} : { checkedAt: stored.checkedAt }),
    ...(stored.convergedAt === undefined ? {} : { convergedAt: stored.convergedAt }),
    ...(stored.expiredAt === undefined ? {} : { expiredAt: stored.expiredAt }),
    ...(stored.expiredReason === undefined ? {} : { expiredReason: stored.expiredReason }),
    ...(stored.version === undefined ? {} : { version: stored.version }),
  };
}

function toConvergenceRecord(stored: StoredConvergence): ConvergenceRecord {
  const { interval, head } = stored.header;
  return {
    ...toIntervalStatus(stored),
    ...(stored.totals === undefined ? {} : { ...stored.totals }),
    // The verdict is judged against the header's H_k, as the adapter reads it back.
    ...(stored.verdict === undefined ? {} : { verdict: { interval, head, ...jsonCopy(stored.verdict), converged: stored.converged } }),
  };
}

/** A message the queue accepted, as SQS would hand it to a consumer. */
export interface QueuedMessage {
  readonly messageId: string;
  /** MessageGroupId: the node id. */
  readonly groupId: string;
  readonly deduplicationId: string;
  readonly body: string;
}

/**
 * {@link MicrobatchQueue} as an SQS FIFO queue: keeps every accepted message in send order and
 * drops one whose deduplication id was accepted before. Delivery is the test's business.
 */
export class InMemoryQueue implements MicrobatchQueue {
  private readonly accepted: QueuedMessage[] = [];
  private readonly seen = new Set<string>();
  private dropped = 0;
  private refuse: ((microbatch: Microbatch) => boolean) | undefined;

  /** Every accepted message, oldest first. */
  get messages(): readonly QueuedMessage[] {
    return [...this.accepted];
  }

  /** Messages dropped as duplicates within the deduplication window. */
  get duplicatesDropped(): number {
    return this.dropped;
  }

  /**
   * Makes SQS refuse the entries `refuse` picks (after the adapter's retries, as far as the caller
   * can tell): they are returned unsent, the rest of the call lands.
   */
  refuseWhen(refuse: ((microbatch: Microbatch) => boolean) | undefined): void {
    this.refuse = refuse;
  }

  async send(microbatches: readonly Microbatch[]): Promise<readonly UnsentMicrobatch[]> {
    const refused = microbatches.filter((microbatch) => this.refuse?.(microbatch) === true);
    const outgoing = microbatches
      .filter((microbatch) => !refused.includes(microbatch))
      .map((microbatch) => ({ groupId: microbatch.nodeId, deduplicationId: deduplicationId(microbatch), body: serializeMicrobatch(microbatch) }));
    await roundTrip();
    for (const message of outgoing) {
      if (this.seen.has(message.deduplicationId)) {
        this.dropped += 1;
        continue;
      }
      this.seen.add(message.deduplicationId);
      this.accepted.push(Object.freeze({ messageId: `msg-${this.accepted.length + 1}`, ...message }));
    }
    return refused.map((microbatch) => ({ microbatch, code: 'InternalError', senderFault: false }));
  }
}

/** FNV-1a of the id, scaled to `segments` ranges of the hash: the segment a parallel Scan of `segments` puts it in. */
export function segmentOf(nodeId: string, segments: number): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < nodeId.length; index += 1) {
    hash ^= nodeId.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return Math.floor((hash / 2 ** 32) * segments);
}

/**
 * {@link PlanLedger}: first writer wins per segment and interval. `capacityBytes` stands for the
 * item limit: the entries are gzip'd as the adapter does, and those past the room are spilled.
 */
export class InMemoryPlanLedger implements PlanLedger {
  private readonly records = new Map<string, SegmentPlan[]>();
  /** Every record written, oldest first. */
  readonly committed: SegmentPlan[] = [];

  constructor(private readonly capacityBytes = Number.POSITIVE_INFINITY) {}

  async latest(stream: string, segments: number, segment: number, upTo: number): Promise<SegmentPlan | undefined> {
    await roundTrip();
    const newest = (this.records.get(`${stream}#${segments}#${segment}`) ?? []).filter((plan) => plan.interval <= upTo).sort((a, b) => b.interval - a.interval)[0];
    return newest === undefined ? undefined : jsonCopy(newest);
  }

  async commit(plan: SegmentPlan, _expiresAtEpochSeconds: number): Promise<{ committed: boolean; spilled: readonly PlanEntry[] }> {
    await roundTrip();
    const key = `${plan.stream}#${plan.segments}#${plan.segment}`;
    const list = this.records.get(key) ?? [];
    if (list.some((existing) => existing.interval === plan.interval)) return { committed: false, spilled: [] };
    let kept = plan.entries.length;
    while (kept > 0 && gzipSync(encodeEntries(plan.entries.slice(0, kept))).byteLength > this.capacityBytes) kept -= 1;
    const stored = jsonCopy({ ...plan, entries: plan.entries.slice(0, kept) });
    this.records.set(key, [...list, stored]);
    this.committed.push(stored);
    return { committed: true, spilled: jsonCopy(plan.entries.slice(kept)) };
  }
}

interface StoredCheck {
  readonly header: CheckHeader;
  readonly reported: readonly number[];
  readonly expired: readonly number[];
  readonly merged: boolean;
  readonly outcome?: CheckOutcome;
  readonly partials: ReadonlyMap<number, string>;
}

/** {@link CheckStore}: one header per tick, first writer wins; a partial and a mark per shard. */
export class InMemoryCheckStore implements CheckStore {
  private readonly ticks = new Map<string, StoredCheck>();

  async putCheckHeader(header: CheckHeader, _expiresAtEpochSeconds: number): Promise<{ written: boolean; header: CheckHeader }> {
    await roundTrip();
    const id = recordId(header.stream, header.interval);
    const existing = this.ticks.get(id);
    if (existing !== undefined) return { written: false, header: jsonCopy(existing.header) };
    this.ticks.set(id, { header: jsonCopy(header), reported: [], expired: [], merged: false, partials: new Map() });
    return { written: true, header: jsonCopy(header) };
  }

  async getCheckHeader(stream: string, interval: number): Promise<{ header: CheckHeader; progress: CheckProgress } | undefined> {
    await roundTrip();
    const stored = this.ticks.get(recordId(stream, interval));
    return stored === undefined ? undefined : { header: jsonCopy(stored.header), progress: progressOf(stored) };
  }

  async latestTick(stream: string): Promise<number | undefined> {
    await roundTrip();
    const ticks = [...this.ticks.values()].filter((stored) => stored.header.stream === stream).map((stored) => stored.header.interval);
    return ticks.length === 0 ? undefined : Math.max(...ticks);
  }

  async putPartial(stream: string, interval: number, shard: number, tally: TallyState, _expiresAtEpochSeconds: number): Promise<void> {
    await roundTrip();
    const id = recordId(stream, interval);
    const stored = this.ticks.get(id);
    // The adapter's partials live in their own partition: one may land before its header is read back.
    const partials = new Map(stored?.partials ?? []);
    if (partials.has(shard)) return;
    partials.set(shard, JSON.stringify(tally));
    if (stored !== undefined) this.ticks.set(id, { ...stored, partials });
  }

  async reportCheckShard(stream: string, interval: number, shard: number, expired: boolean): Promise<{ counted: boolean; progress: CheckProgress }> {
    await roundTrip();
    const id = recordId(stream, interval);
    const stored = this.ticks.get(id);
    if (stored === undefined) throw new Error(`a check shard reported to tick ${interval}, which has no header`);
    if (stored.reported.includes(shard) || stored.expired.includes(shard)) return { counted: false, progress: progressOf(stored) };
    const next = expired ? { ...stored, expired: [...stored.expired, shard] } : { ...stored, reported: [...stored.reported, shard] };
    this.ticks.set(id, next);
    return { counted: true, progress: progressOf(next) };
  }

  async partials(stream: string, interval: number): Promise<TallyState[]> {
    await roundTrip();
    return [...(this.ticks.get(recordId(stream, interval))?.partials.values() ?? [])].map((text) => JSON.parse(text) as TallyState);
  }

  async markMerged(stream: string, interval: number, outcome: CheckOutcome): Promise<boolean> {
    await roundTrip();
    const id = recordId(stream, interval);
    const stored = this.ticks.get(id);
    if (stored === undefined || stored.merged) return false;
    this.ticks.set(id, { ...stored, merged: true, outcome: jsonCopy(outcome) });
    return true;
  }
}

function progressOf(stored: StoredCheck): CheckProgress {
  return {
    shards: stored.header.shards,
    reported: stored.reported.length,
    expired: stored.expired.length,
    merged: stored.merged,
    ...(stored.outcome === undefined ? {} : { outcome: jsonCopy(stored.outcome) }),
  };
}

/** {@link ShardTaskQueue} as a standard SQS queue: keeps every accepted task; delivery is the test's business. */
export class InMemoryTaskQueue<T extends ShardTask> implements ShardTaskQueue<T> {
  private readonly accepted: T[] = [];
  private taken = 0;

  /** Every accepted task, oldest first. */
  get tasks(): readonly T[] {
    return [...this.accepted];
  }

  async send(tasks: readonly T[]): Promise<readonly T[]> {
    await roundTrip();
    for (const task of tasks) this.accepted.push(jsonCopy(task));
    return [];
  }

  /** The tasks accepted since the last call, as a consumer receives them. */
  take(): T[] {
    const fresh = this.accepted.slice(this.taken);
    this.taken = this.accepted.length;
    return fresh;
  }
}

/** One of each port, sharing nothing: a fresh deployment. */
export function createInMemoryPorts(): {
  log: InMemoryLog;
  nodes: InMemoryNodeRepository;
  replica: InMemoryReplicaStore;
  convergence: InMemoryConvergenceStore;
  queue: InMemoryQueue;
  ledger: InMemoryPlanLedger;
  checks: InMemoryCheckStore;
  clock: InMemoryClockStore;
  planTasks: InMemoryTaskQueue<PlanTask>;
  checkTasks: InMemoryTaskQueue<CheckTask>;
} {
  return {
    log: new InMemoryLog(),
    nodes: new InMemoryNodeRepository(),
    replica: new InMemoryReplicaStore(),
    convergence: new InMemoryConvergenceStore(),
    queue: new InMemoryQueue(),
    ledger: new InMemoryPlanLedger(),
    checks: new InMemoryCheckStore(),
    clock: new InMemoryClockStore(),
    planTasks: new InMemoryTaskQueue<PlanTask>(),
    checkTasks: new InMemoryTaskQueue<CheckTask>(),
  };
}

/** Whether a crash strikes before the call takes effect or after it has. */
export type CrashPoint = 'before' | 'after';

/** Crash the `nth` call (from 1) of `call`, a wrapped port's name and method: `'replica.write'`. */
export interface CrashRule {
  readonly call: string;
  readonly nth: number;
  readonly when: CrashPoint;
}

/** The process died at a planned point: the test's stand-in for a Lambda crash or timeout. */
export class InjectedCrash extends Error {
  constructor(readonly rule: CrashRule) {
    super(`injected crash ${rule.when} call ${rule.nth} of ${rule.call}`);
    this.name = 'InjectedCrash';
  }
}

type Method = (...args: unknown[]) => unknown;

const AsyncGeneratorFunction = (
  Object.getPrototypeOf(async function* () {
    // An empty generator, only for its constructor.
  }) as { constructor: unknown }
).constructor;

function isAsyncGeneratorFunction(member: unknown): boolean {
  return typeof member === 'function' && member instanceof (AsyncGeneratorFunction as new () => unknown);
}

/**
 * Crashes planned by call count. Wrap the ports a use case gets with {@link wrap}; every call of a
 * wrapped method is counted under `name.method`, and a matching rule throws {@link InjectedCrash}
 * before the call (nothing happened) or after it (the effect stands, the caller never learns).
 */
export class FaultPlan {
  private readonly rules: CrashRule[];
  private readonly counts = new Map<string, number>();
  private readonly fired: InjectedCrash[] = [];
  private armed = true;

  constructor(rules: readonly CrashRule[] = []) {
    this.rules = [...rules];
  }

  crash(call: string, nth: number, when: CrashPoint): this {
    this.rules.push({ call, nth, when });
    return this;
  }

  /** Stops injecting (calls are still counted). */
  disarm(): void {
    this.armed = false;
  }

  /** How often `call` has been made through a wrapped port. */
  callsOf(call: string): number {
    return this.counts.get(call) ?? 0;
  }

  /** The crashes injected so far, oldest first. */
  get crashes(): readonly InjectedCrash[] {
    return [...this.fired];
  }

  /**
   * `port` with every method (made async) counted under `name.method` and crashed where a rule says.
   * An async generator method (a scan) stays one: 'before' strikes before its first page, 'after'
   * once its last page has been taken.
   */
  wrap<T extends object>(name: string, port: T): T {
    return new Proxy(port, {
      get: (target, property, receiver): unknown => {
        const member: unknown = Reflect.get(target, property, receiver);
        if (typeof member !== 'function' || typeof property !== 'string') return member;
        const call = `${name}.${property}`;
        const count = (): number => {
          const nth = this.callsOf(call) + 1;
          this.counts.set(call, nth);
          return nth;
        };
        if (isAsyncGeneratorFunction(member)) {
          const strike = this.strike.bind(this);
          return async function* (...args: unknown[]): AsyncGenerator {
            const nth = count();
            strike(call, nth, 'before');
            yield* (member as (...inner: unknown[]) => AsyncIterable<unknown>).apply(target, args);
            strike(call, nth, 'after');
          };
        }
        return async (...args: unknown[]): Promise<unknown> => {
          const nth = count();
          this.strike(call, nth, 'before');
          const result = await (member as Method).apply(target, args);
          this.strike(call, nth, 'after');
          return result;
        };
      },
    });
  }

  private strike(call: string, nth: number, when: CrashPoint): void {
    if (!this.armed) return;
    const rule = this.rules.find((candidate) => candidate.call === call && candidate.nth === nth && candidate.when === when);
    if (rule === undefined) return;
    const crash = new InjectedCrash(rule);
    this.fired.push(crash);
    throw crash;
  }
}

/**
 * `port` with a wait of `turns()` promise turns before each call: a slow caller (a Lambda that
 * stalls, a straggling duplicate delivery) whose steps land between other callers' steps.
 */
export function withLatency<T extends object>(port: T, turns: () => number): T {
  return new Proxy(port, {
    get: (target, property, receiver): unknown => {
      const member: unknown = Reflect.get(target, property, receiver);
      if (typeof member !== 'function') return member;
      if (isAsyncGeneratorFunction(member)) {
        return async function* (...args: unknown[]): AsyncGenerator {
          for (let turn = turns(); turn > 0; turn -= 1) await roundTrip();
          yield* (member as (...inner: unknown[]) => AsyncIterable<unknown>).apply(target, args);
        };
      }
      return async (...args: unknown[]): Promise<unknown> => {
        for (let turn = turns(); turn > 0; turn -= 1) await roundTrip();
        return (member as Method).apply(target, args);
      };
    },
  });
}
