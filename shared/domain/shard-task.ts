/**
 * The work of one shard (DESIGN §5, §7): the coordinators (the scheduled planner and checker) cut an
 * interval into S shards and send one task per shard on a standard SQS queue; a shard function
 * consumes it. A task carries everything its shard needs, fixed when the interval's header was
 * written, so a redelivered or retried task does the same work. A task is stale once a later tick
 * has written its own header (that tick cut the work again): the shard then gives up and reports
 * itself expired. Staleness is read from the headers, not from a clock, so it means the same
 * whatever the clocks of the invocations, and on the local runtime's simulated clock.
 *
 * Hand-checked rather than zod, as scheduled-event.ts, to keep schema libraries out of the bundles.
 */
import { ValidationError } from './errors.ts';
import { IDENTIFIER_PATTERN } from './identifiers.ts';
import type { Sharding } from './sharding.ts';

interface TaskBase extends Sharding {
  readonly v: 1;
  readonly stream: string;
  /** The interval k of the tick that cut the work. */
  readonly interval: number;
  /** This task's shard, 0 ≤ shard < shards. */
  readonly shard: number;
}

/** Plan the nodes of one shard's segments for interval k against H_k. */
export interface PlanTask extends TaskBase {
  readonly kind: 'plan';
  readonly plannedAt: string;
  /** H_k and its chain, from the plan header. */
  readonly head: number;
  /** The segment count of the newest plan records before k: where history lives after B changed. */
  readonly previousSegments: number;
}

/** Fold one shard's nodes into a partial verdict on every open interval of tick k. */
export interface CheckTask extends TaskBase {
  readonly kind: 'check';
  /** The tick's time: staleness is measured to it, and the verdicts are stamped with it. */
  readonly checkedAt: string;
  /** The current head and the heads of the open intervals judged at this tick. */
  readonly heads: readonly number[];
  readonly averageIngestPerInterval: number;
}

export type ShardTask = PlanTask | CheckTask;

export function serializeTask(task: ShardTask): string {
  return JSON.stringify(task);
}

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isTime = (value: unknown): value is string => typeof value === 'string' && !Number.isNaN(Date.parse(value));

/** Reads a task body. @throws ValidationError naming every field that is wrong. */
export function parseTask(body: string): ShardTask {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new ValidationError('invalid shard task', ['(body): is not JSON']);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ValidationError('invalid shard task', ['(body): must be an object']);
  const task = value as Readonly<Record<string, unknown>>;
  const problems: string[] = [];
  const need = (field: string, ok: boolean, rule: string): void => {
    if (!ok) problems.push(`${field}: must be ${rule} (got ${JSON.stringify(task[field])})`);
  };
  need('v', task.v === 1, '1');
  need('kind', task.kind === 'plan' || task.kind === 'check', '"plan" or "check"');
  need('stream', typeof task.stream === 'string' && IDENTIFIER_PATTERN.test(task.stream), 'a stream name');
  need('interval', isCount(task.interval), 'a whole number ≥ 0');
  need('segments', isCount(task.segments) && task.segments >= 1, 'a whole number ≥ 1');
  need('shards', isCount(task.shards) && task.shards >= 1 && (!isCount(task.segments) || task.shards <= task.segments), 'a whole number from 1 to segments');
  need('shard', isCount(task.shard) && (!isCount(task.shards) || task.shard < task.shards), 'a whole number below shards');
  if (task.kind === 'plan') {
    need('plannedAt', isTime(task.plannedAt), 'an ISO 8601 time');
    need('head', isCount(task.head), 'a whole number ≥ 0');
    need('previousSegments', isCount(task.previousSegments) && task.previousSegments >= 1, 'a whole number ≥ 1');
  } else if (task.kind === 'check') {
    need('checkedAt', isTime(task.checkedAt), 'an ISO 8601 time');
    need('heads', Array.isArray(task.heads) && task.heads.length > 0 && task.heads.every(isCount), 'a non-empty list of whole numbers ≥ 0');
    need('averageIngestPerInterval', typeof task.averageIngestPerInterval === 'number' && Number.isFinite(task.averageIngestPerInterval) && task.averageIngestPerInterval >= 0, 'a number ≥ 0');
  }
  if (problems.length > 0) throw new ValidationError('invalid shard task', problems);
  return task as unknown as ShardTask;
}

/** The first retry of a failed shard task waits this long; each later one twice as long. */
const FIRST_RETRY_SECONDS = 5;

/**
 * How long a shard task that failed (and was reported failed) stays invisible before SQS delivers it
 * again: 5 s, then 10 s, …, at most a quarter of t, so that the retries land well inside the
 * interval — the queue's own visibility timeout (six times the shard's timeout) would bring it
 * back after the next tick, stale.
 */
export function retryDelaySeconds(receiveCount: number, intervalSeconds: number): number {
  // A receive count SQS did not send reads as the first.
  const attempt = Number.isFinite(receiveCount) ? Math.max(1, Math.floor(receiveCount)) : 1;
  return Math.max(1, Math.min(Math.floor(intervalSeconds / 4), FIRST_RETRY_SECONDS * 2 ** (attempt - 1)));
}
