import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createDocumentClient, createDynamoClient, createSqsClient, DEFAULT_MAX_SOCKETS } from '#shared/clients.ts';

describe('createDocumentClient', () => {
  it('retries in standard mode (measured: adaptive turned one throttle into seconds of pacing) up to 5 attempts, and drops undefined attributes', async () => {
    // Act
    const doc = createDocumentClient();

    // Assess
    expect(doc.config.retryMode).toBe('standard');
    await expect(doc.config.maxAttempts()).resolves.toBe(5);
    expect(doc.config.translateConfig?.marshallOptions?.removeUndefinedValues).toBe(true);
    expect(doc.config.endpoint).toBeUndefined();
  });

  it('takes another retry mode only when asked (the benchmark compares both)', () => {
    // Act
    const dynamo = createDynamoClient({ retryMode: 'adaptive' });
    const sqs = createSqsClient({ retryMode: 'adaptive' });

    // Assess
    expect([dynamo.config.retryMode, sqs.config.retryMode]).toEqual(['adaptive', 'adaptive']);
  });

  it('talks to the endpoint it is given', async () => {
    // Act
    const doc = createDocumentClient({ endpoint: 'http://127.0.0.1:8000' });

    // Assess
    await expect(doc.config.endpoint?.()).resolves.toMatchObject({ hostname: '127.0.0.1', port: 8000, protocol: 'http:' });
  });
});

describe('createSqsClient', () => {
  it('retries in standard mode up to 5 attempts and sends to the queue URL’s host in the cloud', async () => {
    // Act
    const sqs = createSqsClient();

    // Assess
    expect(sqs.config.retryMode).toBe('standard');
    await expect(sqs.config.maxAttempts()).resolves.toBe(5);
    expect(sqs.config.endpoint).toBeUndefined();
    expect(sqs.config.useQueueUrlAsEndpoint).toBe(true);
  });

  it('sends everything to an explicit endpoint, whatever host the queue URL names', async () => {
    // Act
    const sqs = createSqsClient({ endpoint: 'http://127.0.0.1:9324' });

    // Assess
    expect(sqs.config.useQueueUrlAsEndpoint).toBe(false);
    await expect(sqs.config.endpoint?.()).resolves.toMatchObject({ hostname: '127.0.0.1', port: 9324 });
  });
});

/** A loopback server that holds every request unanswered, so each one keeps its socket busy. */
interface HoldingServer {
  readonly endpoint: string;
  /** Requests received (and held) so far. */
  readonly held: IncomingMessage[];
  /** TCP connections opened to it so far. */
  connections(): number;
  close(): Promise<void>;
}

let server: HoldingServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function holdingServer(): Promise<HoldingServer> {
  const held: IncomingMessage[] = [];
  let connections = 0;
  const http: Server = createServer((request) => {
    held.push(request);
  });
  http.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    held,
    connections: () => connections,
    close: async () => {
      http.closeAllConnections();
      await new Promise<void>((resolve) => {
        http.close(() => {
          resolve();
        });
      });
    },
  };
}

/** Sends `count` requests at once and waits until the server holds as many as it will get. */
async function saturate(send: (signal: AbortSignal) => Promise<unknown>, count: number, holding: HoldingServer): Promise<number> {
  const abort = new AbortController();
  const sends = Array.from({ length: count }, () => send(abort.signal).catch(() => undefined));
  // Wait for the first request, then until the number held stops growing.
  for (let waited = 0; holding.held.length === 0 && waited < 5_000; waited += 20) await delay(20);
  let seen = -1;
  while (seen !== holding.held.length) {
    seen = holding.held.length;
    await delay(150);
  }
  abort.abort();
  await Promise.all(sends);
  return seen;
}

describe('the socket pool', () => {
  it(`keeps up to ${DEFAULT_MAX_SOCKETS} DynamoDB requests in flight by default, on keep-alive connections`, async () => {
    // Prepare
    server = await holdingServer();
    const dynamo = createDynamoClient({ endpoint: server.endpoint });
    const holding = server;

    // Act
    const inFlight = await saturate(
      (abortSignal) => dynamo.send(new GetItemCommand({ TableName: 't', Key: { id: { S: 'a' } } }), { abortSignal }),
      DEFAULT_MAX_SOCKETS + 40,
      holding,
    );

    // Assess: more than the SDK's default of 50, and no more than the pool.
    expect(DEFAULT_MAX_SOCKETS).toBeGreaterThanOrEqual(128);
    expect(inFlight).toBe(DEFAULT_MAX_SOCKETS);
    expect(holding.connections()).toBe(DEFAULT_MAX_SOCKETS);
    expect(holding.held.every((request) => request.headers.connection === 'keep-alive')).toBe(true);
    dynamo.destroy();
  });

  it(`keeps up to ${DEFAULT_MAX_SOCKETS} SQS requests in flight by default`, async () => {
    // Prepare
    server = await holdingServer();
    const sqs = createSqsClient({ endpoint: server.endpoint });
    const holding = server;

    // Act
    const inFlight = await saturate((abortSignal) => sqs.send(new GetQueueUrlCommand({ QueueName: 'q' }), { abortSignal }), DEFAULT_MAX_SOCKETS + 40, holding);

    // Assess
    expect(inFlight).toBe(DEFAULT_MAX_SOCKETS);
    sqs.destroy();
  });

  it('takes the pool size as an option, shared by a document client and the client beneath it', async () => {
    // Prepare
    server = await holdingServer();
    const doc = createDocumentClient({ endpoint: server.endpoint, maxSockets: 8 });
    const holding = server;

    // Act
    const inFlight = await saturate((abortSignal) => doc.send(new GetItemCommand({ TableName: 't', Key: { id: { S: 'a' } } }), { abortSignal }), 20, holding);

    // Assess
    expect(inFlight).toBe(8);
    doc.destroy();
  });
});
