/** The pure parts of `microbatch ingest`: reading the lines, keying and cutting the requests. */
import { describe, expect, it } from 'vitest';
import { MAX_UPDATES_PER_REQUEST } from '#shared/domain/schemas.ts';
import type { NewUpdate } from '#shared/domain/types.ts';
import { UsageError } from '#local/errors.ts';
import { contentKey, MAX_REQUEST_PAYLOAD_BYTES, parseUpdateLines, planRequests } from '#cli/ingest.ts';

describe('parseUpdateLines', () => {
  it('reads one update per line and skips blank lines', () => {
    expect(parseUpdateLines('{"key":"a","op":"put","value":{"n":1}}\n\n{"key":"a","op":"delete"}\n', 'f')).toEqual([
      { key: 'a', op: 'put', value: { n: 1 } },
      { key: 'a', op: 'delete' },
    ]);
  });

  it('names every bad line by number and reason, up to ten, and counts the rest', () => {
    // Prepare
    const lines = ['{"key":"ok","op":"put","value":1}', ...Array.from({ length: 12 }, () => '{"key":"","op":"put","value":1}')];

    // Act
    const attempt = (): unknown => parseUpdateLines(lines.join('\n'), 'f.jsonl');

    // Assess
    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow(/^f\.jsonl: 12 bad lines, nothing was appended:\n {2}line 2: key: must not be empty\n/);
    expect(attempt).toThrow(/line 11: key: must not be empty\n {2}… and 2 more$/);
  });

  it('refuses an update whose stored item would pass DynamoDB’s 400 KB limit, before anything is sent', () => {
    expect(() => parseUpdateLines(JSON.stringify({ key: 'big', op: 'put', value: 'x'.repeat(400 * 1024) }), 'f')).toThrow(/line 1: stored, it would take up to \d+ bytes/);
  });

  it('refuses a file without updates', () => {
    expect(() => parseUpdateLines('\n\n', 'empty.jsonl')).toThrow('empty.jsonl holds no updates');
  });
});

describe('planRequests', () => {
  const small = (count: number): NewUpdate[] => Array.from({ length: count }, (_, index) => ({ key: `k${index}`, op: 'put', value: index }));

  it('cuts by the ingest function’s count limit and keys each request by the content and its position', () => {
    // Act
    const requests = planRequests(small(2 * MAX_UPDATES_PER_REQUEST + 1), 'abcdef0123456789');

    // Assess
    expect(requests.map((request) => [request.updates.length, request.idempotencyKey])).toEqual([
      [MAX_UPDATES_PER_REQUEST, 'abcdef0123456789-c0'],
      [MAX_UPDATES_PER_REQUEST, 'abcdef0123456789-c1'],
      [1, 'abcdef0123456789-c2'],
    ]);
  });

  it('keeps each request’s JSON under Lambda’s 6 MB payload limit', () => {
    // Prepare: 45 updates of 300 KB are 13.5 MB together; 20 fit one request.
    const updates: NewUpdate[] = Array.from({ length: 45 }, (_, index) => ({ key: `big${index}`, op: 'put', value: 'y'.repeat(300_000) }));

    // Act
    const requests = planRequests(updates, 'stem');

    // Assess
    expect(requests.map((request) => request.updates.length)).toEqual([20, 20, 5]);
    for (const request of requests) expect(Buffer.byteLength(JSON.stringify(request))).toBeLessThanOrEqual(6 * 1024 * 1024);
    expect(requests.flatMap((request) => request.updates)).toEqual(updates);
    expect(MAX_REQUEST_PAYLOAD_BYTES).toBeLessThan(6 * 1024 * 1024);
  });

  it('derives the same key stem from the same content, and another from other content', () => {
    expect(contentKey('a\n')).toBe(contentKey(Buffer.from('a\n')));
    expect(contentKey('a\n')).toMatch(/^[0-9a-f]{16}$/);
    expect(contentKey('b\n')).not.toBe(contentKey('a\n'));
  });
});
