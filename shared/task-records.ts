/**
 * The shard functions' SQS records (DESIGN §5, §7): each record is one shard task, run on its own;
 * a record whose task fails is reported in `batchItemFailures`, so SQS delivers it again — after
 * `onFailure` shortened its invisibility (the planner shard's retry within the interval), or after
 * the queue's visibility timeout, by then usually stale (the task then reports itself expired) —
 * and dead-letters it after maxReceiveCount receives. A body that is not a task of the function's
 * kind fails alone, logged with its message id.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ValidationError } from '#shared/domain/errors.ts';
import { parseTask, type CheckTask, type PlanTask } from '#shared/domain/shard-task.ts';
import { logger } from './observability.ts';

type TaskOf<K extends 'plan' | 'check'> = K extends 'plan' ? PlanTask : CheckTask;

export interface RunTasksOptions {
  /** Told about each failed record, before it is reported failed; its own failure is logged and ignored. */
  readonly onFailure?: (record: SQSRecord) => Promise<void>;
}

/** Runs `run` on each record's task of kind `kind`, one after another; @returns the records that failed. */
export async function runTasks<K extends 'plan' | 'check'>(
  event: SQSEvent,
  kind: K,
  run: (task: TaskOf<K>) => Promise<void>,
  options: RunTasksOptions = {},
): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    try {
      const task = parseTask(record.body);
      if (task.kind !== kind) throw new ValidationError('invalid shard task', [`kind: this function runs "${kind}" tasks, not "${task.kind}"`]);
      logger.appendKeys({ interval: task.interval, shard: task.shard });
      await run(task as TaskOf<K>);
    } catch (error) {
      logger.error('shard task failed: SQS delivers it again, then dead-letters it', { messageId: record.messageId, error });
      try {
        await options.onFailure?.(record);
      } catch (retryError) {
        logger.warn('could not bring the failed task back early: SQS delivers it after the visibility timeout', { messageId: record.messageId, error: retryError });
      }
      batchItemFailures.push({ itemIdentifier: record.messageId });
    } finally {
      logger.removeKeys(['interval', 'shard']);
    }
  }
  return { batchItemFailures };
}
