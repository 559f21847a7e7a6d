/**
 * A loopback HTTP proxy in front of DynamoDB Local that the handlers talk to. Asked to throttle, it
 * answers the next request — and that same request's retries, as many times as asked — itself, with
 * the error DynamoDB returns when a partition is over its throughput, without forwarding it, and
 * counts each. The handlers' SDK clients (adaptive retry mode) retry and slow down as they would in
 * AWS; a request throttled on every attempt fails the invocation, whose caller retries it.
 *
 * Why episodes and not "each request with probability P": adaptive mode cuts a client's send rate
 * to 70 % on every throttle and takes seconds to recover, so a few percent of all requests
 * throttled independently drives the clients to a crawl (measured: a one-minute run took seven).
 * Real throttling eases as clients slow down; a bounded episode per unlucky invocation is closer.
 */
import { randomUUID } from 'node:crypto';
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FaultProxy {
  /** The endpoint to give the handlers (AWS_ENDPOINT_URL_DYNAMODB). */
  readonly endpoint: string;
  /**
   * Throttles the next request that is not already being throttled, and its retries, `attempts`
   * times in all (the SDK's own attempt limit, or more, makes the call fail).
   */
  throttleNext(attempts: number): void;
  /** Requests answered with a throttling error so far. */
  throttled(): number;
  /** Requests seen so far, forwarded or not. */
  requests(): number;
  stop(): Promise<void>;
}

const THROTTLE_BODY = JSON.stringify({
  __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
  message: 'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
});

/** The SDK sends one id with every attempt of a call: retries of a throttled call are recognised by it. */
const INVOCATION_ID_HEADER = 'amz-sdk-invocation-id';

export async function startFaultProxy(options: { readonly target: string }): Promise<FaultProxy> {
  const target = new URL(options.target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  /** Episodes asked for and not yet started: attempts to throttle each. */
  const armed: number[] = [];
  /** Calls being throttled: invocation id → attempts still to throttle. */
  const throttling = new Map<string, number>();
  let throttled = 0;
  let requests = 0;

  const shouldThrottle = (incoming: IncomingMessage): boolean => {
    const header = incoming.headers[INVOCATION_ID_HEADER];
    const id = typeof header === 'string' ? header : randomUUID();
    const remaining = throttling.get(id) ?? armed.shift();
    if (remaining === undefined) return false;
    if (remaining > 1) throttling.set(id, remaining - 1);
    else throttling.delete(id);
    return true;
  };

  const throttle = (incoming: IncomingMessage, response: ServerResponse): void => {
    throttled += 1;
    // Read the request to its end so the client's connection can be reused.
    incoming.resume();
    incoming.once('end', () => {
      response.writeHead(400, {
        'content-type': 'application/x-amz-json-1.0',
        'content-length': Buffer.byteLength(THROTTLE_BODY),
        'x-amzn-errortype': 'ProvisionedThroughputExceededException',
        'x-amzn-requestid': randomUUID(),
      });
      response.end(THROTTLE_BODY);
    });
  };

  const forward = (incoming: IncomingMessage, response: ServerResponse): void => {
    const upstream = request(
      { host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers: incoming.headers, agent },
      (reply) => {
        response.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(response);
      },
    );
    upstream.once('error', (error) => {
      // DynamoDB Local went away (the run is stopping): a 5xx, which the SDK treats as transient.
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(error.message);
    });
    incoming.pipe(upstream);
  };

  const server = createServer((incoming, response) => {
    requests += 1;
    if (shouldThrottle(incoming)) throttle(incoming, response);
    else forward(incoming, response);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    throttleNext: (attempts) => {
      if (attempts > 0) armed.push(attempts);
    },
    throttled: () => throttled,
    requests: () => requests,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      agent.destroy();
    },
  };
}
