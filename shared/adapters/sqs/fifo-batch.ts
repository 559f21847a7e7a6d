/**
 * Partial-batch processing of an SQS FIFO event with its message groups side by side: Powertools'
 * `SqsFifoPartialProcessorAsync` with `skipGroupOnError` (2.35) keeps every group's order but runs
 * the whole batch one record after another, and its `processInParallel` option is typed `never`
 * for the FIFO processors. A group's records only need each other's order, so here each group runs
 * its records in order while the groups run at the same time.
 *
 * The failure rules are Powertools': a failed record and every later record of its group are
 * reported (the later ones unprocessed, as `SqsFifoMessageGroupShortCircuitError`); a record without
 * a MessageGroupId is a group of its own, so its failure skips nothing; and when every record failed
 * the batch throws `FullBatchFailureError`, the very class Powertools throws, so Lambda retries
 * the whole batch. Only the two error classes are imported from Powertools: without its processor
 * the applier bundle is 7.4 KB smaller (459,248 → 451,814 bytes, `npm run bench:bundles`, 2.35.0).
 */
import { FullBatchFailureError, SqsFifoMessageGroupShortCircuitError } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import pLimit from 'p-limit';
import { requirePositiveInteger } from '#shared/adapters/batching.ts';

/** Tuning for {@link processFifoBatch}. */
export interface FifoBatchOptions {
  /** Message groups in progress at once; default every group of the batch (a FIFO batch holds at most 10 records). */
  readonly concurrency?: number;
}

/**
 * Calls `handle` on each record of a FIFO batch: a group's records one after another in batch
 * order, the groups concurrently. A record counts as failed when `handle` rejects or throws.
 *
 * @returns the partial-batch response: the failed and the skipped records, in batch order.
 * @throws FullBatchFailureError when no record of a non-empty batch succeeded; its `recordErrors`
 * hold one error per record, in batch order.
 */
export async function processFifoBatch<R extends SQSRecord>(
  records: readonly R[],
  handle: (record: R) => Promise<unknown>,
  options: FifoBatchOptions = {},
): Promise<SQSBatchResponse> {
  const groups = byMessageGroup(records);
  const limit = pLimit(requirePositiveInteger(options.concurrency ?? Math.max(groups.length, 1), 'concurrency'));
  // Why each failed record failed, by the record's index in the batch.
  const errors = new Map<number, Error>();
  await Promise.all(
    groups.map((group) =>
      limit(async () => {
        for (const [position, { index, record }] of group.entries()) {
          try {
            await handle(record);
          } catch (error) {
            errors.set(index, asError(error));
            for (const later of group.slice(position + 1)) errors.set(later.index, new SqsFifoMessageGroupShortCircuitError());
            return;
          }
        }
      }),
    ),
  );
  const failed = records.flatMap((record, index) => {
    const error = errors.get(index);
    return error === undefined ? [] : [{ record, error }];
  });
  if (failed.length > 0 && failed.length === records.length) throw new FullBatchFailureError(failed.map(({ error }) => error));
  return { batchItemFailures: failed.map(({ record }) => ({ itemIdentifier: record.messageId })) };
}

/** A record and where it stands in the batch. */
interface Entry<R> {
  readonly index: number;
  readonly record: R;
}

/** The records per message group, each group in batch order; a record without a group id (or an empty one) is a group alone. */
function byMessageGroup<R extends SQSRecord>(records: readonly R[]): Entry<R>[][] {
  const groups = new Map<string, Entry<R>[]>();
  const alone: Entry<R>[][] = [];
  for (const [index, record] of records.entries()) {
    const groupId = record.attributes.MessageGroupId;
    if (groupId === undefined || groupId === '') {
      alone.push([{ index, record }]);
      continue;
    }
    const group = groups.get(groupId);
    if (group === undefined) groups.set(groupId, [{ index, record }]);
    else group.push({ index, record });
  }
  return [...groups.values(), ...alone];
}

/** What a record handler threw, as the Error that FullBatchFailureError's `recordErrors` expects. */
function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown), { cause: thrown });
}
