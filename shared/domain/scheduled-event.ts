/**
 * The two scheduled-event shapes a user meets (DESIGN §5 step 1): the classic EventBridge rule
 * payload (`"detail-type": "Scheduled Event"`, `time`) and the EventBridge Scheduler payload the
 * stack configures with context attributes (`scheduledTime`, `executionId`, `attempt`). Anything
 * else is a ValidationError naming the fields each shape lacks.
 *
 * Hand-written rather than zod: the planner and the checker need nothing else of a schema library,
 * and leaving it out keeps their bundles inside 1.25× the bare SDK clients (bench/parts/cold-start.ts).
 */
import { ValidationError } from './errors.ts';
import { timeProblem } from './iso-time.ts';

/** The classic EventBridge rule payload (with the other members EventBridge sends). */
export interface ClassicScheduledEvent {
  readonly 'detail-type': 'Scheduled Event';
  readonly time: string;
  readonly [member: string]: unknown;
}

/** The EventBridge Scheduler payload the stack configures with context attributes. */
export interface SchedulerEvent {
  readonly scheduledTime: string;
  readonly executionId?: string;
  readonly attempt?: number | string;
  readonly [member: string]: unknown;
}

/** Either shape, as a scheduled function receives it. */
export type ScheduledEvent = ClassicScheduledEvent | SchedulerEvent;

/** A tick of either shape, reduced to what the handlers use. */
export interface ScheduledTick {
  /** The time the tick was scheduled for: a retried or duplicated delivery carries the same one. */
  readonly scheduledTime: Date;
  readonly shape: 'classic' | 'scheduler';
}

/** The fields of `event` that keep it from being a classic rule payload, as `field: problem`. */
function classicProblems(event: Readonly<Record<string, unknown>>): string[] {
  const problems: string[] = [];
  if (event['detail-type'] !== 'Scheduled Event') problems.push(`detail-type: must be "Scheduled Event"`);
  const time = timeProblem(event.time);
  if (time !== undefined) problems.push(`time: ${time}`);
  return problems;
}

/** The fields of `event` that keep it from being a Scheduler payload. */
function schedulerProblems(event: Readonly<Record<string, unknown>>): string[] {
  const problems: string[] = [];
  const time = timeProblem(event.scheduledTime);
  if (time !== undefined) problems.push(`scheduledTime: ${time}`);
  if (event.executionId !== undefined && typeof event.executionId !== 'string') problems.push('executionId: must be a string');
  const { attempt } = event;
  if (attempt !== undefined && typeof attempt !== 'string' && !Number.isInteger(attempt)) problems.push('attempt: must be a whole number or a string');
  return problems;
}

/**
 * The tick an event carries. The classic shape is tried first, as a Scheduler payload may carry any
 * extra key, `detail-type` included, and is then timed by its `scheduledTime`.
 * @throws ValidationError naming, for each shape, the fields that do not fit.
 */
export function parseScheduledEvent(event: unknown): ScheduledTick {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new ValidationError('invalid scheduled event', [`(root): must be an object (got ${event === null ? 'null' : Array.isArray(event) ? 'an array' : typeof event})`]);
  }
  const fields = event as Readonly<Record<string, unknown>>;
  const classic = classicProblems(fields);
  if (classic.length === 0) return { scheduledTime: new Date(fields.time as string), shape: 'classic' };
  const scheduler = schedulerProblems(fields);
  if (scheduler.length === 0) return { scheduledTime: new Date(fields.scheduledTime as string), shape: 'scheduler' };
  throw new ValidationError('invalid scheduled event', [`(root): matches none of the accepted shapes: { ${classic.join(', ')} } or { ${scheduler.join(', ')} }`]);
}
