import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '#shared/domain/errors.ts';
import { deduplicationId, serializeMicrobatch } from '#shared/domain/microbatch.ts';
import {
  MAX_KEY_BYTES,
  MAX_UPDATES_PER_REQUEST,
  MICROBATCH_V1_RETIRED,
  newUpdateSchema,
  parseIngestRequest,
  parseMicrobatch,
  parseOrThrow,
} from '#shared/domain/schemas.ts';
import type { Microbatch } from '#shared/domain/types.ts';

const MICROBATCH: Microbatch = {
  v: 2,
  stream: 'main',
  nodeId: 'n-17',
  interval: 29_447_718,
  from: 1200,
  target: 1500,
  index: 0,
  count: 3,
  plannedAt: '2026-11-27T10:18:00Z',
};

function validationErrorOf(act: () => unknown): ValidationError {
  try {
    act();
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError, but nothing was thrown');
}

const identifierArb = fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/);
/** Any id SQS accepts as a message group id: printable ASCII without the space. */
const nodeIdArb = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code)), minLength: 1, maxLength: 64 });
const microbatchArb = fc
  .record({
    stream: identifierArb,
    nodeId: nodeIdArb,
    interval: fc.nat({ max: 100_000_000 }),
    from: fc.nat({ max: 1_000_000_000 }),
    size: fc.nat({ max: 10_000 }),
    count: fc.integer({ min: 1, max: 100 }),
    indexFraction: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    plannedAt: fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }),
  })
  .map(
    ({ stream, nodeId, interval, from, size, count, indexFraction, plannedAt }): Microbatch => ({
      v: 2,
      stream,
      nodeId,
      interval,
      from,
      target: Math.max(1, from + size),
      index: Math.floor(indexFraction * count),
      count,
      plannedAt: plannedAt.toISOString(),
    }),
  );

describe('parseMicrobatch', () => {
  it('round-trips a valid microbatch through serializeMicrobatch', () => {
    expect(parseMicrobatch(serializeMicrobatch(MICROBATCH))).toEqual(MICROBATCH);
  });

  it('round-trips any valid microbatch', () => {
    fc.assert(
      fc.property(microbatchArb, (microbatch) => {
        expect(parseMicrobatch(serializeMicrobatch(microbatch))).toEqual(microbatch);
      }),
      { numRuns: 500 },
    );
  });

  it('rejects a body that is not JSON', () => {
    const error = validationErrorOf(() => parseMicrobatch('{"v":1,'));

    expect(error.message).toMatch(/^invalid microbatch: body is not JSON/);
  });

  it('refuses a v1 message, saying that schema v1 is retired and that the token is dead-lettered and its work re-sent', () => {
    const v1 = { v: 1, stream: 'main', nodeId: 'n-17', interval: 29_447_718, from: 1200, to: 1300, index: 0, count: 3, plannedAt: '2026-11-27T10:18:00Z' };

    const error = validationErrorOf(() => parseMicrobatch(JSON.stringify(v1)));

    expect(error.issues).toEqual([MICROBATCH_V1_RETIRED]);
    expect(error.message).toBe(
      'invalid microbatch: v: microbatch schema v1 was retired on 2026-12-04 (microbatch-sync 0.1.0): this token is refused and is dead-lettered after maxReceiveCount receives; ' +
        "nothing is lost, the planner re-sends the node's outstanding work as v2 once its cursor has stood still for staleAfterIntervals",
    );
  });

  it('refuses a v1 message whatever else it holds: even a well-formed v2 token marked v1', () => {
    const error = validationErrorOf(() => parseMicrobatch(JSON.stringify({ ...MICROBATCH, v: 1 })));

    expect(error.issues).toEqual([MICROBATCH_V1_RETIRED]);
  });

  it('accepts the node ids SQS accepts as message group ids, such as tenant:42', () => {
    expect(parseMicrobatch(serializeMicrobatch({ ...MICROBATCH, nodeId: 'tenant:42' })).nodeId).toBe('tenant:42');
    expect(parseMicrobatch(serializeMicrobatch({ ...MICROBATCH, nodeId: `a!"#$%&'()*+,-./:;<=>?@[\\]^_\`{|}~z` })).nodeId).toContain('~');
  });

  it.each([
    ['an unknown schema version', { ...MICROBATCH, v: 3 }, 'v'],
    ['a target below from', { ...MICROBATCH, target: MICROBATCH.from - 1 }, 'target'],
    ['a target of 0', { ...MICROBATCH, from: 0, target: 0 }, 'target'],
    ['index equal to count', { ...MICROBATCH, index: 3 }, 'index'],
    ['a missing nodeId', { ...MICROBATCH, nodeId: undefined }, 'nodeId'],
    ['a nodeId with spaces (SQS refuses it as a group id)', { ...MICROBATCH, nodeId: 'node 17' }, 'nodeId'],
    ['a nodeId of 65 characters', { ...MICROBATCH, nodeId: 'n'.repeat(65) }, 'nodeId'],
    ['a nodeId with a non-ASCII letter', { ...MICROBATCH, nodeId: 'nœud' }, 'nodeId'],
    ['a negative from', { ...MICROBATCH, from: -1 }, 'from'],
    ['a fractional target', { ...MICROBATCH, target: 1300.5 }, 'target'],
    ['a plannedAt that is not a time', { ...MICROBATCH, plannedAt: 'soon' }, 'plannedAt'],
  ])('rejects %s, naming the field', (_what, body, field) => {
    const error = validationErrorOf(() => parseMicrobatch(JSON.stringify(body)));

    expect(error.issues.some((issue) => issue.startsWith(`${field}: `))).toBe(true);
    expect(error.message).toContain(`${field}: `);
  });
});

describe('deduplicationId', () => {
  it('is nodeId:interval:index:target', () => {
    expect(deduplicationId(MICROBATCH)).toBe('n-17:29447718:0:1500');
  });

  it('stays within SQS’s 128 characters for the longest node id and any reachable numbers', () => {
    const longest = { ...MICROBATCH, nodeId: '~'.repeat(64), interval: Number.MAX_SAFE_INTEGER, index: 999_999, target: Number.MAX_SAFE_INTEGER };

    expect(deduplicationId(longest).length).toBeLessThanOrEqual(128);
  });
});

describe('parseIngestRequest', () => {
  it('accepts puts with any JSON value and deletes without one', () => {
    const request = {
      updates: [
        { key: 'user/1', op: 'put', value: { name: 'Ada', tags: ['x', 1, null, true] } },
        { key: 'user/2', op: 'put', value: 0 },
        { key: 'user/3', op: 'put', value: null },
        { key: 'user/1', op: 'delete' },
      ],
      idempotencyKey: 'req-1',
    };

    expect(parseIngestRequest(request)).toEqual(request);
  });

  it('accepts a key of exactly 1024 bytes and a request of exactly 1000 updates', () => {
    const key = 'é'.repeat(MAX_KEY_BYTES / 2);
    const updates = Array.from({ length: MAX_UPDATES_PER_REQUEST }, (_, i) => ({ key: `${key.slice(0, 500)}${i}`, op: 'delete' }));

    expect(parseIngestRequest({ updates: [{ key, op: 'put', value: 1 }] }).updates).toHaveLength(1);
    expect(parseIngestRequest({ updates }).updates).toHaveLength(MAX_UPDATES_PER_REQUEST);
  });

  const good = { key: 'ok', op: 'put', value: 1 };
  it.each([
    ['an empty key', { key: '', op: 'put', value: 1 }, 'updates.2.key'],
    // 513 two-byte characters: 1026 bytes although only 513 characters long.
    ['a key over 1024 bytes', { key: 'é'.repeat(MAX_KEY_BYTES / 2 + 1), op: 'put', value: 1 }, 'updates.2.key'],
    ['a put without a value', { key: 'k', op: 'put' }, 'updates.2.value'],
    ['a delete with a value', { key: 'k', op: 'delete', value: 1 }, 'updates.2.value'],
    ['an unknown op', { key: 'k', op: 'upsert', value: 1 }, 'updates.2.op'],
    ['an unknown field', { key: 'k', op: 'put', value: 1, ttl: 60 }, 'updates.2'],
    ['a non-finite number', { key: 'k', op: 'put', value: { n: [Infinity] } }, 'updates.2.value'],
  ])('rejects the whole request for %s, naming the field', (_what, bad, field) => {
    const error = validationErrorOf(() => parseIngestRequest({ updates: [good, good, bad, good] }));

    expect(error.message).toMatch(/^invalid ingest request: /);
    expect(error.issues.some((issue) => issue.startsWith(field))).toBe(true);
  });

  it('refuses a "__proto__" member instead of silently dropping it from the value', () => {
    const update = JSON.parse('{"key":"k","op":"put","value":{"__proto__":{"a":1},"b":2}}') as unknown;

    const error = validationErrorOf(() => parseIngestRequest({ updates: [update] }));

    expect(error.issues[0]).toMatch(/^updates\.0\.value: must be JSON: member "__proto__"/);
  });

  it('refuses lone UTF-16 surrogates in a key, a string value or a member name, which have no canonical JSON', () => {
    const lone = 'a\uD800b';
    for (const [update, field] of [
      [{ key: lone, op: 'put', value: 1 }, 'updates.0.key'],
      [{ key: 'k', op: 'put', value: [lone] }, 'updates.0.value'],
      [{ key: 'k', op: 'put', value: { [lone]: 1 } }, 'updates.0.value'],
    ] as const) {
      const error = validationErrorOf(() => parseIngestRequest({ updates: [update] }));
      expect(error.issues.some((issue) => issue.startsWith(field))).toBe(true);
    }
  });

  it('keeps a valid value exactly as sent, nested members included', () => {
    const value = { b: [1, 'x', null, { c: true }], a: { '': '', '"': null, ' ': 0 } };

    const { updates } = parseIngestRequest({ updates: [{ key: 'k', op: 'put', value }] });

    expect(updates[0]?.value).toStrictEqual(value);
  });

  it('names the unknown field it refuses', () => {
    const error = validationErrorOf(() => parseIngestRequest({ updates: [{ key: 'k', op: 'put', value: 1, ttl: 60 }] }));

    expect(error.message).toContain('ttl');
  });

  it('rejects a request with an unknown top-level field, zero updates or 1001 updates', () => {
    expect(validationErrorOf(() => parseIngestRequest({ updates: [good], extra: true })).message).toContain('extra');
    expect(validationErrorOf(() => parseIngestRequest({ updates: [] })).issues).toEqual(['updates: must hold at least one update']);
    const tooMany = Array.from({ length: MAX_UPDATES_PER_REQUEST + 1 }, () => good);
    expect(validationErrorOf(() => parseIngestRequest({ updates: tooMany })).issues[0]).toMatch(/^updates: /);
    expect(validationErrorOf(() => parseIngestRequest({})).issues[0]).toMatch(/^updates: /);
  });

  it('rejects a non-finite number (±Infinity, NaN) in the update schema itself', () => {
    for (const value of [Infinity, -Infinity, Number.NaN]) {
      const error = validationErrorOf(() => parseOrThrow(newUpdateSchema, { key: 'k', op: 'put', value }, 'update'));
      expect(error.issues[0]).toMatch(/^value: /);
    }
  });
});
