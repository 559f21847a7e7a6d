/** The pure parts of `microbatch ingest`: reading the lines, keying and cutting the requests, and `--dry-run`, which stops there. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_UPDATES_PER_REQUEST } from '#shared/domain/schemas.ts';
import type { NewUpdate } from '#shared/domain/types.ts';
import { UsageError } from '#local/errors.ts';
import { contentKey, dryRunIngest, MAX_REQUEST_PAYLOAD_BYTES, parseUpdateLines, planRequests, type IngestDryRun } from '#cli/ingest.ts';
import { microbatch } from '#test/support/microbatch-cli.ts';

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

describe('dryRunIngest', () => {
  it('counts the updates, the requests with their keys and payload bytes, and the file\'s bytes', () => {
    // Prepare: 2,001 small updates: two requests of 1,000 and one of 1.
    const text = `${Array.from({ length: 2 * MAX_UPDATES_PER_REQUEST + 1 }, (_, index) => JSON.stringify({ key: `k${index}`, op: 'put', value: index })).join('\n')}\n`;
    const requests = planRequests(parseUpdateLines(text, 'f'), contentKey(text));

    // Act
    const run = dryRunIngest('f.jsonl', Buffer.byteLength(text), requests);

    // Assess
    const stem = contentKey(text);
    expect(run).toMatchObject({ file: 'f.jsonl', dryRun: true, updates: 2001, fileBytes: Buffer.byteLength(text) });
    expect(run.requests.map((request) => [request.idempotencyKey, request.updates])).toEqual([
      [`${stem}-c0`, 1000],
      [`${stem}-c1`, 1000],
      [`${stem}-c2`, 1],
    ]);
    expect(run.requests.map((request) => request.payloadBytes)).toEqual(requests.map((request) => Buffer.byteLength(JSON.stringify(request))));
    expect(run.payloadBytes).toBe(run.requests.reduce((sum, request) => sum + request.payloadBytes, 0));
  });
});

describe('microbatch ingest --dry-run, without a deployment', () => {
  const folder = mkdtempSync(join(tmpdir(), 'ingest-dry-run-'));
  const file = (name: string, lines: readonly string[]): string => {
    const path = join(folder, name);
    writeFileSync(path, `${lines.join('\n')}\n`);
    return path;
  };

  it('checks the file and says what it would send, reading no state file and invoking nothing', async () => {
    // Prepare
    const path = file('good.jsonl', ['{"key":"a","op":"put","value":1}', '', '{"key":"a","op":"delete"}']);

    // Act
    const human = await microbatch('--state-file', '/nonexistent/state.json', 'ingest', '--dry-run', path);
    const json = await microbatch('--json', 'ingest', '--dry-run', path);

    // Assess
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout.startsWith(`${path}: 2 updates in 60 bytes, every line valid\n`)).toBe(true);
    expect(human.stdout).toMatch(/│ 1 +│ [0-9a-f]{16}-c0 +│ 2 +│ \d+ +│/);
    expect(human.stdout).toContain('would send 1 request of 2 updates to the ingest function: dry run, nothing sent, nothing appended');
    const run = JSON.parse(json.stdout) as IngestDryRun;
    expect(run).toMatchObject({ dryRun: true, updates: 2, requests: [{ updates: 2 }] });
  });

  it('exits 2 for a bad line, naming its number and reason, as ingest does', async () => {
    // Prepare
    const path = file('bad.jsonl', ['{"key":"a","op":"put","value":1}', '{"key":"b","op":"increment","value":1}']);

    // Act
    const { code, stdout, stderr } = await microbatch('ingest', '--dry-run', path);

    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/bad\.jsonl: 1 bad line, nothing was appended:\n {2}line 2: op: /);
  });
});
