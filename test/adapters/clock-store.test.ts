import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoClockStore } from '#shared/adapters/dynamodb/clock-store.ts';
import { MalformedItemError } from '#shared/adapters/errors.ts';
import type { IntervalClock } from '#shared/domain/interval-clock.ts';
import { conditionFailed, documentClient, throttled } from './support.ts';

const TABLE = 'Convergence';
const ddbMock = mockClient(DynamoDBDocumentClient);

const clock: IntervalClock = {
  epochs: [
    { firstInterval: 0, startsAt: 0, intervalSeconds: 60 },
    { firstInterval: 29_940_000, startsAt: 1_796_400_000, intervalSeconds: 240 },
  ],
};

describe('DynamoClockStore', () => {
  let store: DynamoClockStore;

  beforeEach(() => {
    ddbMock.reset();
    store = new DynamoClockStore(documentClient(), TABLE);
  });

  it('reads the clock from the stream’s clock partition, consistently', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({ Item: { stream: 'main#clock', interval: 0, epochs: clock.epochs, version: 3 } });

    // Act
    const stored = await store.readClock('main');

    // Assess
    expect(ddbMock).toHaveReceivedCommandWith(GetCommand, { TableName: TABLE, Key: { stream: 'main#clock', interval: 0 }, ConsistentRead: true });
    expect(stored).toEqual({ clock, version: 3 });
  });

  it('reads a stream that has no clock as none', async () => {
    ddbMock.on(GetCommand).resolves({});
    expect(await store.readClock('main')).toBeUndefined();
  });

  it.each([
    ['no epoch', { epochs: [], version: 1 }, /epochs/],
    ['an epoch without its t', { epochs: [{ firstInterval: 0, startsAt: 0 }], version: 1 }, /intervalSeconds/],
    ['no version', { epochs: clock.epochs }, /version/],
  ])('fails loudly, naming the attribute, on a clock item with %s', async (_what, item, named) => {
    ddbMock.on(GetCommand).resolves({ Item: { stream: 'main#clock', interval: 0, ...item } });
    const reading = store.readClock('main');
    await expect(reading).rejects.toBeInstanceOf(MalformedItemError);
    await expect(reading).rejects.toThrow(named);
  });

  it('founds the clock only where none is stored, at version 1', async () => {
    // Prepare
    ddbMock.on(PutCommand).resolves({});

    // Act
    const written = await store.writeClock('main', clock, undefined);

    // Assess
    expect(written).toBe(true);
    expect(ddbMock).toHaveReceivedCommandWith(PutCommand, {
      TableName: TABLE,
      Item: { stream: 'main#clock', interval: 0, epochs: clock.epochs, version: 1 },
      ConditionExpression: 'attribute_not_exists(#version)',
      ExpressionAttributeNames: { '#version': 'version' },
    });
  });

  it('replaces the clock only at the version it was read at, and says when another run got there first', async () => {
    // Prepare
    ddbMock.on(PutCommand).rejects(conditionFailed());

    // Act
    const written = await store.writeClock('main', clock, 4);

    // Assess
    expect(written).toBe(false);
    expect(ddbMock).toHaveReceivedCommandWith(PutCommand, {
      Item: { stream: 'main#clock', interval: 0, epochs: clock.epochs, version: 5 },
      ConditionExpression: '#version = :expected',
      ExpressionAttributeValues: { ':expected': 4 },
    });
  });

  it('lets any other error through', async () => {
    ddbMock.on(PutCommand).rejects(throttled());
    await expect(store.writeClock('main', clock, 1)).rejects.toThrow('Rate of requests exceeds');
  });
});
