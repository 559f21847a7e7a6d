/**
 * The AWS SDK clients, created once per container at module scope by the handlers (STYLE §5). They
 * take their endpoint from the caller and never read the environment: config is read in one place.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** What the handlers pass when they build a client. */
export interface ClientOptions {
  /** An explicit endpoint, for the local emulators; omitted in the cloud. */
  readonly endpoint?: string;
}

/** Adaptive mode also paces a client that keeps being throttled, instead of only retrying it. */
const RETRY = { retryMode: 'adaptive', maxAttempts: 5 } as const;

/** The low-level client, for callers that need one; the adapters take its document client. */
export function createDynamoClient(options: ClientOptions = {}): DynamoDBClient {
  return new DynamoDBClient({ ...RETRY, ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }) });
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
    ...RETRY,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint, useQueueUrlAsEndpoint: false }),
  });
}
