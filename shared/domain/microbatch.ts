/**
 * The microbatch message on the wire (DESIGN §3): how the planner writes it and names it for SQS,
 * and how the applier reads it back, validated. The check is written by hand, as the scheduled
 * events' is (scheduled-event.ts): the applier needs nothing else of a schema library, and zod —
 * 27 KB of its bundle — kept it at 1.23× the bare SDK clients, near the 1.25× budget.
 */
import { ValidationError } from './errors.ts';
import { IDENTIFIER_PATTERN, IDENTIFIER_RULE, NODE_ID_PATTERN, NODE_ID_RULE } from './identifiers.ts';
import { timeProblem } from './iso-time.ts';
import type { Microbatch } from './types.ts';

export function serializeMicrobatch(microbatch: Microbatch): string {
  return JSON.stringify(microbatch);
}

/**
 * `nodeId:interval:index:target`: a duplicate planner run for the same interval makes the same plan
 * and re-sends the same ids, which SQS drops within its 5-minute window; a later interval's tokens
 * get new ones. The three numbers never hold a colon, so ids stay unique whatever the node id holds.
 */
export function deduplicationId(microbatch: Microbatch): string {
  return `${microbatch.nodeId}:${microbatch.interval}:${microbatch.index}:${microbatch.target}`;
}

/**
 * Why a schema v1 body is refused. v1 carried the range `(from, to]` and was read as
 * `target = to` while the queue drained after v2 arrived (2026-11-30). The microbatch queue keeps
 * a message 4 days (`QUEUES.microbatch.retentionSeconds`, infra/definitions.ts), so the last v1
 * body a planner sent is gone 4 days after the deploy that brought v2. A v1 body that is still
 * there loses nothing by being refused: the record fails like any invalid one, is dead-lettered
 * after maxReceiveCount receives, and the planner plans the node from its own cursor — the next
 * plan's tokens cover outstanding work, and once the cursor has stood still for
 * staleAfterIntervals the outstanding tokens are re-sent.
 */
export const MICROBATCH_V1_RETIRED =
  'v: microbatch schema v1 was retired on 2026-12-04 (microbatch-sync 0.1.0): this token is refused and is dead-lettered after maxReceiveCount receives; ' +
  "nothing is lost, the planner re-sends the node's outstanding work as v2 once its cursor has stood still for staleAfterIntervals";

function patternProblem(value: unknown, pattern: RegExp, rule: string): string | undefined {
  if (value === undefined) return 'is missing';
  return typeof value === 'string' && pattern.test(value) ? undefined : `must be ${rule}`;
}

function wholeNumberProblem(value: unknown, least: 0 | 1): string | undefined {
  if (value === undefined) return 'is missing';
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) return 'must be a whole number';
  return value >= least ? undefined : least === 0 ? 'must not be negative' : 'must be positive';
}

/** Parses an SQS body into a (v2) microbatch, or throws a ValidationError (bad JSON, a retired or unknown version, each bad field as `field: problem`). */
export function parseMicrobatch(body: string): Microbatch {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new ValidationError('invalid microbatch', [`body is not JSON: ${(error as Error).message}`]);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ValidationError('invalid microbatch', [`(root): must be an object (got ${json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json})`]);
  }
  const fields = json as Readonly<Record<string, unknown>>;
  if (fields.v === 1) throw new ValidationError('invalid microbatch', [MICROBATCH_V1_RETIRED]);
  const problems = Object.entries({
    v: fields.v === 2 ? undefined : 'must be 2 (the microbatch schema version)',
    stream: patternProblem(fields.stream, IDENTIFIER_PATTERN, IDENTIFIER_RULE),
    nodeId: patternProblem(fields.nodeId, NODE_ID_PATTERN, NODE_ID_RULE),
    interval: wholeNumberProblem(fields.interval, 0),
    from: wholeNumberProblem(fields.from, 0),
    target: wholeNumberProblem(fields.target, 1),
    index: wholeNumberProblem(fields.index, 0),
    count: wholeNumberProblem(fields.count, 1),
    plannedAt: timeProblem(fields.plannedAt),
  }).flatMap(([field, problem]) => (problem === undefined ? [] : [`${field}: ${problem}`]));
  if (problems.length > 0) throw new ValidationError('invalid microbatch', problems);
  // Every field is known good from here: the rules between them.
  const microbatch = fields as unknown as Microbatch;
  const between = [
    ...(microbatch.target >= microbatch.from ? [] : ['target: must not be below from']),
    ...(microbatch.index < microbatch.count ? [] : ['index: must be less than count']),
  ];
  if (between.length > 0) throw new ValidationError('invalid microbatch', between);
  // Only the schema's fields: a member the message carries beside them goes no further.
  const { v, stream, nodeId, interval, from, target, index, count, plannedAt } = microbatch;
  return { v, stream, nodeId, interval, from, target, index, count, plannedAt };
}
