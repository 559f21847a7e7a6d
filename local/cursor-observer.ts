/**
 * What became of each microbatch the applier was given — applied, or skipped as a duplicate — told
 * from the node's cursor around each invocation, per node and per interval.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { parseMicrobatch } from '#shared/domain/microbatch.ts';
import type { Microbatch } from '#shared/domain/types.ts';
import type { Tally } from './summary.ts';

/**
 * Tells, for each record the applier was given, what became of it, from the node's cursor before
 * and after the invocation. Exact because a FIFO message group (one node) is never in two
 * invocations at once: the queue hands out a group's next message only after the last one is done.
 */
export class CursorObserver {
  constructor(
    private readonly nodes: DynamoNodeRepository,
    private readonly perNode: Map<string, Tally>,
    private readonly interval: () => Tally,
  ) {}

  async around(event: SQSEvent, invoke: () => Promise<SQSBatchResponse>): Promise<SQSBatchResponse> {
    const microbatches = new Map<SQSRecord, Microbatch>();
    for (const record of event.Records) {
      try {
        const microbatch = parseMicrobatch(record.body);
        if (this.perNode.has(microbatch.nodeId)) microbatches.set(record, microbatch);
      } catch {
        // A malformed message: the applier fails it; nothing to observe.
      }
    }
    const nodeIds = [...new Set([...microbatches.values()].map((microbatch) => microbatch.nodeId))];
    const before = await this.cursors(nodeIds);
    let failed: ReadonlySet<string> | 'all' = 'all';
    try {
      const response = await invoke();
      failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
      return response;
    } finally {
      const after = await this.cursors(nodeIds);
      for (const [record, microbatch] of microbatches) {
        const was = before.get(microbatch.nodeId) ?? 0;
        const moved = (after.get(microbatch.nodeId) ?? 0) > was;
        const succeeded = failed !== 'all' && !failed.has(record.messageId);
        const tally = this.perNode.get(microbatch.nodeId);
        if (tally === undefined) continue;
        if (moved) {
          // Its work is done even when the invocation then failed: the next delivery finds it a duplicate.
          tally.microbatchesApplied += 1;
          this.interval().microbatchesApplied += 1;
        } else if (succeeded && was >= microbatch.target) {
          tally.duplicatesSkipped += 1;
          this.interval().duplicatesSkipped += 1;
        }
      }
    }
  }

  private async cursors(nodeIds: readonly string[]): Promise<Map<string, number>> {
    const states = await Promise.all(nodeIds.map((nodeId) => this.nodes.get(nodeId)));
    return new Map(states.flatMap((state) => (state === undefined ? [] : [[state.nodeId, state.appliedSeq] as const])));
  }
}
