/**
 * The real ingest handler against DynamoDB Local: requests that only fit DynamoDB when cut by size,
 * and idempotent requests retried after a partial failure or delivered twice at once. DynamoDB Local
 * enforces the 4 MiB transaction and 400 KiB item limits with AWS's size rule, so what passes here
 * passes on AWS by the same arithmetic.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { validateSettings } from '#shared/domain/config.ts';
import { logEntryBound } from '#shared/domain/ingest.ts';
import { MAX_ITEM_BYTES } from '#shared/domain/item-size.ts';
import type { LogEntry, NewUpdate } from '#shared/domain/types.ts';
import { appendUpdates, type AppendResult } from '#shared/usecases/append-updates.ts';
import { FaultPlan, InjectedCrash } from '#test/support/in-memory.ts';
import type { LambdaHost } from '#local/lambda-host.ts';
import { emulatorClients, handlerHost } from './support.ts';

const settings = validateSettings({ stream: 'main', intervalSeconds: 60, batchSize: 100 }, 'local');
const KiB = 1024;

const clients = emulatorClients();
let host: LambdaHost;
let log: DynamoLogStore;

function blobs(count: number, bytes: number, prefix: string): NewUpdate[] {
  return Array.from({ length: count }, (_, index) => ({ key: `${prefix}/${index}`, op: 'put' as const, value: `${index}:`.padEnd(bytes, 'x') }));
}

function puts(count: number, prefix: string): NewUpdate[] {
  return Array.from({ length: count }, (_, index) => ({ key: `${prefix}/${index}`, op: 'put' as const, value: { n: index } }));
}

/** The entries `result` names, as producers sent them. */
async function landed(result: AppendResult): Promise<NewUpdate[]> {
  const ranges = await Promise.all(result.seqRanges.map(({ firstSeq, lastSeq }) => log.readRange('main', firstSeq - 1, lastSeq)));
  return ranges.flat().map(({ key, op, value }: LogEntry) => ({ key, op, ...(value === undefined ? {} : { value }) }));
}

beforeAll(async () => {
  const started = await handlerHost(clients, settings, 'ingest');
  host = started.host;
  log = new DynamoLogStore(clients.doc, started.resources.tables.log, { ingestRequestsTable: started.resources.tables.ingestRequests });
});

afterAll(() => {
  clients.destroy();
});

describe('the ingest handler on DynamoDB Local', () => {
  let headBefore: number;

  beforeEach(async () => {
    headBefore = (await log.readHead('main')).head;
  });

  it('appends 13 updates of 340 KiB, which exceed 4 MiB together, in two transactions', async () => {
    // Prepare
    const updates = blobs(13, 340 * KiB, 'big');

    // Act
    const result = await host.invoke<AppendResult>('ingest', { updates });

    // Assess
    expect(result).toMatchObject({ updates: 13, transactions: 2, head: headBefore + 13 });
    expect(await landed(result)).toEqual(updates);
  });

  it('appends 99 small updates and then 51 of 100 KiB, each once and in order', async () => {
    // Prepare
    const updates = [...puts(99, 'small'), ...blobs(51, 100 * KiB, 'medium')];

    // Act
    const result = await host.invoke<AppendResult>('ingest', { updates });

    // Assess
    expect(result).toMatchObject({ updates: 150, transactions: 3, head: headBefore + 150 });
    expect(await landed(result)).toEqual(updates);
  });

  it('stores the largest update the size rule admits, and rejects one byte more before appending anything', async () => {
    // Prepare: the rule counts the widest stream, seq and time, so the stored item is a little smaller.
    const overhead = logEntryBound({ key: 'largest', op: 'put', value: '' });
    const largest: NewUpdate = { key: 'largest', op: 'put', value: 'x'.repeat(MAX_ITEM_BYTES - overhead) };
    const tooLarge: NewUpdate = { key: 'largest', op: 'put', value: 'x'.repeat(MAX_ITEM_BYTES - overhead + 1) };

    // Act
    const result = await host.invoke<AppendResult>('ingest', { updates: [largest] });
    const rejection = await host.invoke('ingest', { updates: [...puts(3, 'before-too-large'), tooLarge] }).then(
      () => undefined,
      (error: unknown) => error,
    );

    // Assess
    expect(await landed(result)).toEqual([largest]);
    expect(rejection).toMatchObject({ name: 'ValidationError', message: expect.stringContaining('updates.3: ') as unknown });
    expect((await log.readHead('main')).head).toBe(headBefore + 1);
  });

  it('resumes a retry after a partial failure: the chunks that committed are not appended again', async () => {
    // Prepare: a first attempt commits its first chunk and dies before its second transaction.
    const idempotencyKey = `partial-${randomUUID()}`;
    const updates = puts(250, 'partial');
    const faults = new FaultPlan().crash('log.append', 2, 'before');
    const firstAttempt = appendUpdates({ updates, idempotencyKey }, { stream: 'main', log: faults.wrap('log', log), now: () => new Date(), sleep: async () => {}, random: Math.random });
    await expect(firstAttempt).rejects.toBeInstanceOf(InjectedCrash);

    // Act
    const result = await host.invoke<AppendResult>('ingest', { updates, idempotencyKey });
    const again = await host.invoke<AppendResult>('ingest', { updates, idempotencyKey });

    // Assess
    expect((await log.readHead('main')).head).toBe(headBefore + 250);
    expect(result).toMatchObject({ updates: 250, appended: 152, replayed: 98, transactions: 3, head: headBefore + 250 });
    expect(await landed(result)).toEqual(updates);
    expect(again).toEqual({ ...result, appended: 0, replayed: 250 });
    expect((await log.readMarkers('main', idempotencyKey)).map((marker) => marker.chunk)).toEqual([0, 1, 2]);
  });

  it('commits each chunk once when two deliveries of one request run at once, and answers both with the same seqs, each update appended by one of them', async () => {
    // Prepare
    const idempotencyKey = `twice-${randomUUID()}`;
    const updates = puts(300, 'twice');

    // Act
    const [one, other] = await Promise.all([host.invoke<AppendResult>('ingest', { updates, idempotencyKey }), host.invoke<AppendResult>('ingest', { updates, idempotencyKey })]);

    // Assess
    expect((await log.readHead('main')).head).toBe(headBefore + 300);
    expect({ ...other, appended: 0, replayed: 0 }).toEqual({ ...one, appended: 0, replayed: 0 });
    expect(one.appended + other.appended).toBe(300);
    expect(await landed(one)).toEqual(updates);
  });

  it('rejects the same key with other updates, naming the key, and appends nothing', async () => {
    // Prepare
    const idempotencyKey = `conflict-${randomUUID()}`;
    await host.invoke('ingest', { updates: puts(2, 'conflict'), idempotencyKey });

    // Act
    const attempt = host.invoke('ingest', { updates: puts(3, 'conflict'), idempotencyKey });

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'IdempotencyConflictError', message: expect.stringContaining(`"${idempotencyKey}" was already used for other updates`) as unknown });
    expect((await log.readHead('main')).head).toBe(headBefore + 2);
  });
});
