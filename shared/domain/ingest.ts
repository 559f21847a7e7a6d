/**
 * How an ingest request is cut into transactions, and how a request with an idempotency key is
 * appended exactly once however often it is retried (DESIGN §4, §8).
 *
 * The cut is by count and by size, so that every chunk fits one TransactWriteItems, and it depends
 * on the request alone — never on the head or the seqs a chunk will take — so a retry of the same
 * request cuts the same chunks. Each chunk of a request with a key carries a {@link ChunkMarker},
 * written in the chunk's own transaction on the condition that no live marker for that chunk
 * exists: the markers are the record of what committed, so a retry skips those chunks and resumes
 * after the last one, whatever failed where.
 */
import { createHash } from 'node:crypto';
import { canonicalJson, GENESIS_CHAIN } from './chain.ts';
import { IdempotencyConflictError, ValidationError } from './errors.ts';
import { itemBytes, logEntryItem, logHeadItem, MAX_ITEM_BYTES, MAX_TRANSACTION_ACTIONS, MAX_TRANSACTION_BYTES, type FlatItem } from './item-size.ts';
import { MAX_IDEMPOTENCY_KEY_LENGTH, MAX_IDENTIFIER_LENGTH } from './identifiers.ts';
import type { JsonValue, NewUpdate } from './types.ts';

/** The record that one chunk of an idempotent request committed, and where its updates landed. */
export interface ChunkMarker {
  readonly stream: string;
  readonly idempotencyKey: string;
  /** Position of the chunk in the request, from 0. */
  readonly chunk: number;
  /** How many chunks the request was cut into. */
  readonly chunks: number;
  /** The seqs the chunk's updates took. */
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** {@link requestFingerprint} of the request's updates: the same key with other updates is refused. */
  readonly fingerprint: string;
  /** Attempts at this chunk that lost the head race or were throttled before it committed. */
  readonly retries: number;
  readonly committedAt: string;
  /** Epoch seconds after which the marker no longer counts (DynamoDB TTL deletes it later). */
  readonly expiresAt: number;
}

/** The partition key of a request's markers: stream names cannot hold `#`, so the split is unambiguous. */
export function requestId(stream: string, idempotencyKey: string): string {
  return `${stream}#${idempotencyKey}`;
}

/** A marker as stored in the IngestRequests table: pk `requestId`, sk `chunk`. */
export function chunkMarkerItem(marker: ChunkMarker): FlatItem {
  return {
    requestId: requestId(marker.stream, marker.idempotencyKey),
    chunk: marker.chunk,
    chunks: marker.chunks,
    firstSeq: marker.firstSeq,
    lastSeq: marker.lastSeq,
    fingerprint: marker.fingerprint,
    retries: marker.retries,
    committedAt: marker.committedAt,
    expiresAt: marker.expiresAt,
  };
}

/** sha256 (hex) of the RFC 8785 canonical JSON of the updates, in request order. */
export function requestFingerprint(updates: readonly NewUpdate[]): string {
  const json = updates.map(({ key, op, value }): JsonValue => (value === undefined ? { key, op } : { key, op, value }));
  return createHash('sha256').update(canonicalJson(json)).digest('hex');
}

/** The widest value of every attribute the request does not fix, so the plan holds for any head. */
const WIDEST = {
  stream: 'x'.repeat(MAX_IDENTIFIER_LENGTH),
  seq: Number.MAX_SAFE_INTEGER,
  chain: GENESIS_CHAIN,
  // The latest time a Date can hold has the longest ISO form: '+275760-09-13T00:00:00.000Z'.
  time: new Date(8.64e15).toISOString(),
} as const;

/** The most bytes the head item can take once an append has moved it. */
const HEAD_ITEM_BOUND = itemBytes(logHeadItem(WIDEST.stream, { head: WIDEST.seq, headChain: WIDEST.chain }, WIDEST.time));

/** The most bytes a marker can take: the longest key, every number at its largest. */
const MARKER_ITEM_BOUND = itemBytes(
  chunkMarkerItem({
    stream: WIDEST.stream,
    // A UTF-16 code unit takes at most 3 bytes of UTF-8 (a surrogate pair, two units, takes 4).
    idempotencyKey: '\u{FFFF}'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH),
    chunk: WIDEST.seq,
    chunks: WIDEST.seq,
    firstSeq: WIDEST.seq,
    lastSeq: WIDEST.seq,
    fingerprint: GENESIS_CHAIN,
    retries: WIDEST.seq,
    committedAt: WIDEST.time,
    expiresAt: WIDEST.seq,
  }),
);

/** The most bytes `update` can take as a Log item, whatever its seq, chain, time and stream. */
export function logEntryBound(update: NewUpdate): number {
  return itemBytes(logEntryItem(WIDEST.stream, { ...update, seq: WIDEST.seq, chain: WIDEST.chain, producedAt: WIDEST.time }));
}

/** Updates `start … end − 1` of a request: one transaction's worth. */
export interface Chunk {
  readonly start: number;
  readonly end: number;
}

/**
 * Cuts `updates` into consecutive chunks, each as long as one transaction allows besides the head
 * item and, when `marked`, the chunk's marker: at most MAX_TRANSACTION_ACTIONS − 1 (or − 2)
 * updates, and at most MAX_TRANSACTION_BYTES of items counted at their widest.
 * @throws ValidationError naming every update whose item alone would exceed DynamoDB's item limit:
 * such a request can never be appended, so none of it is.
 */
export function planChunks(updates: readonly NewUpdate[], options: { readonly marked: boolean }): Chunk[] {
  const bounds = updates.map(logEntryBound);
  const tooLarge = bounds.flatMap((bytes, index) =>
    bytes > MAX_ITEM_BYTES ? [`updates.${index}: stored, it would take up to ${bytes} bytes, over DynamoDB's item limit of ${MAX_ITEM_BYTES}`] : [],
  );
  if (tooLarge.length > 0) throw new ValidationError('invalid ingest request', tooLarge);

  const maxEntries = MAX_TRANSACTION_ACTIONS - (options.marked ? 2 : 1);
  const maxBytes = MAX_TRANSACTION_BYTES - HEAD_ITEM_BOUND - (options.marked ? MARKER_ITEM_BOUND : 0);
  const chunks: Chunk[] = [];
  let start = 0;
  let bytes = 0;
  bounds.forEach((entryBytes, index) => {
    if (index - start === maxEntries || bytes + entryBytes > maxBytes) {
      chunks.push({ start, end: index });
      start = index;
      bytes = 0;
    }
    bytes += entryBytes;
  });
  if (start < updates.length) chunks.push({ start, end: updates.length });
  return chunks;
}

/**
 * The markers of a request that still count at `now`, by chunk, after checking they belong to
 * this very request.
 * @throws IdempotencyConflictError when a live marker was written for other updates, or for
 * another cut of the same updates (a deployment changed the rule between two attempts): resuming
 * would append what the producer did not send, or an update twice.
 */
export function liveMarkers(
  markers: readonly ChunkMarker[],
  request: { readonly idempotencyKey: string; readonly fingerprint: string; readonly chunks: readonly Chunk[] },
  now: Date,
): Map<number, ChunkMarker> {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const live = new Map<number, ChunkMarker>();
  for (const marker of markers) {
    if (marker.expiresAt <= nowSeconds) continue;
    if (marker.fingerprint !== request.fingerprint) {
      throw new IdempotencyConflictError(request.idempotencyKey, 'was already used for other updates: send a new request with a new key');
    }
    const chunk = request.chunks[marker.chunk];
    if (marker.chunks !== request.chunks.length || chunk === undefined || marker.lastSeq - marker.firstSeq !== chunk.end - chunk.start - 1) {
      throw new IdempotencyConflictError(
        request.idempotencyKey,
        `was committed in ${marker.chunks} chunks, cut differently than this attempt's ${request.chunks.length}: it cannot resume safely`,
      );
    }
    live.set(marker.chunk, marker);
  }
  return live;
}
