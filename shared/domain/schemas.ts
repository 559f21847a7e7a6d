/**
 * Ingest requests are validated here with zod/mini: a request of many updates, each with its op's
 * rule for `value`, is where a schema library earns its place. zod/mini keeps the ingest bundle
 * small; its schemas are Standard Schemas, so the Powertools parser middleware takes them as they
 * are. The microbatch message (microbatch.ts) and the two scheduled-event shapes
 * (scheduled-event.ts) are checked by hand, so that the applier, the planner and the checker bundle
 * no schema library at all.
 */
import * as z from 'zod/mini';
// Only the English messages: `z.locales` would bundle every language (~260 KB per function).
import en from 'zod/v4/locales/en.js';
import { ValidationError } from './errors.ts';
import { MAX_IDEMPOTENCY_KEY_LENGTH } from './identifiers.ts';
import { OP_NAMES, OPS } from './ops.ts';
import type { JsonValue, NewUpdate, Op } from './types.ts';

z.config(en());

export const MAX_KEY_BYTES = 1024;
export const MAX_UPDATES_PER_REQUEST = 1000;

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

/** Validates a whole ingest request: one bad update rejects it all. */
export function parseIngestRequest(input: unknown): IngestRequest {
  return parseOrThrow(ingestRequestSchema, input, 'ingest request');
}
