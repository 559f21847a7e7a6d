/**
 * The applier's decisions (DESIGN §6). A microbatch is a work token: the node's own cursor decides
 * what to apply, so duplicates, reordering and lost messages never leave a gap or go backward.
 */
import type { LogEntry, Microbatch, ReplicaWrite } from './types.ts';

export type ApplyDecision =
  | { readonly kind: 'duplicate' }
  /** Apply seqs start+1 … end. */
  | { readonly kind: 'apply'; readonly start: number; readonly end: number };

/**
 * start = appliedSeq; a duplicate when start ≥ target (the token's work is done, by this token or
 * another of any plan); otherwise apply at most b updates toward the target.
 */
export function decideApply(appliedSeq: number, microbatch: Pick<Microbatch, 'target'>, batchSize: number): ApplyDecision {
  if (appliedSeq >= microbatch.target) return { kind: 'duplicate' };
  return { kind: 'apply', start: appliedSeq, end: Math.min(microbatch.target, appliedSeq + batchSize) };
}

/**
 * Keeps only the last op per key (entries ascending by seq), so a key repeated within a microbatch
 * costs one write. Output keeps the order of each key's last occurrence.
 */
export function collapseToLastOpPerKey(entries: readonly LogEntry[]): ReplicaWrite[] {
  const last = new Map<string, LogEntry>();
  for (const entry of entries) {
    last.delete(entry.key);
    last.set(entry.key, entry);
  }
  return [...last.values()].map((entry) => ({
    key: entry.key,
    op: entry.op,
    ...(entry.op === 'put' ? { value: entry.value } : {}),
    seq: entry.seq,
    updatedAt: entry.producedAt,
  }));
}
