/**
 * The fault proxy in front of a stand-in service: the throttling answers the SDK must recognise as
 * throttles, for DynamoDB and SQS, and the chance mode the retry-mode benchmark drives.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '#local/fault-proxy.ts';
import { seededRandom } from '#local/random.ts';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

/** A service that answers every request with `body`. */
async function standIn(body: object): Promise<string> {
  const server: Server = createServer((request, response) => {
    request.resume();
    request.once('end', () => {
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stops.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function proxyFor(service: 'dynamodb' | 'sqs', body: object): Promise<FaultProxy> {
  const proxy = await startFaultProxy({ target: await standIn(body), service });
  stops.push(() => proxy.stop());
  return proxy;
}

function sqs(endpoint: string, maxAttempts: number): SQSClient {
  return new SQSClient({ endpoint, region: 'us-east-1', credentials, useQueueUrlAsEndpoint: false, retryMode: 'standard', maxAttempts });
}

describe('startFaultProxy', () => {
  it('throttles an SQS call with a ThrottlingException that the SDK retries as a throttle', async () => {
    // Prepare
    const proxy = await proxyFor('sqs', { QueueUrl: 'http://127.0.0.1/000000000000/q' });
    proxy.throttleNext(1);

    // Act
    const output = await sqs(proxy.endpoint, 3).send(new GetQueueUrlCommand({ QueueName: 'q' }));

    // Assess
    expect(output.QueueUrl).toBe('http://127.0.0.1/000000000000/q');
    expect(output.$metadata.attempts).toBe(2);
    expect(proxy.throttled()).toBe(1);
  });

  it('fails an SQS call throttled on every attempt with ThrottlingException', async () => {
    // Prepare
    const proxy = await proxyFor('sqs', { QueueUrl: 'unused' });
    proxy.throttleNext(2);

    // Act
    const error = await sqs(proxy.endpoint, 2)
      .send(new GetQueueUrlCommand({ QueueName: 'q' }))
      .catch((failure: unknown) => failure);

    // Assess
    expect(error).toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400, attempts: 2 } });
  });

  it('still answers DynamoDB clients with ProvisionedThroughputExceededException', async () => {
    // Prepare
    const proxy = await proxyFor('dynamodb', {});
    proxy.throttleNext(1);
    const dynamo = new DynamoDBClient({ endpoint: proxy.endpoint, region: 'us-east-1', credentials, retryMode: 'standard', maxAttempts: 1 });

    // Act
    const error = await dynamo.send(new GetItemCommand({ TableName: 't', Key: { id: { S: 'a' } } })).catch((failure: unknown) => failure);

    // Assess
    expect(error).toMatchObject({ name: 'ProvisionedThroughputExceededException' });
  });

  it('throttles each request with the chance it is given, and none once the chance is 0', async () => {
    // Prepare
    const proxy = await proxyFor('sqs', { QueueUrl: 'q' });
    const client = sqs(proxy.endpoint, 1);
    const call = (): Promise<boolean> =>
      client.send(new GetQueueUrlCommand({ QueueName: 'q' })).then(
        () => true,
        () => false,
      );

    // Act
    proxy.throttleWithChance(1, seededRandom(1));
    const always = await Promise.all([call(), call(), call()]);
    proxy.throttleWithChance(0.5, seededRandom(7));
    const half = await Promise.all(Array.from({ length: 40 }, call));
    proxy.throttleWithChance(0, seededRandom(1));
    const never = await Promise.all([call(), call(), call()]);

    // Assess
    expect(always).toEqual([false, false, false]);
    expect(half.filter((ok) => !ok).length).toBeGreaterThan(8);
    expect(half.filter(Boolean).length).toBeGreaterThan(8);
    expect(never).toEqual([true, true, true]);
  });
});
