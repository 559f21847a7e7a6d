/**
 * A loopback HTTP proxy that forwards every request to DynamoDB Local (or the SQS emulator) and
 * keeps a copy of each request and its answer, so a benchmark can count what the code under test
 * asked for — its capacity units, its billable SQS requests — from the requests it really made.
 * The handlers reach it through their endpoint setting, like the fault proxy; nothing in them
 * changes. In front of DynamoDB it also asks for `ReturnConsumedCapacity: TOTAL` on every data
 * request, so DynamoDB Local's own figure can be shown beside the counted one (the clients never
 * read it; DynamoDB Local does not check request signatures).
 *
 * The server runs in a worker thread (bench/recording-proxy-server.ts) and keeps raw copies; they
 * are parsed here only when taken, after the timed work, so the proxy's CPU stays off the thread
 * that runs the handlers.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { ProxyCommand, ProxyReply, RawExchange } from './recording-proxy-server.ts';

export type Service = 'dynamodb' | 'sqs';

/** One request and its answer, oldest first by the time the answer arrived. */
export interface Exchange {
  readonly service: Service;
  /** From `X-Amz-Target` (`DynamoDB_20120810.PutItem` → `PutItem`, `AmazonSQS.SendMessageBatch` → `SendMessageBatch`). */
  readonly operation: string;
  readonly status: number;
  readonly request: Readonly<Record<string, unknown>>;
  readonly response: Readonly<Record<string, unknown>>;
  /** When the request arrived and when its answer was sent (`performance.now()` of this thread). */
  readonly startedAt: number;
  readonly endedAt: number;
}

/** The `TableName` of a single-table DynamoDB request ('' for others). */
export function tableOf(exchange: Pick<Exchange, 'request'>): string {
  const name = exchange.request.TableName;
  return typeof name === 'string' ? name : '';
}

export interface RecordingProxy {
  /** The endpoint to give the code under test. */
  readonly endpoint: string;
  /** The exchanges since the last call, parsed, oldest first; the proxy forgets them. */
  take(): Promise<Exchange[]>;
  stop(): Promise<void>;
}

function parse(body: Uint8Array): Record<string, unknown> {
  if (body.length === 0) return {};
  try {
    const value: unknown = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The next reply of `type` from the worker. */
async function reply<T extends ProxyReply['type']>(worker: Worker, type: T): Promise<Extract<ProxyReply, { type: T }>> {
  for (;;) {
    const [message] = (await once(worker, 'message')) as [ProxyReply];
    if (message.type === type) return message as Extract<ProxyReply, { type: T }>;
  }
}

export async function startRecordingProxy(options: { readonly target: string; readonly service: Service }): Promise<RecordingProxy> {
  // The worker inherits this process's loader flags (tsx's), so it runs the TypeScript module.
  const worker = new Worker(new URL('./recording-proxy-server.ts', import.meta.url), { workerData: { target: options.target, service: options.service } });
  const { port } = await reply(worker, 'ready');
  const send = (command: ProxyCommand): void => {
    worker.postMessage(command);
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    take: async () => {
      const taken = reply(worker, 'taken');
      send({ type: 'take' });
      const { exchanges } = await taken;
      return exchanges.map((exchange: RawExchange) => ({
        service: options.service,
        operation: exchange.operation,
        status: exchange.status,
        request: parse(exchange.request),
        response: parse(exchange.response),
        startedAt: exchange.startedAtEpochMs - performance.timeOrigin,
        endedAt: exchange.endedAtEpochMs - performance.timeOrigin,
      }));
    },
    stop: async () => {
      const stopped = reply(worker, 'stopped');
      send({ type: 'stop' });
      await stopped;
      await worker.terminate();
    },
  };
}
