/**
 * The rich inputs are validated here with zod/mini: the microbatch message (schema v2; v1 is
 * retired and refused) on the applier's side, and ingest requests. zod/mini keeps those bundles small;
 * its schemas are Standard Schemas, so the Powertools parser middleware takes them as they are. The
 * two scheduled-event shapes are checked by hand (scheduled-event.ts), so that the planner and the
 * checker bundle no schema library at all.
 */
import * as z from 'zod/mini';
// Only the English messages: `z.locales` would bundle every language (~260 KB per function).
import en from 'zod/v4/locales/en.js';
import { ValidationError } from './errors.ts';
import { IDENTIFIER_PATTERN, IDENTIFIER_RULE, MAX_IDEMPOTENCY_KEY_LENGTH, NODE_ID_PATTERN, NODE_ID_RULE } from './identifiers.ts';
import { OP_NAMES, OPS } from './ops.ts';
import type { JsonValue, Microbatch, NewUpdate, Op } from './types.ts';

z.config(en());

export const MAX_KEY_BYTES = 1024;
export const MAX_UPDATES_PER_REQUEST = 1000;

const identifier = z.string().check(z.regex(IDENTIFIER_PATTERN, `must be ${IDENTIFIER_RULE}`));
const nodeId = z.string().check(z.regex(NODE_ID_PATTERN, `must be ${NODE_ID_RULE}`));
const nonNegativeInt = z.int().check(z.nonnegative());
const isoTime = z.iso.datetime({ offset: true });

/** Schema version 2 (DESIGN §3): every token of a plan carries the plan's target. */
export const microbatchSchema = z
  .object({
    v: z.literal(2),
    stream: identifier,
    nodeId,
    interval: nonNegativeInt,
    from: nonNegativeInt,
    target: z.int().check(z.positive()),
    index: nonNegativeInt,
    count: z.int().check(z.positive()),
    plannedAt: isoTime,
  })
  .check(
    z.refine((m) => m.target >= m.from, { error: 'target must not be below from', path: ['target'] }),
    z.refine((m) => m.index < m.count, { error: 'index must be less than count', path: ['index'] }),
  );

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

/**
 * Why `value` is not plain JSON data, or undefined when it is. Hand-written rather than a zod union
 * of records: zod's record silently drops a `"__proto__"` member, and the hash chain must see
 * exactly what is stored. Lone UTF-16 surrogates have no RFC 8785 form, so they are refused too.
 */
export function jsonProblem(value: unknown, path = ''): string | undefined {
  const at = path === '' ? '' : ` at ${path}`;
  switch (typeof value) {
    case 'string':
      return value.isWellFormed() ? undefined : `string${at} has a lone UTF-16 surrogate`;
    case 'number':
      return Number.isFinite(value) ? undefined : `number${at} must be finite`;
    case 'boolean':
      return undefined;
    case 'object': {
      if (value === null) return undefined;
      if (Array.isArray(value)) {
        for (const [index, item] of value.entries()) {
          const problem = jsonProblem(item, `${path}[${index}]`);
          if (problem !== undefined) return problem;
        }
        return undefined;
      }
      const prototype: unknown = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) return `value${at} is not a plain object`;
      for (const [key, item] of Object.entries(value)) {
        if (key === '__proto__') return `member "__proto__"${at} is not allowed`;
        if (!key.isWellFormed()) return `a member name${at} has a lone UTF-16 surrogate`;
        const problem = jsonProblem(item, `${path}.${key}`);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
    default:
      return `${typeof value}${at} is not JSON`;
  }
}

const jsonValue = z.custom<JsonValue>().check(
  z.superRefine((value, context) => {
    const problem = jsonProblem(value);
    if (problem !== undefined) context.addIssue({ code: 'custom', message: `must be JSON: ${problem}`, input: value });
  }),
);

const byteLength = (text: string): number => Buffer.byteLength(text, 'utf8');

export const newUpdateSchema = z
  .strictObject({
    key: z.string().check(
      z.minLength(1, 'must not be empty'),
      z.refine((key) => key.isWellFormed(), 'must not hold a lone UTF-16 surrogate'),
      z.refine((key) => byteLength(key) <= MAX_KEY_BYTES, `must be at most ${MAX_KEY_BYTES} bytes`),
    ),
    op: z.enum(OP_NAMES),
    value: z.optional(jsonValue),
  })
  // The size of an update is checked where the request is cut into transactions (ingest.ts), by
  // DynamoDB's own rule for the item the update becomes.
  .check(...OP_NAMES.map(valueRule));

/** Each op's rule for `value`, as ops.ts declares it. */
function valueRule(op: Op) {
  return OPS[op].value === 'required'
    ? z.refine<NewUpdate>((u) => u.op !== op || u.value !== undefined, { error: `a ${op} needs a value`, path: ['value'] })
    : z.refine<NewUpdate>((u) => u.op !== op || u.value === undefined, { error: `a ${op} carries no value`, path: ['value'] });
}

export const ingestRequestSchema = z.strictObject({
  updates: z.array(newUpdateSchema).check(z.minLength(1, 'must hold at least one update'), z.maxLength(MAX_UPDATES_PER_REQUEST)),
  idempotencyKey: z.optional(
    z.string().check(
      z.minLength(1),
      z.maxLength(MAX_IDEMPOTENCY_KEY_LENGTH),
      // It becomes part of a DynamoDB key, which must be valid UTF-8.
      z.refine((key) => key.isWellFormed(), 'must not hold a lone UTF-16 surrogate'),
    ),
  ),
});
export type IngestRequest = z.infer<typeof ingestRequestSchema>;

function pathOf(path: readonly PropertyKey[]): string {
  return path.length > 0 ? path.map(String).join('.') : '(root)';
}

function describeIssue(issue: z.core.$ZodIssue): string {
  // When no shape of a union of objects fits, zod reports one bare "Invalid input" at the union:
  // name the fields each accepted shape lacks instead.
  if (issue.code === 'invalid_union' && issue.errors.length > 0 && issue.errors.every((shape) => shape.length > 0 && shape.every((inner) => inner.path.length > 0))) {
    const shapes = issue.errors.map((shape) => shape.map((inner) => `${pathOf([...issue.path, ...inner.path])}: ${inner.message}`).join(', '));
    return `${pathOf(issue.path)}: matches none of the accepted shapes: { ${shapes.join(' } or { ')} }`;
  }
  return `${pathOf(issue.path)}: ${issue.message}`;
}

/** Parses with `schema` or throws a ValidationError whose issues name each bad field. */
export function parseOrThrow<T>(schema: z.ZodMiniType<T>, input: unknown, what: string): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ValidationError(`invalid ${what}`, result.error.issues.map(describeIssue));
}

/** Parses an SQS body into a (v2) microbatch, or throws a ValidationError (bad JSON, a retired or unknown version, bad field). */
export function parseMicrobatch(body: string): Microbatch {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new ValidationError('invalid microbatch', [`body is not JSON: ${(error as Error).message}`]);
  }
  if (typeof json === 'object' && json !== null && 'v' in json && json.v === 1) throw new ValidationError('invalid microbatch', [MICROBATCH_V1_RETIRED]);
  return parseOrThrow(microbatchSchema, json, 'microbatch');
}

/** Validates a whole ingest request: one bad update rejects it all. */
export function parseIngestRequest(input: unknown): IngestRequest {
  return parseOrThrow(ingestRequestSchema, input, 'ingest request');
}
