/**
 * The ingest use case over the real DynamoDB adapter, its SDK client mocked: what reaches DynamoDB
 * when transactions are cancelled, and what the producer gets back.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { AppendFailedError } from '#shared/domain/errors.ts';
import { appendUpdates, type AppendUpdatesDeps } from '#shared/usecases/append-updates.ts';
import { FakeIngestTables } from '#test/support/fake-ingest-tables.ts';
import { documentClient, noSleep } from '../adapters/support.ts';

const LOG_TABLE = 'Log';
const REQUESTS_TABLE = 'IngestRequests';
const STREAM = 'main';
const NOW = new Date('2026-11-27T10:00:00.000Z');
const ddb = mockClient(DynamoDBDocumentClient);

const UPDATES = [
  { key: 'user/1', op: 'put', value: { name: 'Ada' } },
  { key: 'user/2', op: 'delete' },
] as const;

let tables: FakeIngestTables;

/** A transaction DynamoDB cancelled for `code` on one item of `input`, as it reports it: one reason per item. */
function cancelledFor(code: string, input: TransactWriteCommandInput, itemIndex = 0): TransactionCanceledException {
  const reasons = (input.TransactItems ?? []).map((_, index) => ({ Code: index === itemIndex ? code : 'None' }));
  return new TransactionCanceledException({ message: `Transaction cancelled [${reasons.map((reason) => reason.Code).join(', ')}]`, $metadata: {}, CancellationReasons: reasons });
}

function transactions(): TransactWriteCommandInput[] {
  return ddb.commandCalls(TransactWriteCommand).map((call) => call.args[0].input);
}

/** `count` puts of distinct keys. */
function puts(count: number): { key: string; op: 'put'; value: number }[] {
  return Array.from({ length: count }, (_, index) => ({ key: `item/${index}`, op: 'put', value: index }));
}

describe('appendUpdates on DynamoDB', () => {
  let sleeps: number[];
  let deps: AppendUpdatesDeps;

  beforeEach(() => {
    ddb.reset();
    tables = new FakeIngestTables(LOG_TABLE, REQUESTS_TABLE, STREAM);
    tables.install(ddb);
    sleeps = [];
    deps = {
      stream: STREAM,
      log: new DynamoLogStore(documentClient(), LOG_TABLE, { sleep: noSleep, ingestRequestsTable: REQUESTS_TABLE }),
      now: () => NOW,
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
      random: () => 0.5,
    };
  });

  describe('throttled transactions', () => {
    it.each(['ThrottlingError', 'ProvisionedThroughputExceeded'])('retries a transaction cancelled for %s on a re-read head, after a jittered, growing wait', async (code) => {
      // Prepare: DynamoDB cancels the first two attempts, throttled on one of the puts.
      ddb
        .on(TransactWriteCommand)
        .callsFakeOnce((input: TransactWriteCommandInput) => {
          throw cancelledFor(code, input, 2);
        })
        .callsFakeOnce((input: TransactWriteCommandInput) => {
          throw cancelledFor(code, input, 1);
        })
        .callsFake((input: TransactWriteCommandInput) => tables.transact(input));

      // Act
      const result = await appendUpdates({ updates: UPDATES }, deps);

      // Assess
      expect(transactions()).toHaveLength(3);
      expect(ddb.commandCalls(GetCommand)).toHaveLength(3);
      // Full jitter: random() × 20 ms × 2^(attempt − 1).
      expect(sleeps).toEqual([10, 20]);
      expect(result).toEqual({ updates: 2, appended: 2, replayed: 0, seqRanges: [{ firstSeq: 1, lastSeq: 2 }], head: 2, transactions: 1, retries: 2 });
    });

    it('records in the chunk’s marker the retries throttling cost, so a replay of the request reports the same', async () => {
      // Prepare
      ddb
        .on(TransactWriteCommand)
        .callsFakeOnce((input: TransactWriteCommandInput) => {
          throw cancelledFor('ThrottlingError', input, 1);
        })
        .callsFake((input: TransactWriteCommandInput) => tables.transact(input));
      const first = await appendUpdates({ updates: UPDATES, idempotencyKey: 'k-1' }, deps);

      // Act
      const replay = await appendUpdates({ updates: UPDATES, idempotencyKey: 'k-1' }, deps);

      // Assess
      expect(first.retries).toBe(1);
      expect(tables.markersOf('main#k-1')).toEqual([expect.objectContaining({ chunk: 0, retries: 1 })]);
      expect(replay).toEqual({ ...first, appended: 0, replayed: 2 });
      expect(tables.committed).toHaveLength(1);
    });

    it('gives up with AppendFailedError, appending nothing, once throttling outlasts every attempt', async () => {
      // Prepare
      ddb.on(TransactWriteCommand).callsFake((input: TransactWriteCommandInput) => {
        throw cancelledFor('ThrottlingError', input);
      });

      // Act
      const append = appendUpdates({ updates: UPDATES }, { ...deps, maxAttempts: 4 });

      // Assess
      await expect(append).rejects.toThrow(AppendFailedError);
      expect(transactions()).toHaveLength(4);
      expect(sleeps).toEqual([10, 20, 40]);
      expect(tables.head).toBeUndefined();
    });
  });

  describe('what a call appended, and what it replayed', () => {
    // With a key, 250 updates go as chunks of 98, 98 and 54 (each beside the head item and its marker).
    const KEY = 'producer-7/batch-0042';

    it('counts every update of a first call as appended, none as replayed', async () => {
      // Act
      const result = await appendUpdates({ updates: puts(250), idempotencyKey: KEY }, deps);

      // Assess
      expect(result).toMatchObject({ updates: 250, appended: 250, replayed: 0 });
      expect(tables.log()).toHaveLength(250);
    });

    it('counts every update of a repeated request as replayed, none as appended, and appends nothing', async () => {
      // Prepare
      const first = await appendUpdates({ updates: puts(250), idempotencyKey: KEY }, deps);

      // Act
      const repeat = await appendUpdates({ updates: puts(250), idempotencyKey: KEY }, deps);

      // Assess
      expect(repeat).toEqual({ ...first, appended: 0, replayed: 250 });
      expect(tables.committed).toHaveLength(3);
    });

    it('counts as appended only the chunks a call resumed after a partial failure, the committed ones as replayed', async () => {
      // Prepare: the first attempt commits its first chunk of 98, then its second transaction fails.
      let count = 0;
      ddb.on(TransactWriteCommand).callsFake((input: TransactWriteCommandInput) => {
        count += 1;
        if (count === 2) throw Object.assign(new Error('We currently do not have sufficient capacity'), { name: 'InternalServerError' });
        return tables.transact(input);
      });
      await expect(appendUpdates({ updates: puts(250), idempotencyKey: KEY }, deps)).rejects.toThrow('sufficient capacity');

      // Act
      const resumed = await appendUpdates({ updates: puts(250), idempotencyKey: KEY }, deps);

      // Assess
      expect(resumed).toMatchObject({ updates: 250, appended: 152, replayed: 98, transactions: 3 });
      expect(tables.log()).toHaveLength(250);
    });

    it('counts as replayed a chunk a duplicate of the request committed first, while this call was about to', async () => {
      // Prepare: a duplicate delivery commits the first chunk's identical transaction just before ours.
      ddb
        .on(TransactWriteCommand)
        .callsFakeOnce((input: TransactWriteCommandInput) => {
          tables.transact(input);
          return tables.transact(input);
        })
        .callsFake((input: TransactWriteCommandInput) => tables.transact(input));

      // Act
      const result = await appendUpdates({ updates: puts(250), idempotencyKey: KEY }, deps);

      // Assess: our cancelled transaction sent it back to the markers, which showed the chunk committed.
      expect(ddb.commandCalls(QueryCommand)).toHaveLength(2);
      expect(result).toMatchObject({ updates: 250, appended: 152, replayed: 98 });
      expect(tables.log().map((item) => item.key)).toEqual(puts(250).map((update) => update.key));
    });
  });
});
