/**
 * The ingest use case (DESIGN §4): validate every update, then append in transactions cut by count
 * and by size (ingest.ts), each conditional on the head it read. A lost race or a throttled
 * transaction re-reads the head and retries with jittered backoff, so the log never has gaps and
 * its chain is always whole.
 *
 * With an idempotency key, every chunk's transaction also writes the chunk's marker, so that a
 * retry — after a crash anywhere, a timeout, or alongside a duplicate still running — reads what
 * committed (one Query), skips it, resumes after it, and returns the same result: no update of the
 * request is appended twice. The result says how many updates this call appended and how many it
 * replayed, so that a retry is not counted as new ingest.
 */
import { nextChain } from '#shared/domain/chain.ts';
import { DEFAULT_SETTINGS } from '#shared/domain/config.ts';
import { AppendFailedError, AppendThrottledError, ChunkCommittedError, HeadMovedError } from '#shared/domain/errors.ts';
import { liveMarkers, planChunks, requestFingerprint, type ChunkMarker } from '#shared/domain/ingest.ts';
import type { IngestRequestReader, LogReader, LogWriter } from '#shared/domain/ports.ts';
import { parseIngestRequest } from '#shared/domain/schemas.ts';
import type { LogEntry, LogHead, NewUpdate } from '#shared/domain/types.ts';

export interface AppendUpdatesDeps {
  readonly stream: string;
  /** The log, and the markers it writes for the chunks of requests with an idempotency key. */
  readonly log: LogReader & LogWriter & IngestRequestReader;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  /** A number in [0, 1) for jitter. */
  readonly random: () => number;
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  /** How long markers count (default: DEFAULT_SETTINGS.idempotencyWindowHours). */
  readonly idempotencyWindowSeconds?: number;
}

export interface AppendResult {
  /** The request's updates: those this call appended plus those it replayed. */
  readonly updates: number;
  /** Updates this call appended to the log. */
  readonly appended: number;
  /**
   * Updates of chunks this call found already committed (by their markers), appended by an earlier
   * attempt or by a duplicate of the request that won the race: answered again, not appended.
   */
  readonly replayed: number;
  /**
   * The seqs each transaction took, in request order. One range unless the request spanned several
   * transactions and another producer appended in between.
   */
  readonly seqRanges: readonly { readonly firstSeq: number; readonly lastSeq: number }[];
  /** The head after this request's last transaction. */
  readonly head: number;
  readonly transactions: number;
  /**
   * Transactions that lost the head race or were throttled, and were retried. With an idempotency
   * key: those of the attempts that committed each chunk, as their markers record them.
   */
  readonly retries: number;
}

/** Builds the entries that follow `head`: seqs head+1…, each chained on the one before. */
export function chainEntries(head: LogHead, updates: readonly NewUpdate[], producedAt: string): LogEntry[] {
  let chain = head.headChain;
  return updates.map((update, index) => {
    const seq = head.head + index + 1;
    chain = nextChain(chain, seq, update);
    return { seq, key: update.key, op: update.op, ...(update.value !== undefined ? { value: update.value } : {}), chain, producedAt };
  });
}

/** What a committed chunk adds to the result; a marker carries it, and its expiry. */
type CommittedChunk = Pick<ChunkMarker, 'firstSeq' | 'lastSeq' | 'retries'> & { readonly expiresAt?: number };

/**
 * @throws ValidationError when any update is invalid or could never be stored (nothing is appended);
 * IdempotencyConflictError when the idempotency key was used for other updates (nothing is appended);
 * AppendFailedError when a chunk still loses the head race, or is still throttled, after every attempt.
 */
export async function appendUpdates(request: unknown, deps: AppendUpdatesDeps): Promise<AppendResult> {
  const { updates, idempotencyKey } = parseIngestRequest(request);
  const chunks = planChunks(updates, { marked: idempotencyKey !== undefined });
  const maxAttempts = deps.maxAttempts ?? 8;
  const baseDelayMs = deps.baseDelayMs ?? 20;
  const windowSeconds = deps.idempotencyWindowSeconds ?? DEFAULT_SETTINGS.idempotencyWindowHours * 3600;
  const fingerprint = idempotencyKey === undefined ? '' : requestFingerprint(updates);
  const readCommitted = async (): Promise<Map<number, CommittedChunk>> =>
    idempotencyKey === undefined
      ? new Map()
      : liveMarkers(await deps.log.readMarkers(deps.stream, idempotencyKey), { idempotencyKey, fingerprint, chunks }, deps.now());

  let committed = await readCommitted();
  let appended = 0;
  for (const [index, { start, end }] of chunks.entries()) {
    if (committed.has(index)) continue;
    for (let attempt = 1; ; attempt += 1) {
      const head = await deps.log.readHead(deps.stream);
      const now = deps.now();
      const entries = chainEntries(head, updates.slice(start, end), now.toISOString());
      const chunk: CommittedChunk = { firstSeq: head.head + 1, lastSeq: head.head + entries.length, retries: attempt - 1 };
      // One expiry for all of a request's markers, so that they stop counting together.
      const expiresAt = [...committed.values()][0]?.expiresAt ?? Math.floor(now.getTime() / 1000) + windowSeconds;
      const marker: ChunkMarker | undefined =
        idempotencyKey === undefined
          ? undefined
          : { stream: deps.stream, idempotencyKey, chunk: index, chunks: chunks.length, ...chunk, fingerprint, committedAt: now.toISOString(), expiresAt };
      try {
        await deps.log.append(deps.stream, head, entries, now.toISOString(), marker);
        committed.set(index, marker ?? chunk);
        appended += entries.length;
        break;
      } catch (error) {
        if (error instanceof ChunkCommittedError) {
          // A duplicate of this request committed the chunk first: its marker is the record.
          committed = await readCommitted();
          if (committed.has(index)) break;
        } else if (!(error instanceof HeadMovedError || error instanceof AppendThrottledError)) {
          // Throttling is retried like a lost race: DynamoDB does not retry a cancelled transaction.
          throw error;
        }
        if (attempt >= maxAttempts) {
          const why = error instanceof AppendThrottledError ? 'the log stayed throttled' : 'the head kept moving';
          throw new AppendFailedError(`${why}: gave up after ${attempt} attempts`, { cause: error });
        }
        // Full jitter: concurrent producers spread out instead of colliding again.
        await deps.sleep(deps.random() * baseDelayMs * 2 ** (attempt - 1));
      }
    }
  }
  return resultOf(updates.length, appended, chunks.length, committed);
}

/**
 * The request's result from its committed chunks: the same for every attempt that completes it,
 * but for how much of it this attempt appended.
 */
function resultOf(updates: number, appended: number, chunks: number, committed: ReadonlyMap<number, CommittedChunk>): AppendResult {
  const records = Array.from({ length: chunks }, (_, index) => {
    const record = committed.get(index);
    if (record === undefined) throw new Error(`chunk ${index} of ${chunks} has no record of its commit`);
    return record;
  });
  return {
    updates,
    appended,
    replayed: updates - appended,
    seqRanges: records.map(({ firstSeq, lastSeq }) => ({ firstSeq, lastSeq })),
    head: records.at(-1)?.lastSeq ?? 0,
    transactions: records.length,
    retries: records.reduce((sum, record) => sum + record.retries, 0),
  };
}
