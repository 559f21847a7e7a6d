/**
 * The applier's use case (DESIGN §6): bring a node toward the microbatch's `to`, at most b updates,
 * starting from the node's own cursor. Every step is idempotent, so a redelivery after a crash at
 * any point re-runs safely: replica keys only move forward in seq and the cursor only moves forward.
 */
import { collapseToLastOpPerKey, decideApply } from '#shared/domain/apply.ts';
import { firstChainBreak } from '#shared/domain/chain.ts';
import { CursorRaceError, IntegrityError, LogGapError, ValidationError } from '#shared/domain/errors.ts';
import type { LogReader, NodeRepository, ReplicaStore } from '#shared/domain/ports.ts';
import type { Microbatch } from '#shared/domain/types.ts';

export interface ApplyMicrobatchDeps {
  readonly stream: string;
  readonly batchSize: number;
  readonly log: LogReader;
  readonly nodes: NodeRepository;
  readonly replica: ReplicaStore;
  readonly now: () => Date;
  /** Times to re-read the cursor after losing the race to another delivery before giving up. */
  readonly maxCursorAttempts?: number;
}

export type ApplyOutcome =
  | { readonly kind: 'applied'; readonly start: number; readonly end: number; readonly updates: number; readonly written: number; readonly skipped: number }
  | { readonly kind: 'duplicate'; readonly appliedSeq: number }
  | { readonly kind: 'unknown-node' }
  | { readonly kind: 'paused-node' };

/**
 * @throws ValidationError for a microbatch of another stream; LogGapError when log entries are not
 * yet visible; IntegrityError when the chain does not verify; CursorRaceError when other deliveries
 * keep moving the cursor. Each means: fail the record so SQS redelivers (or dead-letters) it.
 */
export async function applyMicrobatch(microbatch: Microbatch, deps: ApplyMicrobatchDeps): Promise<ApplyOutcome> {
  if (microbatch.stream !== deps.stream) {
    throw new ValidationError('invalid microbatch', [`stream: this applier serves '${deps.stream}', not '${microbatch.stream}'`]);
  }
  const attempts = deps.maxCursorAttempts ?? 3;
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    const node = await deps.nodes.get(microbatch.nodeId);
    if (node === undefined) return { kind: 'unknown-node' };
    if (node.status === 'paused') return { kind: 'paused-node' };

    const decision = decideApply(node.appliedSeq, microbatch, deps.batchSize);
    if (decision.kind === 'duplicate') return { kind: 'duplicate', appliedSeq: node.appliedSeq };
    const { start, end } = decision;

    const entries = await deps.log.readRange(deps.stream, start, end);
    const last = entries.at(-1);
    if (entries.length < end - start || last === undefined) {
      throw new LogGapError(`log entries ${start + 1}…${end} are not all visible yet (found ${entries.length})`);
    }
    const breakAt = firstChainBreak(start, node.appliedChain, entries);
    if (breakAt !== undefined) {
      throw new IntegrityError(`the hash chain breaks at seq ${breakAt} for node ${node.nodeId}`, breakAt);
    }

    const { written, skipped } = await deps.replica.write(node.nodeId, collapseToLastOpPerKey(entries));
    const advanced = await deps.nodes.advanceCursor(node.nodeId, start, {
      appliedSeq: end,
      appliedChain: last.chain,
      appliedAt: deps.now().toISOString(),
      lastProducedAt: last.producedAt,
    });
    if (advanced) return { kind: 'applied', start, end, updates: end - start, written, skipped };
    // Another delivery moved the cursor: the next pass re-reads it and either finds the work done or continues.
  }
  throw new CursorRaceError(`node ${microbatch.nodeId}: the cursor kept moving during ${attempts} attempts`);
}
