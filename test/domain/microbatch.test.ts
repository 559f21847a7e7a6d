/** The microbatch message: written by serializeMicrobatch, read back by parseMicrobatch (checked by hand), named by deduplicationId. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deduplicationId, MICROBATCH_V1_RETIRED, parseMicrobatch, serializeMicrobatch } from '#shared/domain/microbatch.ts';
import type { Microbatch } from '#shared/domain/types.ts';
import { validationErrorOf } from '#test/support/validation.ts';

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
    ['a plannedAt on a day its month lacks', { ...MICROBATCH, plannedAt: '2026-02-30T10:18:00Z' }, 'plannedAt'],
    ['a plannedAt without an offset', { ...MICROBATCH, plannedAt: '2026-11-27T10:18:00' }, 'plannedAt'],
    ['a count of 0', { ...MICROBATCH, index: 0, count: 0 }, 'count'],
    ['an interval written as a string', { ...MICROBATCH, interval: '29447718' }, 'interval'],
    ['an index past the safe integers', { ...MICROBATCH, index: 2 ** 53 }, 'index'],
    ['a stream name with a slash', { ...MICROBATCH, stream: 'main/2' }, 'stream'],
    ['a missing stream', { ...MICROBATCH, stream: undefined }, 'stream'],
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

  it('names every bad field at once, and the rules between fields only once each field is good', () => {
    const error = validationErrorOf(() => parseMicrobatch(JSON.stringify({ ...MICROBATCH, nodeId: 'node 17', from: -1, target: 0, plannedAt: 'soon' })));

    expect(error.issues).toEqual([
      `nodeId: must be 1–64 letters, digits or ASCII punctuation (no spaces): what SQS accepts as a message group id`,
      'from: must not be negative',
      'target: must be positive',
      'plannedAt: must be an ISO 8601 date and time with an offset, such as 2026-11-27T10:18:00Z',
    ]);
  });

  it.each([
    ['an array', '[1]', '(root): must be an object (got an array)'],
    ['null', 'null', '(root): must be an object (got null)'],
    ['a number', '7', '(root): must be an object (got number)'],
  ])('refuses a body that is %s', (_what, body, issue) => {
    expect(validationErrorOf(() => parseMicrobatch(body)).issues).toEqual([issue]);
  });

  it('keeps only the schema’s fields of a message that carries others', () => {
    expect(parseMicrobatch(JSON.stringify({ ...MICROBATCH, note: 'from a newer planner' }))).toEqual(MICROBATCH);
  });
});
