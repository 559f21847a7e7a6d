/**
 * Keeps a copy of every DynamoDB and SQS request this process's SDK clients make, and its answer,
 * so a benchmark can count what the code under test asked for — its capacity units, its billable
 * SQS requests — from the requests it really made. The handlers run in this process (the local
 * Lambda host) with their own clients, built by shared/clients.ts; every SDK client sends through
 * the SDK's Node HTTP handler, so the recorder wraps that handler's `handle` for as long as it runs,
 * and nothing in the handlers changes. To DynamoDB requests it also adds
 * `ReturnConsumedCapacity: TOTAL`, so DynamoDB Local's own figure can be shown beside the counted
 * one (the clients never read it; DynamoDB Local does not check request signatures).
 *
 * Why not a proxy in front of the emulators: it put two more loopback hops on every request, and
 * on a busy 2-core machine each hop waits for a core — the b = 1 pipeline, one request after
 * another, ran 60 % slower through it (24 s direct, 39–41 s proxied, 3,000 updates applied).
 * Copies are kept raw and parsed only when taken, after the timed work.
 */
import { Readable } from 'node:stream';
import { createDynamoClient, createSqsClient } from '#shared/clients.ts';

export type Service = 'dynamodb' | 'sqs';

/** One request and its answer, oldest first by the time the answer arrived. */
export interface Exchange {
  readonly service: Service;
  /** From `X-Amz-Target` (`DynamoDB_20120810.PutItem` → `PutItem`, `AmazonSQS.SendMessageBatch` → `SendMessageBatch`). */
  readonly operation: string;
  readonly status: number;
  readonly request: Readonly<Record<string, unknown>>;
  readonly response: Readonly<Record<string, unknown>>;
  /** When the request left and when its answer had arrived whole (`performance.now()`). */
  readonly startedAt: number;
  readonly endedAt: number;
}

/** The `TableName` of a single-table DynamoDB request ('' for others). */
export function tableOf(exchange: Pick<Exchange, 'request'>): string {
  const name = exchange.request.TableName;
  return typeof name === 'string' ? name : '';
}

export interface RequestRecorder {
  /** The exchanges since the last call (or the start), parsed, oldest first; the recorder forgets them. */
  take(): Exchange[];
  /** Puts the SDK's handler back. */
  stop(): void;
}

/** DynamoDB operations that accept `ReturnConsumedCapacity`. */
const REPORTS_CAPACITY = new Set(['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'Scan', 'BatchGetItem', 'BatchWriteItem', 'TransactGetItems', 'TransactWriteItems']);

/** The parts of the SDK's HttpRequest and HttpResponse the recorder reads and replaces. */
interface SdkRequest {
  headers: Record<string, string>;
  body?: unknown;
}
interface SdkResponse {
  readonly statusCode: number;
  body: unknown;
}
type Handle = (this: unknown, request: SdkRequest, options?: unknown) => Promise<{ response: SdkResponse }>;

interface RawExchange {
  readonly service: Service;
  readonly operation: string;
  readonly status: number;
  readonly request: string;
  readonly response: Buffer;
  readonly startedAt: number;
  readonly endedAt: number;
}

function text(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  return '';
}

/** `{"ReturnConsumedCapacity":"TOTAL", …}`: a splice at the front of a JSON object, not a re-serialization. */
function askForCapacity(body: string): string {
  if (!body.startsWith('{') || body.includes('"ReturnConsumedCapacity"')) return body;
  return body === '{}' ? '{"ReturnConsumedCapacity":"TOTAL"}' : `{"ReturnConsumedCapacity":"TOTAL",${body.slice(1)}`;
}

async function readAll(body: unknown): Promise<Buffer> {
  if (!(body instanceof Readable)) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

function parse(body: string | Buffer): Record<string, unknown> {
  const source = typeof body === 'string' ? body : body.toString('utf8');
  if (source === '') return {};
  try {
    const value: unknown = JSON.parse(source);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The prototypes of the HTTP handlers the SDK clients of this process use (one class, normally). */
function handlerPrototypes(): Set<{ handle: Handle }> {
  const probes = [createDynamoClient({ endpoint: 'http://127.0.0.1:1' }), createSqsClient({ endpoint: 'http://127.0.0.1:1' })];
  const prototypes = new Set(probes.map((client) => Object.getPrototypeOf(client.config.requestHandler) as { handle: Handle }));
  for (const client of probes) client.destroy();
  return prototypes;
}

/** Starts recording every DynamoDB and SQS request of this process's SDK clients. */
export function startRequestRecorder(): RequestRecorder {
  let recorded: RawExchange[] = [];
  const restore: (() => void)[] = [];
  for (const prototype of handlerPrototypes()) {
    const original = prototype.handle;
    prototype.handle = async function recordingHandle(this: unknown, request: SdkRequest, options?: unknown) {
      const target = request.headers['x-amz-target'] ?? '';
      const service: Service | undefined = target.startsWith('DynamoDB') ? 'dynamodb' : target.startsWith('AmazonSQS') ? 'sqs' : undefined;
      if (service === undefined) return original.call(this, request, options);
      const operation = target.split('.').at(-1) ?? '';
      let body = text(request.body);
      if (service === 'dynamodb' && REPORTS_CAPACITY.has(operation)) {
        body = askForCapacity(body);
        request.body = body;
        request.headers['content-length'] = String(Buffer.byteLength(body));
      }
      const startedAt = performance.now();
      const result = await original.call(this, request, options);
      const answer = await readAll(result.response.body);
      result.response.body = Readable.from([answer]);
      recorded.push({ service, operation, status: result.response.statusCode, request: body, response: answer, startedAt, endedAt: performance.now() });
      return result;
    };
    restore.push(() => {
      prototype.handle = original;
    });
  }
  return {
    take: () => {
      const raw = recorded;
      recorded = [];
      return raw.map((exchange) => ({ ...exchange, request: parse(exchange.request), response: parse(exchange.response) }));
    },
    stop: () => {
      for (const undo of restore) undo();
    },
  };
}
