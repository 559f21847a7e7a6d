import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdempotencyConflictError, ValidationError } from '#shared/domain/errors.ts';
import { liveMarkers, logEntryBound, planChunks, requestFingerprint, type Chunk, type ChunkMarker } from '#shared/domain/ingest.ts';
import { itemBytes, logEntryItem, MAX_ITEM_BYTES, MAX_TRANSACTION_ACTIONS, MAX_TRANSACTION_BYTES } from '#shared/domain/item-size.ts';
import type { NewUpdate } from '#shared/domain/types.ts';

const KiB = 1024;
const UNMARKED = { marked: false } as const;
const MARKED = { marked: true } as const;

function blobs(count: number, bytes: number, prefix = 'blob'): NewUpdate[] {
  return Array.from({ length: count }, (_, index) => ({ key: `${prefix}/${index}`, op: 'put' as const, value: 'x'.repeat(bytes) }));
}

function small(count: number): NewUpdate[] {
  return Array.from({ length: count }, (_, index) => ({ key: `key-${index}`, op: 'put' as const, value: { n: index } }));
}

function lengths(chunks: readonly Chunk[]): number[] {
  return chunks.map(({ start, end }) => end - start);
}

describe('itemBytes', () => {
  it('counts attribute names and UTF-8 string values byte for byte', () => {
    expect(itemBytes({ key: 'ü', op: 'put' })).toBe(3 + 2 + 2 + 3);
  });

  it('counts a number as one byte per two digits plus one', () => {
    expect(itemBytes({ seq: 7 })).toBe(3 + 2);
    expect(itemBytes({ seq: 1234 })).toBe(3 + 3);
    expect(itemBytes({ seq: Number.MAX_SAFE_INTEGER })).toBe(3 + 9);
  });

  it('sizes a Log entry with its value as JSON text, as the adapter stores it', () => {
    const entry = { seq: 42, key: 'k', op: 'put' as const, value: { a: [1, 'é'] }, chain: 'c'.repeat(64), producedAt: '2026-11-27T10:00:00.000Z' };

    expect(logEntryItem('main', entry)).toMatchObject({ value: '{"a":[1,"é"]}' });
    expect(itemBytes(logEntryItem('main', entry))).toBe(6 + 4 + 3 + 2 + 3 + 1 + 2 + 3 + 5 + 14 + 5 + 64 + 10 + 24);
  });
});

describe('logEntryBound', () => {
  it('is at least the stored size of the update at any seq, in any stream, at any time', () => {
    fc.assert(
      fc.property(
        fc.record({ key: fc.string({ minLength: 1, maxLength: 40 }), value: fc.jsonValue({ maxDepth: 2 }) }),
        fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/),
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        fc.date({ noInvalidDate: true }),
        ({ key, value }, stream, seq, at) => {
          const update: NewUpdate = { key, op: 'put', value: JSON.parse(JSON.stringify(value)) as NewUpdate['value'] };
          const stored = logEntryItem(stream, { ...update, seq: seq + 1, chain: 'f'.repeat(64), producedAt: at.toISOString() });

          expect(itemBytes(stored)).toBeLessThanOrEqual(logEntryBound(update));
        },
      ),
    );
  });
});

describe('planChunks', () => {
  it('cuts small updates by count: 99 a transaction beside the head item', () => {
    expect(lengths(planChunks(small(250), UNMARKED))).toEqual([99, 99, 52]);
  });

  it('cuts 13 updates of 340 KiB into 12 and 1, because 13 exceed 4 MiB', () => {
    expect(planChunks(blobs(13, 340 * KiB), UNMARKED)).toEqual([
      { start: 0, end: 12 },
      { start: 12, end: 13 },
    ]);
  });

  it('leaves room for a marker in every chunk of a request with an idempotency key', () => {
    expect(lengths(planChunks(small(250), MARKED))).toEqual([98, 98, 54]);
    expect(lengths(planChunks(blobs(13, 340 * KiB), MARKED))).toEqual([12, 1]);
  });

  it('cuts 99 small updates and 51 of 100 KiB by count first, then by size', () => {
    const chunks = planChunks([...small(99), ...blobs(51, 100 * KiB)], UNMARKED);

    expect(lengths(chunks)).toEqual([99, 40, 11]);
  });

  it('keeps every chunk within 100 actions and 4 MiB, in order and without gaps, whatever the mix', () => {
    const updateArb = fc.oneof(
      { arbitrary: fc.nat({ max: 30 }).map((n): NewUpdate => ({ key: `k${n}`, op: 'delete' })), weight: 3 },
      { arbitrary: fc.integer({ min: 1, max: 390 * KiB }).map((bytes): NewUpdate => ({ key: 'big', op: 'put', value: 'z'.repeat(bytes) })), weight: 1 },
    );
    fc.assert(
      fc.property(fc.array(updateArb, { minLength: 1, maxLength: 300 }), fc.boolean(), (updates, marked) => {
        const chunks = planChunks(updates, { marked });

        expect(chunks.map(({ start }) => start)).toEqual([0, ...chunks.slice(0, -1).map(({ end }) => end)]);
        expect(chunks.at(-1)?.end).toBe(updates.length);
        for (const { start, end } of chunks) {
          const bytes = updates.slice(start, end).reduce((sum, update) => sum + logEntryBound(update), 0);
          expect(end - start).toBeGreaterThan(0);
          expect(end - start + 1 + (marked ? 1 : 0)).toBeLessThanOrEqual(MAX_TRANSACTION_ACTIONS);
          expect(bytes).toBeLessThan(MAX_TRANSACTION_BYTES);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('accepts the largest update whose item fits DynamoDB’s item limit at its widest', () => {
    const overhead = logEntryBound({ key: 'k', op: 'put', value: '' });
    const largest: NewUpdate = { key: 'k', op: 'put', value: 'x'.repeat(MAX_ITEM_BYTES - overhead) };

    expect(logEntryBound(largest)).toBe(MAX_ITEM_BYTES);
    expect(planChunks([largest], MARKED)).toEqual([{ start: 0, end: 1 }]);
  });

  it('rejects a request whole, naming the index of every update that could never be stored', () => {
    const overhead = logEntryBound({ key: 'k', op: 'put', value: '' });
    const updates = [...small(3), { key: 'k', op: 'put' as const, value: 'x'.repeat(MAX_ITEM_BYTES - overhead + 1) }, ...small(1), ...blobs(1, 401 * KiB)];

    const plan = (): Chunk[] => planChunks(updates, MARKED);

    expect(plan).toThrow(ValidationError);
    expect(plan).toThrow(/^invalid ingest request: updates\.3: .*item limit of 409600; updates\.5: /);
  });
});

describe('requestFingerprint', () => {
  it('is the same for the same updates however their members are ordered, and differs for any other', () => {
    const updates: NewUpdate[] = [{ key: 'a', op: 'put', value: { x: 1, y: [2] } }, { key: 'b', op: 'delete' }];
    const reordered = JSON.parse('[{"value":{"y":[2],"x":1},"op":"put","key":"a"},{"op":"delete","key":"b"}]') as NewUpdate[];

    expect(requestFingerprint(reordered)).toBe(requestFingerprint(updates));
    expect(requestFingerprint(updates)).toMatch(/^[0-9a-f]{64}$/);
    expect(requestFingerprint([...updates].reverse())).not.toBe(requestFingerprint(updates));
    expect(requestFingerprint([updates[0] as NewUpdate])).not.toBe(requestFingerprint(updates));
  });
});

describe('liveMarkers', () => {
  const updates = small(200);
  const chunks = planChunks(updates, MARKED);
  const request = { idempotencyKey: 'batch-7', fingerprint: requestFingerprint(updates), chunks };
  const now = new Date('2026-11-27T10:00:00.000Z');
  const nowSeconds = now.getTime() / 1000;

  function marker(chunk: number, overrides: Partial<ChunkMarker> = {}): ChunkMarker {
    const { start, end } = chunks[chunk] ?? { start: 0, end: 1 };
    return {
      stream: 'main',
      idempotencyKey: 'batch-7',
      chunk,
      chunks: chunks.length,
      firstSeq: 100 + start,
      lastSeq: 100 + end - 1,
      fingerprint: request.fingerprint,
      retries: 0,
      committedAt: now.toISOString(),
      expiresAt: nowSeconds + 60,
      ...overrides,
    };
  }

  it('returns the markers of this request by chunk', () => {
    const markers = [marker(0), marker(1)];

    expect(liveMarkers(markers, request, now)).toEqual(new Map([[0, markers[0]], [1, markers[1]]]));
  });

  it('ignores markers that have expired, even before DynamoDB’s TTL deletes them', () => {
    expect(liveMarkers([marker(0, { expiresAt: nowSeconds })], request, now).size).toBe(0);
  });

  it('refuses a key whose markers hold other updates', () => {
    const read = (): unknown => liveMarkers([marker(0, { fingerprint: 'f'.repeat(64) })], request, now);

    expect(read).toThrow(IdempotencyConflictError);
    expect(read).toThrow('idempotency key "batch-7" was already used for other updates');
  });

  it.each([
    ['another chunk count', { chunks: 5 }],
    ['a chunk of another length', { lastSeq: 150 }],
    ['a chunk this cut does not have', { chunk: 9 }],
  ])('refuses to resume markers of the same updates cut differently: %s', (_what, overrides) => {
    expect(() => liveMarkers([marker(0, overrides)], request, now)).toThrow(/cannot resume safely/);
  });
});
