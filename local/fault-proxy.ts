/**
 * A loopback HTTP proxy in front of DynamoDB Local (or the SQS emulator) that the handlers talk to.
 * Asked to throttle, it answers the next request — and that same request's retries, as many times as
 * asked — itself, with the error the service returns when it throttles (DynamoDB's
 * ProvisionedThroughputExceededException, SQS's ThrottlingException), without forwarding it, and
 * counts each. The handlers' SDK clients retry and back off as they would in AWS; a request
 * throttled on every attempt fails the invocation, whose caller retries it. Given a throttle chance,
 * it also throttles any request no episode covers with that probability (the retry-mode benchmark).
 *
 * Why the simulation uses episodes and not "each request with probability P": adaptive retry mode
 * (which the clients used until bench/retry-mode.ts measured it) cuts a client's send rate to 70 %
 * on every throttle and takes seconds to recover, so a few percent of all requests throttled
 * independently drove the clients to a crawl (measured: a one-minute run took seven). Real
 * throttling eases as clients slow down; a bounded episode per unlucky invocation is closer.
 */
import { randomUUID } from 'node:crypto';
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Random } from './random.ts';

/** The service behind the proxy: it decides the shape of a throttling answer. */
export type ThrottledService = 'dynamodb' | 'sqs';

export interface FaultProxy {
  /** The endpoint to give the handlers (AWS_ENDPOINT_URL_DYNAMODB). */
  readonly endpoint: string;
  /**
   * Throttles the next request that is not already being throttled, and its retries, `attempts`
   * times in all (the SDK's own attempt limit, or more, makes the call fail).
   */
  throttleNext(attempts: number): void;
  /**
   * From now on, throttles each request that no episode covers with probability `probability`
   * (0 turns it off), drawing from `random` so that a seed repeats the same decisions.
   */
  throttleWithChance(probability: number, random: Random): void;
  /** Requests answered with a throttling error so far. */
  throttled(): number;
  /** Requests seen so far, forwarded or not. */
  requests(): number;
  stop(): Promise<void>;
}

/** The answers DynamoDB and SQS (JSON protocol) give a throttled request: HTTP 400 and an error type the SDK classes as throttling. */
const THROTTLE_ANSWERS: Readonly<Record<ThrottledService, { readonly type: string; readonly contentType: string; readonly body: string }>> = {
  dynamodb: {
    type: 'ProvisionedThroughputExceededException',
    contentType: 'application/x-amz-json-1.0',
    body: JSON.stringify({
      __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
      message: 'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
    }),
  },
  sqs: {
    type: 'ThrottlingException',
    contentType: 'application/x-amz-json-1.0',
    body: JSON.stringify({ __type: 'com.amazonaws.sqs#ThrottlingException', message: 'Rate exceeded' }),
  },
};

/** The SDK sends one id with every attempt of a call: retries of a throttled call are recognised by it. */
const INVOCATION_ID_HEADER = 'amz-sdk-invocation-id';

export async function startFaultProxy(options: { readonly target: string; readonly service?: ThrottledService }): Promise<FaultProxy> {
  const target = new URL(options.target);
  const answer = THROTTLE_ANSWERS[options.service ?? 'dynamodb'];
  let chance: { readonly probability: number; readonly random: Random } | undefined;
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
    if (remaining === undefined) return chance !== undefined && chance.random() < chance.probability;
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
        'content-type': answer.contentType,
        'content-length': Buffer.byteLength(answer.body),
        'x-amzn-errortype': answer.type,
        'x-amzn-requestid': randomUUID(),
      });
      response.end(answer.body);
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
    throttleWithChance: (probability, random) => {
      chance = probability > 0 ? { probability, random } : undefined;
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
