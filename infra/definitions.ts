/**
 * The resources of one deployment as pure data: the single source of truth for the tables' keys,
 * the queues' settings and the functions' timeouts and memory. The CDK constructs build the AWS
 * resources from it; the local runtime creates the same tables and queues in DynamoDB Local and
 * the SQS emulator from it, and its Lambda host gives each handler the same timeout and memory
 * (DESIGN §3, §9). Nothing here may import aws-cdk-lib or an AWS SDK: the local runtime must be
 * able to load it without either.
 */
import type { Resource } from '#shared/config.ts';

/** A DynamoDB scalar attribute type, as the DynamoDB API spells it. */
export type AttributeType = 'S' | 'N' | 'B';

/** One key attribute of a table. */
export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}

/** A table's keys and the settings that are the same wherever it runs. */
export interface TableDefinition {
  /** The construct id, and the CloudFormation logical id kept fixed so that no refactor replaces the table. */
  readonly logicalId: string;
  /** The function setting (and, through RESOURCE_ENV, the environment variable) that carries its name. */
  readonly resource: Extract<Resource, `${string}Table`>;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** The attribute holding an epoch-seconds expiry, when the table's items expire. */
  readonly timeToLiveAttribute?: string;
  /** Point-in-time recovery: on for data that cannot be rebuilt from another table. */
  readonly pointInTimeRecovery: boolean;
  readonly description: string;
}

/** The tables of one deployment (every table is on-demand: no capacity to plan, nothing billed at rest but storage). */
export const TABLES = {
  log: {
    logicalId: 'LogTable',
    resource: 'logTable',
    partitionKey: { name: 'stream', type: 'S' },
    sortKey: { name: 'seq', type: 'N' },
    pointInTimeRecovery: true,
    description: 'The ordered log: seq 0 is the head item, seq ≥ 1 the hash-chained updates',
  },
  nodes: {
    logicalId: 'NodesTable',
    resource: 'nodesTable',
    partitionKey: { name: 'nodeId', type: 'S' },
    pointInTimeRecovery: true,
    description: "Each node's rate, status, applied cursor and plan",
  },
  replica: {
    logicalId: 'ReplicaTable',
    resource: 'replicaTable',
    partitionKey: { name: 'nodeId', type: 'S' },
    sortKey: { name: 'key', type: 'S' },
    pointInTimeRecovery: true,
    description: "The nodes' data items, each with the seq of the update that wrote it",
  },
  convergence: {
    logicalId: 'ConvergenceTable',
    resource: 'convergenceTable',
    partitionKey: { name: 'stream', type: 'S' },
    sortKey: { name: 'interval', type: 'N' },
    timeToLiveAttribute: 'expiresAt',
    // Derived, expiring records: the checker rebuilds any open interval's verdict from Log and Nodes.
    pointInTimeRecovery: false,
    description: "Per interval: the planner's plan header and the checker's verdict",
  },
  ingestRequests: {
    logicalId: 'IngestRequestsTable',
    resource: 'ingestRequestsTable',
    // requestId = `<stream>#<idempotencyKey>`: one partition per request, one item per committed chunk.
    partitionKey: { name: 'requestId', type: 'S' },
    sortKey: { name: 'chunk', type: 'N' },
    timeToLiveAttribute: 'expiresAt',
    // Short-lived markers that only guard producer retries; the log itself is the data.
    pointInTimeRecovery: false,
    description: 'One marker per committed chunk of an ingest request with an idempotency key',
  },
  plans: {
    logicalId: 'PlansTable',
    resource: 'plansTable',
    // segment = `<stream>#<segments>#<segment>`: one partition per parallel-Scan segment, one item per interval.
    partitionKey: { name: 'segment', type: 'S' },
    sortKey: { name: 'interval', type: 'N' },
    timeToLiveAttribute: 'expiresAt',
    // Each record supersedes the one before; losing them costs one interval planned from the Nodes
    // items' plan fields (segment-plan.ts), not data.
    pointInTimeRecovery: false,
    description: "Per segment and interval: every node's plan (plannedSeq and stall clock), one item instead of a claim per node",
  },
} as const satisfies Record<string, TableDefinition>;

export type TableName = keyof typeof TABLES;

/** The DynamoDB CreateTable input for a definition (structurally the SDK's `CreateTableCommandInput`). */
export function createTableInput(definition: TableDefinition, tableName: string): {
  TableName: string;
  BillingMode: 'PAY_PER_REQUEST';
  KeySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
  AttributeDefinitions: { AttributeName: string; AttributeType: AttributeType }[];
} {
  const keys = [definition.partitionKey, ...(definition.sortKey === undefined ? [] : [definition.sortKey])];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: keys.map((key, index) => ({ AttributeName: key.name, KeyType: index === 0 ? 'HASH' : 'RANGE' })),
    AttributeDefinitions: keys.map((key) => ({ AttributeName: key.name, AttributeType: key.type })),
  };
}

/** A queue's settings that are the same wherever it runs. */
export interface QueueDefinition {
  /** The construct id, and the CloudFormation logical id kept fixed (a replaced queue loses its messages). */
  readonly logicalId: string;
  readonly fifo: boolean;
  /** FIFO high throughput: deduplicate per message group and allow the per-group throughput limit. */
  readonly deduplicationScope?: 'messageGroup' | 'queue';
  readonly fifoThroughputLimit?: 'perMessageGroupId' | 'perQueue';
  /** The planner sets explicit deduplication ids (`nodeId:from:to:interval`); content-based dedup stays off. */
  readonly contentBasedDeduplication?: boolean;
  readonly retentionSeconds: number;
  readonly description: string;
}

const DAY_SECONDS = 86_400;

/** The queues of one deployment. */
export const QUEUES = {
  microbatch: {
    logicalId: 'MicrobatchQueue',
    fifo: true,
    deduplicationScope: 'messageGroup',
    fifoThroughputLimit: 'perMessageGroupId',
    contentBasedDeduplication: false,
    // A microbatch is a work token: an old one only repeats what the node's cursor already decides.
    retentionSeconds: 4 * DAY_SECONDS,
    description: 'Microbatches, one message group per node',
  },
  microbatchDeadLetter: {
    logicalId: 'MicrobatchDeadLetterQueue',
    // The dead-letter queue of a FIFO queue must itself be FIFO.
    fifo: true,
    contentBasedDeduplication: false,
    retentionSeconds: 14 * DAY_SECONDS,
    description: 'Microbatches that failed maxReceiveCount times',
  },
  /**
   * One queue for every lost tick, whichever service gave up on it: EventBridge Scheduler's dead
   * letters (a tick it could not deliver) and Lambda's on-failure records (a planner or checker run
   * that failed after Lambda's asynchronous retries, or outlived its maximum event age). Both mean
   * the same to an operator — an interval was not planned or not checked — so one alarm covers them.
   */
  failedTicks: {
    // The id it had when it was only Scheduler's dead-letter queue: a new id would replace the queue
    // and lose the records in it.
    logicalId: 'SchedulerDeadLetterQueue',
    // Scheduler's dead-letter queue and Lambda's destinations both take standard queues only.
    fifo: false,
    retentionSeconds: 14 * DAY_SECONDS,
    description: "Lost planner/checker ticks: Scheduler's dead letters and Lambda's on-failure records",
  },
  /**
   * The planner's and the checker's shard tasks: standard queues (order does not matter; a duplicate
   * task is harmless, the shards' records make it idempotent), each with a dead-letter queue for a
   * task that fails every receive (a malformed body: the stale ones are acknowledged).
   */
  planTasks: {
    logicalId: 'PlanTaskQueue',
    fifo: false,
    // A task is stale after one interval; a day covers the longest interval with room.
    retentionSeconds: DAY_SECONDS,
    description: 'One message per planner shard per interval',
  },
  planTasksDeadLetter: {
    logicalId: 'PlanTaskDeadLetterQueue',
    fifo: false,
    retentionSeconds: 14 * DAY_SECONDS,
    description: 'Planner shard tasks that failed maxReceiveCount times',
  },
  checkTasks: {
    logicalId: 'CheckTaskQueue',
    fifo: false,
    retentionSeconds: DAY_SECONDS,
    description: 'One message per checker shard per tick',
  },
  checkTasksDeadLetter: {
    logicalId: 'CheckTaskDeadLetterQueue',
    fifo: false,
    retentionSeconds: 14 * DAY_SECONDS,
    description: 'Checker shard tasks that failed maxReceiveCount times',
  },
} as const satisfies Record<string, QueueDefinition>;

/** Receives of a shard task before it is dead-lettered: a task that fails this often is malformed, not unlucky. */
export const TASK_MAX_RECEIVE_COUNT = 3;

export type QueueName = keyof typeof QUEUES;

/** Receives before a microbatch moves to the dead-letter queue, unless configured otherwise. */
export const DEFAULT_MAX_RECEIVE_COUNT = 5;

/**
 * AWS's rule for an SQS event source: a visibility timeout of at least six times the function
 * timeout, so that a message is not handed out again while Lambda still retries a throttled batch.
 */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/** The microbatch queue's visibility timeout for an applier timeout. */
export function visibilityTimeoutFor(applierTimeoutSeconds: number): number {
  return VISIBILITY_TIMEOUT_FACTOR * applierTimeoutSeconds;
}

/** The SQS CreateQueue attributes for a definition (names and string values as the SQS API takes them). */
export function queueAttributes(
  definition: QueueDefinition,
  options: { readonly visibilityTimeoutSeconds?: number; readonly deadLetter?: { readonly arn: string; readonly maxReceiveCount: number } } = {},
): Record<string, string> {
  return {
    MessageRetentionPeriod: String(definition.retentionSeconds),
    SqsManagedSseEnabled: 'true',
    ...(definition.fifo ? { FifoQueue: 'true', ContentBasedDeduplication: String(definition.contentBasedDeduplication ?? false) } : {}),
    ...(definition.deduplicationScope === undefined ? {} : { DeduplicationScope: definition.deduplicationScope }),
    ...(definition.fifoThroughputLimit === undefined ? {} : { FifoThroughputLimit: definition.fifoThroughputLimit }),
    ...(options.visibilityTimeoutSeconds === undefined ? {} : { VisibilityTimeout: String(options.visibilityTimeoutSeconds) }),
    ...(options.deadLetter === undefined
      ? {}
      : { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: options.deadLetter.arn, maxReceiveCount: options.deadLetter.maxReceiveCount }) }),
  };
}

/** Who invokes a function. */
export type Invocation =
  /** EventBridge Scheduler, every interval, asynchronously: Lambda retries a failed run and sends its record to an on-failure destination. */
  | 'schedule'
  /** The microbatch queue's event source, a batch at a time. */
  | 'queue'
  /** A shard task queue's event source, one task an invocation. */
  | 'taskQueue'
  /** A producer, directly. */
  | 'producer';

/** A function's settings that are the same wherever it runs; its handler is `functions/<name>/handler.ts`. */
export interface FunctionDefinition {
  /** The construct id, with which the logical ids of its function, role and log group start (`PlannerFunction…`). */
  readonly constructId: string;
  /** Its folder under functions/: the handler is `functions/<directory>/handler.ts`. */
  readonly directory: string;
  readonly description: string;
  /** Lambda's timeout, which `getRemainingTimeInMillis` counts down from. */
  readonly timeoutSeconds: number;
  /** CPU grows with memory: the functions spend it on parallel I/O and hashing. */
  readonly memoryMB: number;
  readonly invokedBy: Invocation;
}

/** The functions of one deployment, in the order the stack creates them. */
export const FUNCTIONS = {
  planner: {
    constructId: 'Planner',
    directory: 'planner',
    description: 'Fixes each interval’s plan header (H_k, the cut into shards) and sends one task per planner shard',
    // A head read, a header write and ceil(S / 10) sends.
    timeoutSeconds: 30,
    memoryMB: 256,
    invokedBy: 'schedule',
  },
  plannerShard: {
    constructId: 'PlannerShard',
    directory: 'planner-shard',
    description: 'Plans the nodes of its Scan segments: sends their microbatches, records each segment’s plan',
    // nodesPerShard is sized to finish within half an interval; the timeout leaves room for a slow one.
    timeoutSeconds: 120,
    // 1,769 MB is one full vCPU: a shard is CPU-bound on the SDK's own work per call.
    memoryMB: 1_769,
    invokedBy: 'taskQueue',
  },
  applier: {
    constructId: 'Applier',
    directory: 'applier',
    description: 'Applies microbatches to a node’s replica and advances its cursor',
    // The default of the context setting applierTimeoutSeconds, which the stack may be given instead.
    timeoutSeconds: 60,
    memoryMB: 512,
    invokedBy: 'queue',
  },
  checker: {
    constructId: 'Checker',
    directory: 'checker',
    description: 'Decides what each tick judges, expires what cannot be, and sends one task per checker shard',
    timeoutSeconds: 30,
    memoryMB: 256,
    invokedBy: 'schedule',
  },
  checkerShard: {
    constructId: 'CheckerShard',
    directory: 'checker-shard',
    description: 'Judges the nodes of its Scan segments against every open interval; the last shard writes the verdicts',
    timeoutSeconds: 120,
    memoryMB: 1_769,
    invokedBy: 'taskQueue',
  },
  ingest: {
    constructId: 'Ingest',
    directory: 'ingest',
    description: 'Appends updates to the log (TransactWriteItems on the head item)',
    timeoutSeconds: 30,
    memoryMB: 256,
    invokedBy: 'producer',
  },
} as const satisfies Record<string, FunctionDefinition>;

export type FunctionName = keyof typeof FUNCTIONS;

/** A function's handler, from the repository root. */
export function handlerPath(name: FunctionName): string {
  return `functions/${FUNCTIONS[name].directory}/handler.ts`;
}

/** The functions EventBridge Scheduler invokes: those with an on-failure destination. */
export type ScheduledFunctionName = { [N in FunctionName]: (typeof FUNCTIONS)[N]['invokedBy'] extends 'schedule' ? N : never }[FunctionName];

/** The names of {@link FUNCTIONS}, in its order. */
export const FUNCTION_NAMES = Object.keys(FUNCTIONS) as readonly FunctionName[];

/** The log levels Powertools reads from POWERTOOLS_LOG_LEVEL. */
export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
