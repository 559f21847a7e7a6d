/**
 * The fake AWS endpoint the planner and checker benchmarks run the real SDK clients against: it must
 * answer as AWS answers, or the SDK throws (SQS's MD5 checks) or the adapters read wrong items.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { BatchGetCommand, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeAws, fakeClients, type FakeClients } from '#bench/fake-aws/endpoint.ts';
import { PAGE_BYTES, segmentOf } from '#bench/fake-aws/dynamodb.ts';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { DynamoPlanLedger } from '#shared/adapters/dynamodb/plan-ledger.ts';
import { NO_PLAN_TOTALS } from '#shared/domain/types.ts';

const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/tokens.fifo';
let clients: FakeClients | undefined;

function setUp(latencyMs = 0): { fake: FakeAws; clients: FakeClients } {
  const fake = new FakeAws({ latencyMs });
  fake.dynamodb.createTable('Nodes', { partition: 'nodeId' });
  fake.dynamodb.createTable('Plans', { partition: 'segment', sort: 'interval' });
  fake.sqs.createQueue(QUEUE, { keep: true });
  clients = fakeClients(fake);
  return { fake, clients };
}

afterEach(() => {
  clients?.destroy();
  clients = undefined;
});

describe('the fake DynamoDB', () => {
  it('stores a PutItem and answers GetItem, UpdateItem with ALL_NEW and BatchGetItem with a projection', async () => {
    const { fake, clients } = setUp();
    await clients.doc.send(new PutCommand({ TableName: 'Nodes', Item: { nodeId: 'n-1', rate: 2, tags: new Set([1]) } }));
    expect((await clients.doc.send(new GetCommand({ TableName: 'Nodes', Key: { nodeId: 'n-1' } }))).Item).toEqual({ nodeId: 'n-1', rate: 2, tags: new Set([1]) });
    const { Attributes } = await clients.doc.send(
      new UpdateCommand({
        TableName: 'Nodes',
        Key: { nodeId: 'n-1' },
        UpdateExpression: 'SET #rate = :rate ADD #tags :tag',
        ExpressionAttributeNames: { '#rate': 'rate', '#tags': 'tags' },
        ExpressionAttributeValues: { ':rate': 3, ':tag': new Set([2]) },
        ReturnValues: 'ALL_NEW',
      }),
    );
    expect(Attributes).toEqual({ nodeId: 'n-1', rate: 3, tags: new Set([1, 2]) });
    const { Responses } = await clients.doc.send(
      new BatchGetCommand({ RequestItems: { Nodes: { Keys: [{ nodeId: 'n-1' }, { nodeId: 'absent' }], ProjectionExpression: '#rate', ExpressionAttributeNames: { '#rate': 'rate' } } } }),
    );
    expect(Responses).toEqual({ Nodes: [{ rate: 3 }] });
    expect(fake.count('DynamoDB.PutItem')).toBe(1);
    expect(fake.count('DynamoDB.BatchGetItem')).toBe(1);
  });

  it('answers a Query by its key condition, newest first with a limit, as the plan ledger reads it', async () => {
    const { clients } = setUp();
    const ledger = new DynamoPlanLedger(clients.doc, 'Plans');
    const entries = [{ nodeId: 'n-1', plannedSeq: 5, progressSeq: 3, progressInterval: 9 }];
    for (const interval of [8, 9, 11]) {
      await ledger.commit({ stream: 'main', segments: 4, segment: 1, interval, plannedAt: '2026-11-27T10:18:00.000Z', entries, totals: { ...NO_PLAN_TOTALS, activeNodes: interval } }, 2_000_000_000);
    }
    const latest = await ledger.latest('main', 4, 1, 10);
    expect(latest?.interval).toBe(9);
    expect(latest?.entries).toEqual(entries);
    expect(latest?.totals.activeNodes).toBe(9);
    const { Items, LastEvaluatedKey } = await clients.doc.send(
      new QueryCommand({ TableName: 'Plans', KeyConditionExpression: '#s = :s AND #i BETWEEN :a AND :b', ExpressionAttributeNames: { '#s': 'segment', '#i': 'interval' }, ExpressionAttributeValues: { ':s': 'main#4#1', ':a': 9, ':b': 11 }, Limit: 1 }),
    );
    expect(Items?.map((item) => Number(item.interval))).toEqual([9]);
    expect(LastEvaluatedKey).toEqual({ segment: 'main#4#1', interval: 9 });
  });

  it('serves a Scan segment in 1 MB pages, prepared or not, through the node repository', async () => {
    const { fake, clients } = setUp();
    const item = (index: number): Record<string, { S: string } | { N: string }> => ({
      nodeId: { S: `node-${String(index).padStart(6, '0')}` },
      rate: { N: '2' },
      status: { S: 'active' },
      appliedSeq: { N: '7' },
      appliedChain: { S: 'a'.repeat(64) },
      plannedSeq: { N: '7' },
      padding: { S: 'x'.repeat(1_000) },
    });
    const items = Array.from({ length: 2_400 }, (_, index) => item(index));
    for (const wire of items) fake.dynamodb.put('Nodes', wire);
    const inSegment = items.filter((wire) => segmentOf(wire.nodeId && 'S' in wire.nodeId ? wire.nodeId.S : '', 2) === 1);
    const repository = new DynamoNodeRepository(clients.doc, 'Nodes');
    const read = async (): Promise<number[]> => {
      const sizes: number[] = [];
      for await (const page of repository.scanSegment(1, 2, { includePaused: true })) sizes.push(page.nodes.length);
      return sizes;
    };
    const unprepared = await read();
    expect(unprepared.reduce((sum, size) => sum + size, 0)).toBe(inSegment.length);
    expect(Math.max(...unprepared)).toBeLessThanOrEqual(Math.floor(PAGE_BYTES / 1_100));
    expect(unprepared.length).toBeGreaterThan(1);

    expect(fake.dynamodb.prepareScan('Nodes', 2, 1, inSegment)).toBe(unprepared.length);
    expect(await read()).toEqual(unprepared);
    const { Items } = await clients.doc.send(new ScanCommand({ TableName: 'Nodes', Segment: 1, TotalSegments: 2 }));
    expect(Items?.[0]?.appliedSeq).toBe(7);
  });

  it('turns an unknown table into the error DynamoDB gives', async () => {
    const { clients } = setUp();
    await expect(clients.doc.send(new GetCommand({ TableName: 'Missing', Key: { nodeId: 'n' } }))).rejects.toThrow(/not found/);
  });
});

describe('the fake SQS', () => {
  it('accepts a SendMessageBatch with the MD5 of every body, so the SDK checks pass, and counts what SQS bills', async () => {
    const { fake, clients } = setUp();
    const entries = Array.from({ length: 10 }, (_, index) => ({ Id: String(index), MessageBody: `{"index":${index}}`, MessageGroupId: 'n-1', MessageDeduplicationId: `d-${index}` }));
    const { Successful, Failed } = await clients.sqs.send(new SendMessageBatchCommand({ QueueUrl: QUEUE, Entries: entries }));
    expect(Successful?.map((entry) => entry.Id)).toEqual(entries.map((entry) => entry.Id));
    expect(Successful?.every((entry) => entry.SequenceNumber !== undefined)).toBe(true);
    expect(Failed).toEqual([]);
    expect(fake.sqs.take(QUEUE)).toEqual(entries.map((entry) => entry.MessageBody));
    expect(fake.sqs.stats(QUEUE)).toMatchObject({ calls: 1, messages: 10, billableRequests: 1 });
  });

  it('is refused by the SDK when an MD5 is wrong: the check it stands in for is real', async () => {
    const { fake, clients } = setUp();
    const handle = fake.sqs.handle.bind(fake.sqs);
    fake.sqs.handle = (operation, request) => {
      const answer = handle(operation, request);
      return { ...answer, body: String(answer.body).replace(/"MD5OfMessageBody":"[0-9a-f]+"/, '"MD5OfMessageBody":"00000000000000000000000000000000"') };
    };
    await expect(clients.sqs.send(new SendMessageBatchCommand({ QueueUrl: QUEUE, Entries: [{ Id: '0', MessageBody: 'x', MessageGroupId: 'g', MessageDeduplicationId: 'd' }] }))).rejects.toThrow(/MD5/);
  });
});

describe('the fake endpoint', () => {
  it("answers Lambda's asynchronous Invoke with 202", async () => {
    const fake = new FakeAws();
    const lambda = fake.attach(new LambdaClient({}));
    const { StatusCode } = await lambda.send(new InvokeCommand({ FunctionName: 'shard', InvocationType: 'Event', Payload: Buffer.from('{}') }));
    expect(StatusCode).toBe(202);
    expect(fake.count('Lambda.Invoke')).toBe(1);
    lambda.destroy();
  });

  it("keeps its own CPU apart from the client's, and waits its latency before answering", async () => {
    const { fake, clients } = setUp(20);
    const clientBefore = fake.clientCpuUs();
    const started = performance.now();
    await clients.doc.send(new GetCommand({ TableName: 'Nodes', Key: { nodeId: 'n-1' } }));
    expect(performance.now() - started).toBeGreaterThanOrEqual(19);
    expect(fake.serverCpuUs()).toBeGreaterThan(0);
    expect(fake.clientCpuUs() - clientBefore).toBeGreaterThan(0);
  });

  it('records exchanges for the capacity meter when asked', async () => {
    const { fake, clients } = setUp();
    fake.recording = true;
    await clients.doc.send(new PutCommand({ TableName: 'Nodes', Item: { nodeId: 'n-2' } }));
    expect(fake.takeExchanges()).toMatchObject([{ service: 'dynamodb', operation: 'PutItem', status: 200, request: { TableName: 'Nodes', Item: { nodeId: { S: 'n-2' } } } }]);
    expect(fake.takeExchanges()).toEqual([]);
  });
});
