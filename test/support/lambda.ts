/**
 * What handler tests need to call a Lambda handler the way the Lambda runtime does: the environment
 * a deployed function gets, a realistic invocation `Context`, and SQS events as the event source mapping
 * delivers them: FIFO records for the applier, standard-queue records for the shard functions.
 */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { vi } from 'vitest';

/** The tables every handler test deploys against. */
export const TABLES = {
  log: 'MicrobatchSync-LogTable-1A2B3C',
  nodes: 'MicrobatchSync-NodesTable-4D5E6F',
  replica: 'MicrobatchSync-ReplicaTable-7G8H9I',
  convergence: 'MicrobatchSync-ConvergenceTable-0J1K2L',
  ingestRequests: 'MicrobatchSync-IngestRequestsTable-3M4N5O',
  plans: 'MicrobatchSync-PlansTable-6P7Q8R',
} as const;

/** The microbatch FIFO queue. */
export const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/MicrobatchSync-Microbatches.fifo';
/** The standard queues the coordinators send shard tasks on. */
export const PLAN_TASK_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/MicrobatchSync-PlanTasks';
export const CHECK_TASK_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/MicrobatchSync-CheckTasks';

/** The environment the CDK stack gives a function, with the overrides a test needs. */
export function functionEnv(overrides: Readonly<Record<string, string | undefined>> = {}): Record<string, string | undefined> {
  return {
    DEPLOYMENT_TARGET: 'cloud',
    STREAM_NAME: 'main',
    INTERVAL_SECONDS: '60',
    BATCH_SIZE: '100',
    LOG_TABLE_NAME: TABLES.log,
    NODES_TABLE_NAME: TABLES.nodes,
    REPLICA_TABLE_NAME: TABLES.replica,
    CONVERGENCE_TABLE_NAME: TABLES.convergence,
    INGEST_REQUESTS_TABLE_NAME: TABLES.ingestRequests,
    PLANS_TABLE_NAME: TABLES.plans,
    QUEUE_URL,
    PLAN_TASK_QUEUE_URL,
    CHECK_TASK_QUEUE_URL,
    // The handlers must reach the real AWS endpoints (intercepted by the mocks), not an emulator.
    AWS_ENDPOINT_URL_DYNAMODB: undefined,
    AWS_ENDPOINT_URL_SQS: undefined,
    ...overrides,
  };
}

/**
 * Stubs the environment with `vi.stubEnv` (undefined removes a variable). Call it before importing a
 * handler: handlers read their configuration once, at module scope.
 */
export function stubEnv(env: Readonly<Record<string, string | undefined>>): void {
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
}

/**
 * A Lambda invocation context with 30 seconds left, as the Node.js runtime passes it. The deprecated
 * callbacks (`done`, `fail`, `succeed`) are left out: no handler may rely on them.
 */
export function lambdaContext(functionName = 'MicrobatchSync-Function-AbC123', requestId = 'c6af9ac6-7b61-11e6-9a41-93e812345678'): Context {
  const context: Omit<Context, 'done' | 'fail' | 'succeed'> = {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/11/27/[$LATEST]0123456789abcdef0123456789abcdef',
    getRemainingTimeInMillis: () => 30_000,
  };
  return context as Context;
}

/** One record of an SQS FIFO event, as the event source mapping delivers it. */
export function sqsRecord(options: { readonly messageId: string; readonly groupId: string; readonly body: string; readonly sequenceNumber?: string }): SQSRecord {
  const { messageId, groupId, body } = options;
  return {
    messageId,
    receiptHandle: `AQEB${messageId}receipt`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1795774680000',
      SenderId: 'AROAEXAMPLE:planner',
      ApproximateFirstReceiveTimestamp: '1795774680100',
      SequenceNumber: options.sequenceNumber ?? '18849496460467696128',
      MessageGroupId: groupId,
      MessageDeduplicationId: `${messageId}-dedup`,
    },
    messageAttributes: {},
    md5OfBody: 'e4e68fb7bd0e697a0ae8f1bb342846b3',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:MicrobatchSync-Microbatches.fifo',
    awsRegion: 'us-east-1',
  };
}

/**
 * One record of a standard SQS queue's event, as the event source mapping delivers it: no message
 * group, sequence number or deduplication id. The shard functions receive their tasks this way.
 */
export function taskRecord(options: { readonly messageId: string; readonly body: string; readonly queueUrl?: string; readonly receiveCount?: number }): SQSRecord {
  const { messageId, body } = options;
  const queueName = (options.queueUrl ?? PLAN_TASK_QUEUE_URL).split('/').at(-1) ?? '';
  return {
    messageId,
    receiptHandle: `AQEB${messageId}receipt`,
    body,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: '1795774722000',
      SenderId: 'AROAEXAMPLE:coordinator',
      ApproximateFirstReceiveTimestamp: '1795774722100',
    },
    messageAttributes: {},
    md5OfBody: 'e4e68fb7bd0e697a0ae8f1bb342846b3',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:us-east-1:123456789012:${queueName}`,
    awsRegion: 'us-east-1',
  };
}

export function sqsEvent(records: readonly SQSRecord[]): SQSEvent {
  return { Records: [...records] };
}
