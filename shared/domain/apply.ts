/**
 * The applier's decisions (DESIGN §6). A microbatch is a work token: the node's own cursor decides
 * what to apply, so duplicates, reordering and lost messages never leave a gap or go backward.
 */
import { replay } from './ops.ts';
import type { LogEntry, Microbatch, ReplicaItem } from './types.ts';

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
 * The items a microbatch leaves: one per key, the item of the key's last entry (entries ascending by
 * seq), so a key repeated within a microbatch costs one write. That is the microbatch's replay, and
 * it is exact because every op overwrites its key (ops.ts). Output keeps the order of each key's
 * last occurrence.
 */
export function collapseToLastOpPerKey(entries: readonly LogEntry[]): ReplicaItem[] {
  return [...replay(entries).values()];
}
