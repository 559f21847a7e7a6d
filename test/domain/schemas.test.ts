import { describe, expect, it } from 'vitest';
import {
  MAX_KEY_BYTES,
  MAX_UPDATES_PER_REQUEST,
  newUpdateSchema,
  parseIngestRequest,
  parseOrThrow,
} from '#shared/domain/schemas.ts';
import { validationErrorOf } from '#test/support/validation.ts';

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
