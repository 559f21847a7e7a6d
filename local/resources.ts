/**
 * Creates one run's tables and queues in the emulators from `infra/definitions.ts`, the same
 * definitions the CDK stack builds from: keys, TTL attributes and queue attributes have one source.
 * Names are unique per run, so runs (and test files) can share one pair of emulators.
 */
import { CreateTableCommand, ResourceInUseException, UpdateTimeToLiveCommand, waitUntilTableExists, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { randomBytes } from 'node:crypto';
import type { Resource } from '#shared/config.ts';
import {
  createTableInput,
  DEFAULT_MAX_RECEIVE_COUNT,
  FUNCTIONS,
  queueAttributes,
  QUEUES,
  TABLES,
  TASK_MAX_RECEIVE_COUNT,
  visibilityTimeoutFor,
  type QueueName,
  type TableName,
} from '#infra/definitions.ts';
import { EmulatorResponseError } from './errors.ts';

export interface LocalQueue {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
}

export interface LocalResources {
  /** Physical table name per definition. */
  readonly tables: Readonly<Record<TableName, string>>;
  readonly queues: Readonly<Record<QueueName, LocalQueue>>;
  readonly maxReceiveCount: number;
  readonly visibilityTimeoutSeconds: number;
  /** The resource settings the functions read (`RESOURCE_ENV` keys): table names and the queue URL. */
  readonly functionResources: Readonly<Record<Resource, string>>;
}

export interface ResourceOptions {
  /** Prefix of every name; a random suffix keeps runs apart. */
  readonly prefix?: string;
  /**
   * The exact start of every name instead (no random suffix), and tables that already exist under it
   * are kept as they are: a run that resumes an earlier one's tables (`microbatch up --data-dir`).
   */
  readonly base?: string;
  readonly maxReceiveCount?: number;
  /** The applier's timeout (default: its definition's); the microbatch queue's visibility timeout is six times it, as in the stack. */
  readonly applierTimeoutSeconds?: number;
}

export async function createResources(
  clients: { readonly dynamodb: DynamoDBClient; readonly sqs: SQSClient },
  options: ResourceOptions = {},
): Promise<LocalResources> {
  const base = options.base ?? `${options.prefix ?? 'msync'}-${randomBytes(4).toString('hex')}`;
  const maxReceiveCount = options.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT;
  const visibilityTimeoutSeconds = visibilityTimeoutFor(options.applierTimeoutSeconds ?? FUNCTIONS.applier.timeoutSeconds);

  const tableNames = Object.fromEntries((Object.keys(TABLES) as TableName[]).map((name) => [name, `${base}-${TABLES[name].logicalId}`])) as Record<
    TableName,
    string
  >;
  const tables = Promise.all(
    (Object.keys(TABLES) as TableName[]).map(async (name) => {
      const definition = TABLES[name];
      const tableName = tableNames[name];
      try {
        await clients.dynamodb.send(new CreateTableCommand(createTableInput(definition, tableName)));
      } catch (error) {
        // Resuming: the table is there, with its items.
        if (!(options.base !== undefined && error instanceof ResourceInUseException)) throw error;
        return;
      }
      await waitUntilTableExists({ client: clients.dynamodb, maxWaitTime: 30, minDelay: 1 }, { TableName: tableName });
      if ('timeToLiveAttribute' in definition) {
        await clients.dynamodb.send(
          new UpdateTimeToLiveCommand({
            TableName: tableName,
            TimeToLiveSpecification: { AttributeName: definition.timeToLiveAttribute, Enabled: true },
          }),
        );
      }
    }),
  );

  const createQueue = async (name: QueueName, attributes: Record<string, string>): Promise<LocalQueue> => {
    const queueName = `${base}-${QUEUES[name].logicalId}${QUEUES[name].fifo ? '.fifo' : ''}`;
    const { QueueUrl } = await clients.sqs.send(new CreateQueueCommand({ QueueName: queueName, Attributes: attributes }));
    if (QueueUrl === undefined) throw new EmulatorResponseError('CreateQueue', `returned no URL for ${queueName}`);
    const { Attributes } = await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    const arn = Attributes?.QueueArn;
    if (arn === undefined) throw new EmulatorResponseError('GetQueueAttributes', `returned no ARN for ${queueName}`);
    return { name: queueName, url: QueueUrl, arn };
  };
  const queues = (async () => {
    const [microbatchDeadLetter, failedTicks, planTasksDeadLetter, checkTasksDeadLetter] = await Promise.all([
      createQueue('microbatchDeadLetter', queueAttributes(QUEUES.microbatchDeadLetter)),
      createQueue('failedTicks', queueAttributes(QUEUES.failedTicks)),
      createQueue('planTasksDeadLetter', queueAttributes(QUEUES.planTasksDeadLetter)),
      createQueue('checkTasksDeadLetter', queueAttributes(QUEUES.checkTasksDeadLetter)),
    ]);
    const taskQueue = (name: 'planTasks' | 'checkTasks', deadLetter: LocalQueue, consumer: 'plannerShard' | 'checkerShard'): Promise<LocalQueue> =>
      createQueue(
        name,
        queueAttributes(QUEUES[name], {
          visibilityTimeoutSeconds: visibilityTimeoutFor(FUNCTIONS[consumer].timeoutSeconds),
          deadLetter: { arn: deadLetter.arn, maxReceiveCount: TASK_MAX_RECEIVE_COUNT },
        }),
      );
    const [microbatch, planTasks, checkTasks] = await Promise.all([
      createQueue('microbatch', queueAttributes(QUEUES.microbatch, { visibilityTimeoutSeconds, deadLetter: { arn: microbatchDeadLetter.arn, maxReceiveCount } })),
      taskQueue('planTasks', planTasksDeadLetter, 'plannerShard'),
      taskQueue('checkTasks', checkTasksDeadLetter, 'checkerShard'),
    ]);
    return { microbatch, microbatchDeadLetter, failedTicks, planTasks, planTasksDeadLetter, checkTasks, checkTasksDeadLetter };
  })();

  const [, queueSet] = await Promise.all([tables, queues]);
  const functionResources = {
    ...(Object.fromEntries((Object.keys(TABLES) as TableName[]).map((name) => [TABLES[name].resource, tableNames[name]])) as Record<
      (typeof TABLES)[TableName]['resource'],
      string
    >),
    queueUrl: queueSet.microbatch.url,
    planTaskQueueUrl: queueSet.planTasks.url,
    checkTaskQueueUrl: queueSet.checkTasks.url,
  };
  return { tables: tableNames, queues: queueSet, maxReceiveCount, visibilityTimeoutSeconds, functionResources };
}
