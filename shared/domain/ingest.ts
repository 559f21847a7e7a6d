/**
 * How an ingest request is cut into transactions (DESIGN §4): by count and by size, so that every
 * chunk fits one TransactWriteItems. The cut depends on the request's updates alone — never on the
 * head or the seqs a chunk will take — so a retry of the same request cuts the same chunks.
 */
import { GENESIS_CHAIN } from './chain.ts';
import { ValidationError } from './errors.ts';
import { itemBytes, logEntryItem, logHeadItem, MAX_ITEM_BYTES, MAX_TRANSACTION_ACTIONS, MAX_TRANSACTION_BYTES } from './item-size.ts';
import { MAX_IDENTIFIER_LENGTH } from './schemas.ts';
import type { NewUpdate } from './types.ts';

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
 * item: at most MAX_TRANSACTION_ACTIONS − 1 updates, and at most MAX_TRANSACTION_BYTES of items
 * counted at their widest.
 * @throws ValidationError naming every update whose item alone would exceed DynamoDB's item limit:
 * such a request can never be appended, so none of it is.
 */
export function planChunks(updates: readonly NewUpdate[]): Chunk[] {
  const bounds = updates.map(logEntryBound);
  const tooLarge = bounds.flatMap((bytes, index) =>
    bytes > MAX_ITEM_BYTES ? [`updates.${index}: stored, it would take up to ${bytes} bytes, over DynamoDB's item limit of ${MAX_ITEM_BYTES}`] : [],
  );
  if (tooLarge.length > 0) throw new ValidationError('invalid ingest request', tooLarge);

  const maxEntries = MAX_TRANSACTION_ACTIONS - 1;
  const maxBytes = MAX_TRANSACTION_BYTES - HEAD_ITEM_BOUND;
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
