/**
 * A fake AWS endpoint inside this process, for measuring what the SDK itself costs: the real clients,
 * built by shared/clients.ts as the handlers build them, get this object as their
 * `config.requestHandler` (the one piece at the end of the SDK's pipeline that would open a socket),
 * so everything before it — middleware, serialization, SigV4 signing, retries, response parsing and
 * unmarshalling, SQS's MD5 checks — runs for real and is counted. It serves DynamoDB (JSON 1.0,
 * `X-Amz-Target: DynamoDB_20120810.*`, dynamodb.ts), SQS (JSON, `AmazonSQS.SendMessageBatch`,
 * sqs.ts) and Lambda's asynchronous Invoke (REST, `POST /2015-03-31/functions/<name>/invocations`)
 * from memory, optionally after a latency per call.
 *
 * What it leaves out of the client's CPU: HTTP and TLS, which a Lambda's Node also spends per call
 * (so the figures are a floor on the SDK's cost). What it keeps out of the figure: its own work. The
 * server's part of every call — parsing the request, building the answer, MD5s — runs synchronously
 * inside `handle`, is measured there and {@link FakeAws.clientCpuUs} subtracts it (with the process's
 * CPU clock, which counts to the microsecond: the thread clock, `process.threadCpuUsage`, moves only
 * at the scheduler's ticks here, 2–4 ms, longer than most calls); large answers (Scan pages) are prepared before the timed work so there is little to
 * subtract. The wall time of a run with latency still contains the server's (small) part.
 */
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, createDynamoClient, createSqsClient } from '#shared/clients.ts';
import type { Exchange, Service } from '../request-recorder.ts';
import { FakeDynamoDb, type Answer } from './dynamodb.ts';
import { FakeSqs } from './sqs.ts';

/** The parts of the SDK's HttpRequest the endpoint reads. */
interface SdkRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

interface RawExchange {
  readonly service: Service;
  readonly operation: string;
  readonly status: number;
  readonly request: string;
  readonly response: Buffer | string;
  readonly startedAt: number;
  readonly endedAt: number;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

function text(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  return '';
}

function header(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

function processCpuUs(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** The endpoint: attach it to real clients, fill its tables and queues, read its counts. */
export class FakeAws {
  readonly dynamodb = new FakeDynamoDb();
  readonly sqs = new FakeSqs();
  /** How long every call waits before its answer (0: answered at once). */
  latencyMs: number;
  /** Calls by `Service.Operation` (`DynamoDB.Scan`, `SQS.SendMessageBatch`, `Lambda.Invoke`). */
  readonly calls = new Map<string, number>();
  /** Called with every request as it arrives, inside the server's measured time. */
  onRequest: ((operation: string, request: Readonly<Record<string, unknown>>) => void) | undefined;
  /** Keep every DynamoDB exchange, for the capacity meter (takeExchanges); SQS bills by the queue's counts (sqs.ts). */
  recording = false;
  private serverCpu = 0;
  private recorded: RawExchange[] = [];

  constructor(options: { readonly latencyMs?: number } = {}) {
    this.latencyMs = options.latencyMs ?? 0;
  }

  /** CPU this process has spent so far, all threads, less what the endpoint spent answering (µs). */
  clientCpuUs(): number {
    return processCpuUs() - this.serverCpu;
  }

  /** CPU the endpoint has spent answering so far (µs). */
  serverCpuUs(): number {
    return this.serverCpu;
  }

  /** The calls of one operation (`DynamoDB.Scan`, …) so far. */
  count(call: string): number {
    return this.calls.get(call) ?? 0;
  }

  /** Gives `client` this endpoint as its request handler; @returns the client. */
  attach<T extends { readonly config: { requestHandler: unknown } }>(client: T): T {
    client.config.requestHandler = this.requestHandler();
    return client;
  }

  /** The recorded DynamoDB exchanges since the last call, parsed; the endpoint forgets them. */
  takeExchanges(): Exchange[] {
    const raw = this.recorded;
    this.recorded = [];
    return raw.map((exchange) => ({ ...exchange, request: parse(exchange.request), response: parse(exchange.response) }));
  }

  private requestHandler(): unknown {
    return {
      handle: (request: SdkRequest) => this.handle(request),
      updateHttpClientConfig: () => undefined,
      httpHandlerConfigs: () => ({}),
      destroy: () => undefined,
    };
  }

  private async handle(request: SdkRequest): Promise<{ response: { statusCode: number; headers: Record<string, string>; body: Readable } }> {
    const cpuAtStart = processCpuUs();
    const startedAt = performance.now();
    const target = header(request.headers, 'x-amz-target') ?? '';
    const body = text(request.body);
    let service: Service | 'lambda';
    let operation: string;
    let answer: Answer;
    if (target.startsWith('DynamoDB_20120810.') || target.startsWith('AmazonSQS.')) {
      service = target.startsWith('AmazonSQS.') ? 'sqs' : 'dynamodb';
      operation = target.slice(target.indexOf('.') + 1);
      const input = parse(body);
      this.onRequest?.(operation, input);
      answer = service === 'sqs' ? this.sqs.handle(operation, input) : this.dynamodb.handle(operation, input);
    } else {
      service = 'lambda';
      operation = 'Invoke';
      const invoked = INVOKE_PATH.exec(request.path);
      const event = header(request.headers, 'x-amz-invocation-type') === 'Event';
      answer = invoked === null ? { status: 404, body: '{"message":"the fake endpoint serves Invoke only"}' } : { status: event ? 202 : 200, body: event ? '' : 'null' };
    }
    const call = `${service === 'dynamodb' ? 'DynamoDB' : service === 'sqs' ? 'SQS' : 'Lambda'}.${operation}`;
    this.calls.set(call, (this.calls.get(call) ?? 0) + 1);
    const payload = typeof answer.body === 'string' ? Buffer.from(answer.body) : answer.body;
    const response = {
      statusCode: answer.status,
      headers: { 'content-type': service === 'lambda' ? 'application/json' : 'application/x-amz-json-1.0', 'content-length': String(payload.byteLength), 'x-amzn-requestid': 'fake' },
      body: Readable.from([payload]),
    };
    if (this.recording && service === 'dynamodb') this.recorded.push({ service, operation, status: answer.status, request: body, response: payload, startedAt, endedAt: startedAt });
    this.serverCpu += processCpuUs() - cpuAtStart;
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    return { response };
  }
}

function parse(body: string | Buffer): Record<string, unknown> {
  const source = typeof body === 'string' ? body : body.toString('utf8');
  if (source === '') return {};
  const value: unknown = JSON.parse(source);
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

/** The clients the handlers build (cloud configuration: no endpoint), answered by `fake`. */
export interface FakeClients {
  readonly dynamo: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  destroy(): void;
}

export function fakeClients(fake: FakeAws): FakeClients {
  const dynamo = fake.attach(createDynamoClient());
  const doc = createDocumentClient({ client: dynamo });
  const sqs = fake.attach(createSqsClient());
  return {
    dynamo,
    doc,
    sqs,
    destroy: () => {
      doc.destroy();
      sqs.destroy();
    },
  };
}
