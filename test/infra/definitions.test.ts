/**
 * The pure definitions the CDK constructs and the local runtime share: they must agree with the
 * adapters' keys and stay free of aws-cdk-lib and the AWS SDK.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RESOURCE_ENV } from '#shared/config.ts';
import {
  createTableInput,
  DEFAULT_MAX_RECEIVE_COUNT,
  FUNCTION_NAMES,
  FUNCTIONS,
  handlerPath,
  QUEUES,
  queueAttributes,
  TABLES,
  TASK_MAX_RECEIVE_COUNT,
  visibilityTimeoutFor,
} from '#infra/definitions.ts';
import { PROJECT_ROOT } from './support.ts';

describe('definitions', () => {
  it('import neither aws-cdk-lib nor an AWS SDK, so the local runtime can load them', () => {
    const source = readFileSync(new URL('infra/definitions.ts', PROJECT_ROOT), 'utf8');
    const imports = [...source.matchAll(/^import\s[^;]*?from\s+'([^']+)'/gm)].map((match) => match[1]);
    expect(imports).toEqual(['#shared/config.ts']);
    expect(source).toMatch(/^import type /m);
  });

  it('define exactly the functions that have a handler under functions/, each in its own folder', () => {
    const handlers = readdirSync(new URL('functions/', PROJECT_ROOT), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(new URL(`functions/${entry.name}/handler.ts`, PROJECT_ROOT)))
      .map((entry) => entry.name);
    expect(FUNCTION_NAMES.map((name) => FUNCTIONS[name].directory).sort()).toEqual(handlers.sort());
    expect(FUNCTION_NAMES.map(handlerPath).map((path) => existsSync(new URL(path, PROJECT_ROOT)))).toEqual(FUNCTION_NAMES.map(() => true));
  });

  it('name a function setting for every table', () => {
    for (const table of Object.values(TABLES)) expect(RESOURCE_ENV[table.resource]).toMatch(/_TABLE_NAME$/);
  });

  it('give the CreateTable input of a table with a sort key', () => {
    expect(createTableInput(TABLES.log, 'log')).toEqual({
      TableName: 'log',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'stream', KeyType: 'HASH' },
        { AttributeName: 'seq', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'stream', AttributeType: 'S' },
        { AttributeName: 'seq', AttributeType: 'N' },
      ],
    });
  });

  it('give the CreateTable input of a table with a partition key only', () => {
    expect(createTableInput(TABLES.nodes, 'nodes')).toMatchObject({
      KeySchema: [{ AttributeName: 'nodeId', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'nodeId', AttributeType: 'S' }],
    });
  });

  it('give the SQS attributes of the high-throughput FIFO queue and its redrive policy', () => {
    expect(queueAttributes(QUEUES.microbatch, { visibilityTimeoutSeconds: 360, deadLetter: { arn: 'arn:dlq', maxReceiveCount: DEFAULT_MAX_RECEIVE_COUNT } })).toEqual({
      FifoQueue: 'true',
      ContentBasedDeduplication: 'false',
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      MessageRetentionPeriod: '345600',
      SqsManagedSseEnabled: 'true',
      VisibilityTimeout: '360',
      RedrivePolicy: '{"deadLetterTargetArn":"arn:dlq","maxReceiveCount":5}',
    });
  });

  it('give a standard queue no FIFO attributes', () => {
    expect(queueAttributes(QUEUES.failedTicks)).toEqual({ MessageRetentionPeriod: '1209600', SqsManagedSseEnabled: 'true' });
  });

  it("keep the failed-ticks queue standard (Lambda destinations cannot be FIFO) under Scheduler's dead-letter queue's logical id", () => {
    expect(QUEUES.failedTicks).toMatchObject({ logicalId: 'SchedulerDeadLetterQueue', fifo: false, retentionSeconds: 14 * 86_400 });
  });

  it('give a shard task queue standard-queue attributes and a redrive after TASK_MAX_RECEIVE_COUNT receives', () => {
    const visibilityTimeoutSeconds = visibilityTimeoutFor(FUNCTIONS.plannerShard.timeoutSeconds);
    expect(queueAttributes(QUEUES.planTasks, { visibilityTimeoutSeconds, deadLetter: { arn: 'arn:dlq', maxReceiveCount: TASK_MAX_RECEIVE_COUNT } })).toEqual({
      MessageRetentionPeriod: '86400',
      SqsManagedSseEnabled: 'true',
      VisibilityTimeout: '720',
      RedrivePolicy: '{"deadLetterTargetArn":"arn:dlq","maxReceiveCount":3}',
    });
  });

  it('keep every shard task queue and its dead-letter queue standard, under the logical ids the stack keeps', () => {
    expect([QUEUES.planTasks, QUEUES.planTasksDeadLetter, QUEUES.checkTasks, QUEUES.checkTasksDeadLetter].map(({ logicalId, fifo }) => [logicalId, fifo])).toEqual([
      ['PlanTaskQueue', false],
      ['PlanTaskDeadLetterQueue', false],
      ['CheckTaskQueue', false],
      ['CheckTaskDeadLetterQueue', false],
    ]);
  });

  it('set the visibility timeout to six applier timeouts', () => {
    expect(visibilityTimeoutFor(60)).toBe(360);
    expect(visibilityTimeoutFor(900)).toBe(5_400);
  });
});
