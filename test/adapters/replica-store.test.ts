import type { PutCommandInput } from '@aws-sdk/lib-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoReplicaStore } from '#shared/adapters/dynamodb/replica-store.ts';
import type { ReplicaItem } from '#shared/domain/types.ts';
import { conditionFailed, documentClient, inFlightCounter, throttled } from './support.ts';

const TABLE = 'Replica';
const ddbMock = mockClient(DynamoDBDocumentClient);

function puts(count: number): ReplicaItem[] {
  return Array.from({ length: count }, (_, index) => ({ key: `k${index}`, value: { index }, seq: index + 1, updatedAt: '2026-11-27T10:00:00Z' }));
}

describe('DynamoReplicaStore', () => {
  let store: DynamoReplicaStore;

  beforeEach(() => {
    ddbMock.reset();
    store = new DynamoReplicaStore(documentClient(), TABLE);
  });

  describe('write', () => {
    it('puts each value as JSON text behind a seq guard', async () => {
      // Prepare
      ddbMock.on(PutCommand).resolves({});

      // Act
      const result = await store.write('n-1', [{ key: 'a', value: { n: 1e300, s: 'ü' }, seq: 12, updatedAt: '2026-11-27T10:00:00Z' }]);

      // Assess
      expect(result).toEqual({ written: 1, skipped: 0 });
      expect(ddbMock).toHaveReceivedCommandExactlyOnceWith(PutCommand, {
        TableName: TABLE,
        Item: { nodeId: 'n-1', key: 'a', value: '{"n":1e+300,"s":"ü"}', seq: 12, updatedAt: '2026-11-27T10:00:00Z' },
        ConditionExpression: 'attribute_not_exists(#seq) OR #seq < :seq',
        ExpressionAttributeNames: { '#seq': 'seq' },
        ExpressionAttributeValues: { ':seq': 12 },
      });
    });

    it('stores a tombstone that keeps the seq of a delete', async () => {
      // Prepare
      ddbMock.on(PutCommand).resolves({});

      // Act
      await store.write('n-1', [{ key: 'a', deleted: true, seq: 13, updatedAt: '2026-11-27T10:00:01Z' }]);

      // Assess
      const input = ddbMock.commandCalls(PutCommand)[0]?.args[0].input;
      expect(input?.Item).toStrictEqual({ nodeId: 'n-1', key: 'a', deleted: true, seq: 13, updatedAt: '2026-11-27T10:00:01Z' });
      expect(input?.ConditionExpression).toBe('attribute_not_exists(#seq) OR #seq < :seq');
    });

    it('counts a failed seq guard as skipped, not as an error', async () => {
      // Prepare
      ddbMock.on(PutCommand).callsFake((input: PutCommandInput) => {
        if (input.Item?.key === 'k1' || input.Item?.key === 'k3') throw conditionFailed();
        return {};
      });

      // Act
      const result = await store.write('n-1', puts(5));

      // Assess
      expect(result).toEqual({ written: 3, skipped: 2 });
      expect(ddbMock).toHaveReceivedCommandTimes(PutCommand, 5);
    });

    it('never has more puts in flight than the concurrency bound', async () => {
      // Prepare
      store = new DynamoReplicaStore(documentClient(), TABLE, { concurrency: 3 });
      const counter = inFlightCounter();
      ddbMock.on(PutCommand).callsFake(() => counter.track(() => ({})));

      // Act
      const result = await store.write('n-1', puts(20));

      // Assess
      expect(result).toEqual({ written: 20, skipped: 0 });
      expect(counter.max).toBe(3);
    });

    it('uses 16 puts in flight by default', async () => {
      // Prepare
      const counter = inFlightCounter();
      ddbMock.on(PutCommand).callsFake(() => counter.track(() => ({})));

      // Act
      await store.write('n-1', puts(40));

      // Assess
      expect(counter.max).toBe(16);
    });

    it('rethrows another error once the puts in flight settle, starting no new ones', async () => {
      // Prepare
      store = new DynamoReplicaStore(documentClient(), TABLE, { concurrency: 2 });
      const error = throttled();
      const counter = inFlightCounter();
      ddbMock.on(PutCommand).callsFake((input: PutCommandInput) =>
        input.Item?.key === 'k0'
          ? counter.track(() => {
              throw error;
            }, 1)
          : counter.track(() => ({}), 10),
      );

      // Act
      const write = store.write('n-1', puts(10));

      // Assess
      await expect(write).rejects.toBe(error);
      expect(counter.current).toBe(0);
      expect(ddbMock).toHaveReceivedCommandTimes(PutCommand, 2);
    });

    it('makes no call for no writes', async () => {
      // Act
      const result = await store.write('n-1', []);

      // Assess
      expect(result).toEqual({ written: 0, skipped: 0 });
      expect(ddbMock).not.toHaveReceivedAnyCommand();
    });

    it('refuses a concurrency below 1', () => {
      // Act & Assess
      expect(() => new DynamoReplicaStore(documentClient(), TABLE, { concurrency: 0 })).toThrow(RangeError);
    });
  });

  describe('list', () => {
    it('pages through the node consistently and returns values, null values and tombstones', async () => {
      // Prepare
      ddbMock
        .on(QueryCommand)
        .resolvesOnce({
          Items: [{ nodeId: 'n-1', key: 'a', value: '{"x":[1,2]}', seq: 4, updatedAt: 't4' }],
          LastEvaluatedKey: { nodeId: 'n-1', key: 'a' },
        })
        .resolvesOnce({
          Items: [
            { nodeId: 'n-1', key: 'b', deleted: true, seq: 7, updatedAt: 't7' },
            { nodeId: 'n-1', key: 'c', value: 'null', seq: 9, updatedAt: 't9' },
          ],
        });

      // Act
      const items = await store.list('n-1');

      // Assess
      expect(items).toStrictEqual([
        { key: 'a', value: { x: [1, 2] }, seq: 4, updatedAt: 't4' },
        { key: 'b', deleted: true, seq: 7, updatedAt: 't7' },
        { key: 'c', value: null, seq: 9, updatedAt: 't9' },
      ]);
      expect(ddbMock).toHaveReceivedNthCommandWith(QueryCommand, 1, {
        TableName: TABLE,
        KeyConditionExpression: '#nodeId = :nodeId',
        ExpressionAttributeNames: { '#nodeId': 'nodeId' },
        ExpressionAttributeValues: { ':nodeId': 'n-1' },
        ConsistentRead: true,
      });
      expect(ddbMock).toHaveReceivedNthCommandWith(QueryCommand, 2, { ExclusiveStartKey: { nodeId: 'n-1', key: 'a' } });
    });
  });
});
