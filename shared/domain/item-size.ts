/**
 * DynamoDB's limits on what one append may write (DESIGN §4, §10), its rule for the size of an
 * item, and the layout of the Log items that rule is applied to. Both the DynamoDB adapter and the
 * in-memory log check appends against these, so they refuse the same transactions, and the ingest
 * chunk plan can promise what both accept.
 *
 * AWS ("DynamoDB item sizes and formats"): an item's size is the sum of its attribute names and
 * values; a string counts its UTF-8 bytes, a number about one byte per two significant digits
 * plus one. Sizes are in binary units ("Constraints": 1 KB = 1024 bytes, 1 MB = 1024 KB). DynamoDB
 * Local 3.x enforces the same 4 MiB with the same rule: twelve 349,523-byte items (4,194,384 bytes
 * with names and keys) were refused with "Transaction payload size cannot exceed 4MB", twelve of
 * 349,515 accepted; 13 items of 340 KiB were refused.
 */
import type { JsonValue, LogEntry, LogHead } from './types.ts';

/** The largest item DynamoDB stores: 400 KB. */
export const MAX_ITEM_BYTES = 400 * 1024;
/** TransactWriteItems: the aggregate size of its items cannot exceed 4 MB. */
export const MAX_TRANSACTION_BYTES = 4 * 1024 * 1024;
/** TransactWriteItems: at most 100 actions. */
export const MAX_TRANSACTION_ACTIONS = 100;

/** An item of string and number attributes: every item ingest writes is one. */
export type FlatItem = Readonly<Record<string, string | number>>;

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * A number's size, at most: every digit is counted as significant (DynamoDB trims leading and
 * trailing zeros, so it may count fewer).
 */
function numberBytes(value: number): number {
  const digits = String(value).replace(/\D/g, '').length;
  return 1 + Math.ceil(digits / 2);
}

/** An item's size by DynamoDB's rule: names plus values, strings in UTF-8, numbers by their digits. */
export function itemBytes(item: FlatItem): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) bytes += utf8Bytes(name) + (typeof value === 'number' ? numberBytes(value) : utf8Bytes(value));
  return bytes;
}

/**
 * A Log entry as stored (DESIGN §3): the value as JSON text, because DynamoDB numbers cannot hold
 * every JSON number and the hash chain needs an exact round trip.
 */
export function logEntryItem(stream: string, entry: LogEntry): FlatItem {
  return {
    stream,
    seq: entry.seq,
    key: entry.key,
    op: entry.op,
    ...(entry.value === undefined ? {} : { value: jsonText(entry.value) }),
    chain: entry.chain,
    producedAt: entry.producedAt,
  };
}

/** The Log's head item (seq 0) as an append leaves it. */
export function logHeadItem(stream: string, head: LogHead, updatedAt: string): FlatItem {
  return { stream, seq: 0, head: head.head, headChain: head.headChain, updatedAt };
}

function jsonText(value: JsonValue): string {
  return JSON.stringify(value);
}
