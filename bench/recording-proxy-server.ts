/**
 * The recording proxy's server, in a worker thread of its own (bench/recording-proxy.ts starts it):
 * forwarding and copying every request costs CPU, and on the main thread it would compete with
 * the handlers it measures, which in AWS run in processes of their own. It keeps raw copies and
 * hands them over when asked; the main thread parses them after the timed work.
 */
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

/** What the main thread sends the worker. */
export type ProxyCommand = { readonly type: 'take' } | { readonly type: 'stop' };

/** What the worker sends back. */
export type ProxyReply =
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'taken'; readonly exchanges: readonly RawExchange[] }
  | { readonly type: 'stopped' };

/** One exchange as copied: times on the epoch clock (a worker's performance clock has its own origin). */
export interface RawExchange {
  readonly startedAtEpochMs: number;
  readonly endedAtEpochMs: number;
  readonly operation: string;
  readonly status: number;
  readonly request: Uint8Array;
  readonly response: Uint8Array;
}

/** DynamoDB operations that accept `ReturnConsumedCapacity`. */
const REPORTS_CAPACITY = new Set([
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'Query',
  'Scan',
  'BatchGetItem',
  'BatchWriteItem',
  'TransactGetItems',
  'TransactWriteItems',
]);

function operationOf(incoming: IncomingMessage): string {
  const target = incoming.headers['x-amz-target'];
  const text = Array.isArray(target) ? (target[0] ?? '') : (target ?? '');
  return text.split('.').at(-1) ?? '';
}

/** Adds `"ReturnConsumedCapacity":"TOTAL"` at the front of a JSON object body (a splice, not a re-serialization). */
function askForCapacity(body: Buffer): Buffer {
  const text = body.toString('utf8');
  if (!text.startsWith('{') || text.includes('"ReturnConsumedCapacity"')) return body;
  return Buffer.from(text === '{}' ? '{"ReturnConsumedCapacity":"TOTAL"}' : `{"ReturnConsumedCapacity":"TOTAL",${text.slice(1)}`, 'utf8');
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

const { target: targetText, service } = workerData as { readonly target: string; readonly service: 'dynamodb' | 'sqs' };
const target = new URL(targetText);
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
let recorded: RawExchange[] = [];

async function handle(incoming: IncomingMessage, response: ServerResponse): Promise<void> {
  const startedAtEpochMs = now();
  const operation = operationOf(incoming);
  const received = await readAll(incoming);
  const body = service === 'dynamodb' && REPORTS_CAPACITY.has(operation) ? askForCapacity(received) : received;
  const headers = { ...incoming.headers, 'content-length': String(body.length) };
  delete headers['transfer-encoding'];
  const upstream = request({ host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers, agent });
  upstream.once('response', (reply) => {
    void readAll(reply).then((answer) => {
      recorded.push({ startedAtEpochMs, endedAtEpochMs: now(), operation, status: reply.statusCode ?? 0, request: body, response: answer });
      const replyHeaders = { ...reply.headers, 'content-length': String(answer.length) };
      delete replyHeaders['transfer-encoding'];
      response.writeHead(reply.statusCode ?? 502, replyHeaders);
      response.end(answer);
    });
  });
  upstream.once('error', (error) => {
    if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
    response.end(error.message);
  });
  upstream.end(body);
}

const server = createServer((incoming, response) => {
  void handle(incoming, response);
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  parentPort?.postMessage({ type: 'ready', port: (server.address() as AddressInfo).port } satisfies ProxyReply);
});
parentPort?.on('message', (command: ProxyCommand) => {
  if (command.type === 'take') {
    const exchanges = recorded;
    recorded = [];
    parentPort?.postMessage({ type: 'taken', exchanges } satisfies ProxyReply);
    return;
  }
  server.closeAllConnections();
  server.close(() => {
    agent.destroy();
    parentPort?.postMessage({ type: 'stopped' } satisfies ProxyReply);
  });
});
