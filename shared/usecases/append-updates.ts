/**
 * The ingest use case (DESIGN §4): validate every update, then append in transactions cut by count
 * and by size (ingest.ts), each conditional on the head it read. A lost race or a throttled
 * transaction re-reads the head and retries with jittered backoff, so the log never has gaps and
 * its chain is always whole.
 */
import { nextChain } from '#shared/domain/chain.ts';
import { AppendFailedError, AppendThrottledError, HeadMovedError } from '#shared/domain/errors.ts';
import { planChunks } from '#shared/domain/ingest.ts';
import type { LogReader, LogWriter } from '#shared/domain/ports.ts';
import { parseIngestRequest } from '#shared/domain/schemas.ts';
import type { LogEntry, LogHead, NewUpdate } from '#shared/domain/types.ts';

export interface AppendUpdatesDeps {
  readonly stream: string;
  readonly log: LogReader & LogWriter;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  /** A number in [0, 1) for jitter. */
  readonly random: () => number;
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
}

export interface AppendResult {
  readonly updates: number;
  /**
   * The seqs each transaction took, in request order. One range unless the request spanned several
   * transactions and another producer appended in between.
   */
  readonly seqRanges: readonly { readonly firstSeq: number; readonly lastSeq: number }[];
  /** The head after this request's last transaction. */
  readonly head: number;
  readonly transactions: number;
  /** Transactions that lost the head race or were throttled, and were retried. */
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

/**
 * @throws ValidationError when any update is invalid or could never be stored (nothing is appended);
 * AppendFailedError when a chunk still loses the head race, or is still throttled, after every attempt.
 */
export async function appendUpdates(request: unknown, deps: AppendUpdatesDeps): Promise<AppendResult> {
  const { updates } = parseIngestRequest(request);
  const maxAttempts = deps.maxAttempts ?? 8;
  const baseDelayMs = deps.baseDelayMs ?? 20;
  const seqRanges: { firstSeq: number; lastSeq: number }[] = [];
  let retries = 0;

  for (const { start, end } of planChunks(updates)) {
    const chunk = updates.slice(start, end);
    for (let attempt = 1; ; attempt += 1) {
      const head = await deps.log.readHead(deps.stream);
      const now = deps.now().toISOString();
      const entries = chainEntries(head, chunk, now);
      try {
        await deps.log.append(deps.stream, head, entries, now);
        seqRanges.push({ firstSeq: head.head + 1, lastSeq: head.head + chunk.length });
        break;
      } catch (error) {
        // Throttling is retried like a lost race: DynamoDB does not retry a cancelled transaction.
        if (!(error instanceof HeadMovedError || error instanceof AppendThrottledError)) throw error;
        if (attempt >= maxAttempts) {
          const why = error instanceof HeadMovedError ? 'the head kept moving' : 'the log stayed throttled';
          throw new AppendFailedError(`${why}: gave up after ${attempt} attempts`, { cause: error });
        }
        retries += 1;
        // Full jitter: concurrent producers spread out instead of colliding again.
        await deps.sleep(deps.random() * baseDelayMs * 2 ** (attempt - 1));
      }
    }
  }
  return {
    updates: updates.length,
    seqRanges,
    head: seqRanges.at(-1)?.lastSeq ?? 0,
    transactions: seqRanges.length,
    retries,
  };
}
