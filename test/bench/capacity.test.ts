/**
 * The capacity meter behind every write-unit figure of `npm run bench`: item sizes by DynamoDB's
 * rule, units per started KB, transactions doubled, failed conditional writes still billed, updates
 * billed on the larger of before and after, reads per started 4 KB.
 */
import { describe, expect, it } from 'vitest';
import { itemBytes, numberBytes, plainItemBytes, significantDigits, toWireItem, type WireItem } from '#bench/capacity/attribute-size.ts';
import { CapacityMeter, readUnits, writeUnits, type DynamoExchange } from '#bench/capacity/meter.ts';
import { applyUpdateExpression, UnsupportedExpressionError } from '#bench/capacity/update-expression.ts';
import { itemBytes as flatItemBytes } from '#shared/domain/item-size.ts';

const TABLE = 'bench-1234-ReplicaTable';
const keys = (table: string): readonly string[] | undefined => (table === TABLE ? ['nodeId', 'key'] : undefined);

/** A replica item whose whole size is exactly `bytes`. */
function itemOf(bytes: number, key = 'k'): WireItem {
  const base: WireItem = { nodeId: { S: 'n' }, key: { S: key }, value: { S: '' } };
  return { ...base, value: { S: 'x'.repeat(bytes - itemBytes(base)) } };
}

const ok = (operation: string, request: Record<string, unknown>, response: Record<string, unknown> = {}): DynamoExchange => ({ operation, request, status: 200, response });
const conditionFailed = (operation: string, request: Record<string, unknown>): DynamoExchange => ({
  operation,
  request,
  status: 400,
  response: { __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException' },
});

describe('item sizes', () => {
  it('counts names and UTF-8 strings, numbers by their significant digits, Booleans and nulls as one byte', () => {
    expect(itemBytes({ name: { S: 'Ada' } })).toBe(4 + 3);
    expect(itemBytes({ é: { S: 'ü' } })).toBe(2 + 2);
    expect(itemBytes({ n: { N: '12345' } })).toBe(1 + 1 + 3);
    expect(itemBytes({ ok: { BOOL: true }, none: { NULL: true } })).toBe(2 + 1 + 4 + 1);
    expect(itemBytes({ b: { B: Buffer.from('abcd').toString('base64') } })).toBe(1 + 4);
  });

  it('trims leading and trailing zeros from a number', () => {
    expect(significantDigits('-0012.3400')).toBe(4);
    expect(significantDigits('1000')).toBe(1);
    expect(significantDigits('1e+21')).toBe(1);
    expect(numberBytes('0')).toBe(1);
    expect(numberBytes('123456')).toBe(4);
  });

  it('gives lists and maps 3 bytes of their own and each element 1', () => {
    expect(itemBytes({ l: { L: [] } })).toBe(1 + 3);
    expect(itemBytes({ l: { L: [{ S: 'ab' }, { N: '7' }] } })).toBe(1 + 3 + (1 + 2) + (1 + 2));
    expect(itemBytes({ m: { M: { a: { S: 'xy' } } } })).toBe(1 + 3 + (1 + 1 + 2));
  });

  it('sizes a flat item without its wire form exactly as it sizes the wire form', () => {
    const flat = { nodeId: 'node-000042', rate: 2.5, status: 'active', appliedSeq: 9_999_900, appliedChain: 'c'.repeat(64), ok: true, note: 'ü' };
    expect(plainItemBytes(flat)).toBe(itemBytes(toWireItem(flat)));
    expect(() => plainItemBytes({ list: [1] })).toThrow(TypeError);
  });

  it('agrees with the ingest rule on flat items whose numbers have no zeros to trim', () => {
    const flat = { stream: 'main', seq: 123_457, key: 'user:1', op: 'put', value: '{"name":"Ada"}', producedAt: '2026-11-27T10:00:00.000Z' };
    expect(itemBytes(toWireItem(flat))).toBe(flatItemBytes(flat));
  });
});

describe('units', () => {
  it('bills a write one unit per started KB, at least one', () => {
    expect([0, 1, 1024, 1025, 2048, 2049].map(writeUnits)).toEqual([1, 1, 1, 2, 2, 3]);
  });

  it('bills a read one unit per started 4 KB, half when eventually consistent', () => {
    expect(readUnits(4096, true)).toBe(1);
    expect(readUnits(4097, true)).toBe(2);
    expect(readUnits(4097, false)).toBe(1);
    expect(readUnits(0, false)).toBe(0.5);
  });
});

describe('CapacityMeter', () => {
  it('bills a put by the item it writes, per started KB', () => {
    const meter = new CapacityMeter(keys);
    expect(meter.record(ok('PutItem', { TableName: TABLE, Item: itemOf(1024, 'a') })).write).toBe(1);
    expect(meter.record(ok('PutItem', { TableName: TABLE, Item: itemOf(1025, 'b') })).write).toBe(2);
  });

  it('bills an overwrite by the larger of the old and the new item', () => {
    const meter = new CapacityMeter(keys);
    meter.record(ok('PutItem', { TableName: TABLE, Item: itemOf(2500) }));
    expect(meter.record(ok('PutItem', { TableName: TABLE, Item: itemOf(100) })).write).toBe(3);
    expect(meter.record(ok('PutItem', { TableName: TABLE, Item: itemOf(100) })).write).toBe(1);
  });

  it('still bills a write whose condition failed: the existing item, or one unit when there is none', () => {
    const meter = new CapacityMeter(keys);
    const guarded = (item: WireItem): Record<string, unknown> => ({ TableName: TABLE, Item: item, ConditionExpression: 'attribute_not_exists(#seq)' });
    const refused = meter.record(conditionFailed('PutItem', guarded(itemOf(3000, 'new'))));
    expect(refused).toMatchObject({ write: 1, conditionFailed: true });
    meter.record(ok('PutItem', guarded(itemOf(2500, 'old'))));
    expect(meter.record(conditionFailed('PutItem', guarded(itemOf(100, 'old')))).write).toBe(3);
  });

  it('doubles every action of a transaction, and reports what DynamoDB Local said beside it', () => {
    const meter = new CapacityMeter(keys);
    const charge = meter.record(
      ok(
        'TransactWriteItems',
        { TransactItems: [{ Put: { TableName: TABLE, Item: itemOf(500, 'a') } }, { Put: { TableName: TABLE, Item: itemOf(1500, 'b') } }] },
        { ConsumedCapacity: [{ TableName: TABLE, CapacityUnits: 2 }] },
      ),
    );
    expect(charge.write).toBe(2 * 1 + 2 * 2);
    expect(charge.reported.write).toBe(2);
  });

  it('bills a cancelled transaction as every action failing its condition, doubled', () => {
    const meter = new CapacityMeter(keys);
    meter.record(ok('PutItem', { TableName: TABLE, Item: itemOf(2000, 'a') }));
    const cancelled: DynamoExchange = {
      operation: 'TransactWriteItems',
      request: { TransactItems: [{ Put: { TableName: TABLE, Item: itemOf(100, 'a') } }, { Put: { TableName: TABLE, Item: itemOf(100, 'b') } }] },
      status: 400,
      response: { __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException' },
    };
    expect(meter.record(cancelled).write).toBe(2 * 2 + 2 * 1);
  });

  it('bills an update by the larger of the item before and after it', () => {
    const meter = new CapacityMeter(keys);
    meter.record(ok('PutItem', { TableName: TABLE, Item: itemOf(900) }));
    const grow = {
      TableName: TABLE,
      Key: { nodeId: { S: 'n' }, key: { S: 'k' } },
      UpdateExpression: 'SET #extra = :extra',
      ExpressionAttributeNames: { '#extra': 'extra' },
      ExpressionAttributeValues: { ':extra': { S: 'y'.repeat(300) } },
    };
    expect(meter.record(ok('UpdateItem', grow)).write).toBe(2);
    const shrink = { TableName: TABLE, Key: grow.Key, UpdateExpression: 'REMOVE #extra, #value', ExpressionAttributeNames: { '#extra': 'extra', '#value': 'value' } };
    expect(meter.record(ok('UpdateItem', shrink)).write).toBe(2);
    expect(meter.record(ok('UpdateItem', { ...grow, UpdateExpression: 'SET #extra = :extra', ExpressionAttributeValues: { ':extra': { S: 'z' } } })).write).toBe(1);
  });

  it('charges nothing for a throttled request', () => {
    const meter = new CapacityMeter(keys);
    const throttled: DynamoExchange = { operation: 'PutItem', request: { TableName: TABLE, Item: itemOf(100) }, status: 400, response: { __type: 'ProvisionedThroughputExceededException' } };
    expect(meter.record(throttled)).toMatchObject({ write: 0, read: 0 });
  });

  it('adds up a query before rounding, and bills a projected read on the whole item it has seen', () => {
    const meter = new CapacityMeter(keys);
    const items = [itemOf(3000, 'a'), itemOf(3000, 'b')];
    for (const item of items) meter.record(ok('PutItem', { TableName: TABLE, Item: item }));
    expect(meter.record(ok('Query', { TableName: TABLE, ConsistentRead: true }, { Items: items })).read).toBe(2);
    expect(meter.record(ok('Query', { TableName: TABLE }, { Items: items })).read).toBe(1);
    meter.record(ok('PutItem', { TableName: TABLE, Item: itemOf(5000, 'big') }));
    const projected = { nodeId: { S: 'n' }, key: { S: 'big' } };
    expect(meter.record(ok('GetItem', { TableName: TABLE, Key: projected, ProjectionExpression: '#k', ConsistentRead: true }, { Item: projected })).read).toBe(2);
    expect(meter.record(ok('GetItem', { TableName: TABLE, Key: { nodeId: { S: 'n' }, key: { S: 'missing' } } }, {})).read).toBe(0.5);
  });

  it('rounds each item of a BatchGetItem on its own', () => {
    const meter = new CapacityMeter(keys);
    const items = [itemOf(100, 'a'), itemOf(100, 'b'), itemOf(100, 'c')];
    const request = { RequestItems: { [TABLE]: { Keys: items.map((item) => ({ nodeId: item.nodeId, key: item.key })), ConsistentRead: true } } };
    expect(meter.record(ok('BatchGetItem', request, { Responses: { [TABLE]: items } })).read).toBe(3);
  });
});

describe('applyUpdateExpression', () => {
  const names = { '#v': 'version', '#n': 'count', '#a': 'a', '#b': 'b' };
  it('evaluates SET with if_not_exists and arithmetic, ADD and REMOVE against the item before the update', () => {
    const before: WireItem = { id: { S: 'x' }, count: { N: '2' }, b: { S: 'gone' } };
    const after = applyUpdateExpression(before, 'SET #v = if_not_exists(#v, :zero) + :one, #a = :a ADD #n :n REMOVE #b', {
      names,
      values: { ':zero': { N: '0' }, ':one': { N: '1' }, ':a': { S: 'set' }, ':n': { N: '5' } },
    });
    expect(after).toEqual({ id: { S: 'x' }, version: { N: '1' }, a: { S: 'set' }, count: { N: '7' } });
  });

  it('refuses an expression it cannot bill rightly', () => {
    expect(() => applyUpdateExpression({}, 'SET #a.inner = :a', { names, values: { ':a': { S: 'x' } } })).toThrow(UnsupportedExpressionError);
    expect(() => applyUpdateExpression({}, 'SET #a = size(#b)', { names, values: {} })).toThrow(UnsupportedExpressionError);
  });
});
