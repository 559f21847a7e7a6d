/**
 * The ingest use case over the real DynamoDB adapter, its SDK client mocked: what reaches DynamoDB
 * when transactions are cancelled, and what the producer gets back.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
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
      expect(result).toEqual({ updates: 2, seqRanges: [{ firstSeq: 1, lastSeq: 2 }], head: 2, transactions: 1, retries: 2 });
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
      expect(replay).toEqual(first);
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
});
