/**
 * The hash chain (DESIGN §2): `chain_s = sha256hex(chain_{s-1} + "\n" + canonicalJson({seq,key,op,value}))`.
 * Two nodes at the same seq with the same chain hold the same data.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { JsonValue, LogEntry, NewUpdate } from './types.ts';

/** chain_0: 64 zeros. */
export const GENESIS_CHAIN = '0'.repeat(64);

/** RFC 8785 (JCS) canonical JSON. */
export function canonicalJson(value: JsonValue): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value has no JSON representation');
  return text;
}

/** The link that follows `previous` when update `seq` is appended. */
export function nextChain(previous: string, seq: number, update: NewUpdate): string {
  const body: { [key: string]: JsonValue } = { seq, key: update.key, op: update.op };
  if (update.value !== undefined) body.value = update.value;
  return createHash('sha256').update(`${previous}\n${canonicalJson(body)}`).digest('hex');
}

/**
 * Verifies `entries` (ascending, contiguous, starting right after `fromSeq`) link on from `fromChain`.
 * @returns the seq of the first entry whose stored chain differs, or undefined when all verify.
 */
export function firstChainBreak(fromSeq: number, fromChain: string, entries: readonly LogEntry[]): number | undefined {
  let chain = fromChain;
  let expectedSeq = fromSeq + 1;
  for (const entry of entries) {
    if (entry.seq !== expectedSeq) return expectedSeq;
    chain = nextChain(chain, entry.seq, entry);
    if (chain !== entry.chain) return entry.seq;
    expectedSeq += 1;
  }
  return undefined;
}
