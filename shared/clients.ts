/**
 * The AWS SDK clients, created once per container at module scope by the handlers (STYLE §5). They
 * take their endpoint from the caller and never read the environment: config is read in one place.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** The SDK's retry modes: both retry throttles with jittered backoff; adaptive also rate-limits the client after one. */
export type RetryMode = 'standard' | 'adaptive';

/** What the handlers pass when they build a client. */
export interface ClientOptions {
  /** An explicit endpoint, for the local emulators; omitted in the cloud. */
  readonly endpoint?: string;
  /** Connections (so requests in flight) the client keeps open at most. @default DEFAULT_MAX_SOCKETS */
  readonly maxSockets?: number;
  /** Overrides the client's measured retry mode: only the retry-mode benchmark (bench/) passes it. */
  readonly retryMode?: RetryMode;
}

/** Attempts per call, the first included, in either mode. */
export const MAX_ATTEMPTS = 5;

/**
 * Standard retry mode for both clients, measured with `npm run bench:retry` (bench/retry-mode.ts: DynamoDB
 * Local and the SQS emulator behind the fault proxy, maxAttempts 5, SDK 3.1169/3.1175, Node 24).
 * Adaptive mode rate-limits a client after a throttle, starting from the send rate it has measured;
 * a Lambda client that has sent a handful of requests has measured almost none, so one throttle
 * drops it to 0.5 requests/s and it takes seconds to climb back. Adaptive ÷ standard, wall time:
 *
 *   1 throttle, then 40 sequential calls         DynamoDB ×4.8  (5.52 s vs 1.15 s)   SQS ×9.2 (4.74 s vs 0.51 s)
 *   10 concurrent calls throttled, then 40 calls DynamoDB ×6.0  (6.83 s vs 1.15 s)   SQS ×6.5 (6.63 s vs 1.02 s)
 *   20 calls/s for 10 s, 5 % of requests throttled: p50 DynamoDB 1,311 ms vs 4.3 ms, SQS 69 ms vs 2.3 ms;
 *   p99 10.1 s vs 0.46 s and 5.4 s vs 0.39 s
 *
 * and no call failed in either mode. What adaptive would add — fewer exhausted retries under
 * throttling that persists while the client keeps its rate — the standard mode's retry quota already
 * bounds (500 tokens, 5 per throttled retry: a client stops retrying after ~100 unanswered retries
 * until successes refill it), and a failed call is retried above the SDK anyway: a microbatch is
 * redelivered, a tick re-plans every node, an ingest request is retried by its producer.
 */
const DYNAMO_RETRY_MODE: RetryMode = 'standard';
const SQS_RETRY_MODE: RetryMode = 'standard';

function retry(options: ClientOptions, measured: RetryMode): { retryMode: RetryMode; maxAttempts: number } {
  return { retryMode: options.retryMode ?? measured, maxAttempts: MAX_ATTEMPTS };
}

/**
 * Sockets per client. The SDK's Node handler (@smithy/node-http-handler 4.14) opens at most 50 per
 * client and queues the rest; with ≥ 50 busy and ≥ 100 queued for 3 s it logs "socket usage at
 * capacity". The planner must claim ~100,000 nodes (one conditional UpdateItem each) and send
 * ~26,000 SendMessageBatch calls within half a 60 s interval: at 10 ms a call that is 33 DynamoDB
 * and 9 SQS requests in flight on average, 67 and 17 at 20 ms, and bursts above that — so 64–128
 * per client. 128 covers it with room for slow calls; two clients' 256 sockets stay far below
 * Lambda's 1,024 file descriptors, and an idle keep-alive socket costs a few KB.
 */
export const DEFAULT_MAX_SOCKETS = 128;

/**
 * The Node HTTP handler's constructor options (the SDK builds its NodeHttpHandler from them):
 * keep-alive connections, at most `maxSockets` of them, for https (AWS) and http (the emulators).
 */
function requestHandler(options: ClientOptions): { httpAgent: { keepAlive: true; maxSockets: number }; httpsAgent: { keepAlive: true; maxSockets: number } } {
  const agent = { keepAlive: true, maxSockets: options.maxSockets ?? DEFAULT_MAX_SOCKETS } as const;
  return { httpAgent: agent, httpsAgent: agent };
}

/** The low-level client, for callers that need one; the adapters take its document client. */
export function createDynamoClient(options: ClientOptions = {}): DynamoDBClient {
  return new DynamoDBClient({
    ...retry(options, DYNAMO_RETRY_MODE),
    requestHandler: requestHandler(options),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
  });
}

/**
 * A document client whose writes drop undefined attributes rather than failing on them. Pass an
 * existing low-level client to share its connections.
 */
export function createDocumentClient(options: ClientOptions & { readonly client?: DynamoDBClient } = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(options.client ?? createDynamoClient(options), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

/**
 * An SQS client. With an explicit endpoint it also stops sending requests to the host of the queue
 * URL: local SQS emulators hand out queue URLs whose host does not resolve.
 */
export function createSqsClient(options: ClientOptions = {}): SQSClient {
  return new SQSClient({
    ...retry(options, SQS_RETRY_MODE),
    requestHandler: requestHandler(options),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint, useQueueUrlAsEndpoint: false }),
  });
}
