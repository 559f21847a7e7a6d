/**
 * The stack with cdk.json's defaults: every resource's important properties and the logical ids of
 * the stateful resources. One synth serves the whole file; least-privilege.test.ts holds the IAM
 * statements, monitoring.test.ts the alarms and dashboard, schedules.test.ts the schedules.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { RESOURCE_ENV, SETTINGS_ENV, type Resource } from '#shared/config.ts';
import { FUNCTION_NAMES, FUNCTIONS, QUEUES, TABLES, type FunctionName } from '#infra/definitions.ts';
import { defaultStack, environmentOf, grantsOf, logicalId, resourcesOfType, resourcesTheHandlerLoads } from './support.ts';

const built = defaultStack();
const { fn, properties } = built;

describe('stateful resources', () => {
  it('keeps the exact logical ids of every table and queue, so no refactor replaces one', () => {
    expect(Object.keys(resourcesOfType(built.json, 'AWS::DynamoDB::Table')).sort()).toEqual(
      ['ConvergenceTable', 'IngestRequestsTable', 'LogTable', 'NodesTable', 'PlansTable', 'ReplicaTable'],
    );
    expect(Object.keys(resourcesOfType(built.json, 'AWS::SQS::Queue')).sort()).toEqual([
      'CheckTaskDeadLetterQueue',
      'CheckTaskQueue',
      'MicrobatchDeadLetterQueue',
      'MicrobatchQueue',
      'PlanTaskDeadLetterQueue',
      'PlanTaskQueue',
      'SchedulerDeadLetterQueue',
    ]);
  });

  it('retains tables, queues and log groups by default', () => {
    for (const type of ['AWS::DynamoDB::Table', 'AWS::SQS::Queue', 'AWS::Logs::LogGroup']) {
      for (const resource of Object.values(resourcesOfType(built.json, type))) {
        expect(resource.DeletionPolicy).toBe('Retain');
        expect(resource.UpdateReplacePolicy).toBe('Retain');
      }
    }
  });
});

describe('tables', () => {
  it.each([
    ['LogTable', [{ AttributeName: 'stream', KeyType: 'HASH' }, { AttributeName: 'seq', KeyType: 'RANGE' }], [['stream', 'S'], ['seq', 'N']]],
    ['NodesTable', [{ AttributeName: 'nodeId', KeyType: 'HASH' }], [['nodeId', 'S']]],
    ['ReplicaTable', [{ AttributeName: 'nodeId', KeyType: 'HASH' }, { AttributeName: 'key', KeyType: 'RANGE' }], [['nodeId', 'S'], ['key', 'S']]],
    ['ConvergenceTable', [{ AttributeName: 'stream', KeyType: 'HASH' }, { AttributeName: 'interval', KeyType: 'RANGE' }], [['stream', 'S'], ['interval', 'N']]],
    ['IngestRequestsTable', [{ AttributeName: 'requestId', KeyType: 'HASH' }, { AttributeName: 'chunk', KeyType: 'RANGE' }], [['requestId', 'S'], ['chunk', 'N']]],
    ['PlansTable', [{ AttributeName: 'segment', KeyType: 'HASH' }, { AttributeName: 'interval', KeyType: 'RANGE' }], [['segment', 'S'], ['interval', 'N']]],
  ])('%s has the keys the adapters use', (id, keySchema, attributes) => {
    const table = properties(id);
    expect(table.KeySchema).toEqual(keySchema);
    expect(table.AttributeDefinitions).toEqual(attributes.map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })));
  });

  it('bills every table on demand and encrypts it with the AWS managed key', () => {
    for (const table of Object.values(resourcesOfType(built.json, 'AWS::DynamoDB::Table'))) {
      expect(table.Properties).toMatchObject({ BillingMode: 'PAY_PER_REQUEST', SSESpecification: { SSEEnabled: true } });
      expect(table.Properties?.ProvisionedThroughput).toBeUndefined();
    }
  });

  it('turns point-in-time recovery on for Log, Nodes and Replica only', () => {
    const pitr = Object.fromEntries(
      Object.entries(resourcesOfType(built.json, 'AWS::DynamoDB::Table')).map(([id, table]) => [
        id,
        (table.Properties?.PointInTimeRecoverySpecification as { PointInTimeRecoveryEnabled: boolean }).PointInTimeRecoveryEnabled,
      ]),
    );
    expect(pitr).toEqual({ LogTable: true, NodesTable: true, ReplicaTable: true, ConvergenceTable: false, IngestRequestsTable: false, PlansTable: false });
  });

  it('expires Convergence records, ingest request markers and segment plans on expiresAt', () => {
    for (const id of ['ConvergenceTable', 'IngestRequestsTable', 'PlansTable']) expect(properties(id).TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    for (const id of ['LogTable', 'NodesTable', 'ReplicaTable']) expect(properties(id).TimeToLiveSpecification).toBeUndefined();
  });

  it('protects retained tables from deletion', () => {
    for (const table of Object.values(resourcesOfType(built.json, 'AWS::DynamoDB::Table'))) expect(table.Properties?.DeletionProtectionEnabled).toBe(true);
  });

  it('builds every table from its definition', () => {
    for (const definition of Object.values(TABLES)) expect(built.json.Resources[definition.logicalId]?.Type).toBe('AWS::DynamoDB::Table');
  });
});

describe('queues', () => {
  it('makes the microbatch queue a high-throughput FIFO queue with explicit deduplication ids', () => {
    expect(properties('MicrobatchQueue')).toMatchObject({
      FifoQueue: true,
      ContentBasedDeduplication: false,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      SqsManagedSseEnabled: true,
    });
  });

  it('gives the queue a visibility timeout of six times the applier timeout', () => {
    const applierTimeout = properties(logicalId(fn('applier').function)).Timeout as number;
    expect(applierTimeout).toBe(60);
    expect(properties('MicrobatchQueue').VisibilityTimeout).toBe(6 * applierTimeout);
  });

  it('redrives to a FIFO dead-letter queue after maxReceiveCount receives', () => {
    expect(properties('MicrobatchQueue').RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': ['MicrobatchDeadLetterQueue', 'Arn'] }, maxReceiveCount: 5 });
    expect(properties('MicrobatchDeadLetterQueue')).toMatchObject({ FifoQueue: true, SqsManagedSseEnabled: true, MessageRetentionPeriod: QUEUES.microbatchDeadLetter.retentionSeconds });
  });

  it.each(Object.values(QUEUES).map((queue) => queue.logicalId))('denies every request to %s that does not use TLS', (queueId) => {
    built.synthesized.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('functions', () => {
  it.each(FUNCTION_NAMES)('runs %s on nodejs24.x, arm64, from the bundled ESM handler', (name) => {
    expect(properties(logicalId(fn(name).function))).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler' });
  });

  it.each(FUNCTION_NAMES)('gives %s the description, timeout and memory of its definition', (name) => {
    const { description, timeoutSeconds, memoryMB } = FUNCTIONS[name];
    expect(properties(logicalId(fn(name).function))).toMatchObject({ Description: description, Timeout: timeoutSeconds, MemorySize: memoryMB });
  });

  it.each(FUNCTION_NAMES)('gives %s its own role without managed policies and its own log group with 30-day retention', (name) => {
    const service = fn(name);
    const role = properties(logicalId(service.role));
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(role.AssumeRolePolicyDocument).toMatchObject({ Statement: [{ Principal: { Service: 'lambda.amazonaws.com' } }] });
    const logGroupId = logicalId(service.logGroup);
    expect(properties(logicalId(service.function))).toMatchObject({ Role: { 'Fn::GetAtt': [logicalId(service.role), 'Arn'] }, LoggingConfig: { LogGroup: { Ref: logGroupId } } });
    expect(properties(logGroupId).RetentionInDays).toBe(30);
    expect(grantsOf(built.json, service)[logGroupId]).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
  });

  it.each(FUNCTION_NAMES)('sets source maps, Powertools and the shared settings in the environment of %s', (name) => {
    expect(environmentOf(built.json, fn(name))).toMatchObject({
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: 'microbatch-sync',
      POWERTOOLS_METRICS_NAMESPACE: 'MicrobatchSync',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      [SETTINGS_ENV.stream]: 'main',
      [SETTINGS_ENV.intervalSeconds]: '60',
      [SETTINGS_ENV.batchSize]: '100',
      [SETTINGS_ENV.maxInFlightIntervals]: '2',
      [SETTINGS_ENV.staleAfterIntervals]: '3',
      [SETTINGS_ENV.openIntervals]: '60',
      [SETTINGS_ENV.reportTopN]: '10',
      [SETTINGS_ENV.retentionDays]: '30',
      [SETTINGS_ENV.idempotencyWindowHours]: '24',
      [SETTINGS_ENV.nodesPerShard]: '50000',
      [SETTINGS_ENV.nodesPerSegment]: '2000',
      [SETTINGS_ENV.shards]: '0',
    });
  });

  it.each(FUNCTION_NAMES)('gives %s exactly the resource variables its handler loads', (name) => {
    const resourceNames = Object.values(RESOURCE_ENV) as string[];
    const set = Object.keys(environmentOf(built.json, fn(name))).filter((key) => resourceNames.includes(key));
    expect(set.sort()).toEqual(resourcesTheHandlerLoads(name).map((resource) => RESOURCE_ENV[resource]).sort());
  });

  it.each<[FunctionName, Partial<Record<Resource, string>>]>([
    ['planner', { logTable: 'LogTable', nodesTable: 'NodesTable', convergenceTable: 'ConvergenceTable', planTaskQueueUrl: 'PlanTaskQueue' }],
    ['plannerShard', { nodesTable: 'NodesTable', plansTable: 'PlansTable', convergenceTable: 'ConvergenceTable', queueUrl: 'MicrobatchQueue', planTaskQueueUrl: 'PlanTaskQueue' }],
    ['applier', { logTable: 'LogTable', nodesTable: 'NodesTable', replicaTable: 'ReplicaTable' }],
    ['checker', { logTable: 'LogTable', nodesTable: 'NodesTable', convergenceTable: 'ConvergenceTable', checkTaskQueueUrl: 'CheckTaskQueue' }],
    ['checkerShard', { logTable: 'LogTable', nodesTable: 'NodesTable', convergenceTable: 'ConvergenceTable' }],
    ['ingest', { logTable: 'LogTable', ingestRequestsTable: 'IngestRequestsTable' }],
  ])("points each of %s's resource variables at its table or queue", (name, resources) => {
    const resourceNames = Object.values(RESOURCE_ENV) as string[];
    const set = Object.fromEntries(Object.entries(environmentOf(built.json, fn(name))).filter(([key]) => resourceNames.includes(key)));
    expect(set).toEqual(Object.fromEntries(Object.entries(resources).map(([resource, id]) => [RESOURCE_ENV[resource as Resource], { Ref: id }])));
  });

  it('reserves concurrency for ingest only (its head item is one hot key)', () => {
    expect(properties(logicalId(fn('ingest').function)).ReservedConcurrentExecutions).toBe(5);
    for (const name of FUNCTION_NAMES.filter((other) => other !== 'ingest')) expect(properties(logicalId(fn(name).function)).ReservedConcurrentExecutions).toBeUndefined();
  });

  it('feeds the applier from the queue in batches of 10 with partial batch responses and a concurrency cap', () => {
    // The applier's, and one per shard function's task queue.
    built.synthesized.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);
    built.synthesized.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': ['MicrobatchQueue', 'Arn'] },
      FunctionName: { Ref: logicalId(fn('applier').function) },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 10 },
      MaximumBatchingWindowInSeconds: Match.absent(),
    });
  });
});

describe('outputs', () => {
  it('tells a user the table names, queue URLs, function names, alarm topic and dashboard link', () => {
    expect(Object.keys(built.json.Outputs ?? {}).sort()).toEqual([
      'AlarmTopicArn',
      'ApplierFunctionName',
      'CheckTaskDeadLetterQueueUrl',
      'CheckTaskQueueUrl',
      'CheckerFunctionName',
      'CheckerShardFunctionName',
      'ConvergenceTableName',
      'DashboardUrl',
      'DeadLetterQueueUrl',
      'FailedTicksQueueUrl',
      'IngestFunctionName',
      'IngestRequestsTableName',
      'LogTableName',
      'NodesTableName',
      'PlanTaskDeadLetterQueueUrl',
      'PlanTaskQueueUrl',
      'PlannerFunctionName',
      'PlannerShardFunctionName',
      'PlansTableName',
      'QueueUrl',
      'ReplicaTableName',
    ]);
    expect(built.json.Outputs?.QueueUrl?.Value).toEqual({ Ref: 'MicrobatchQueue' });
    expect(JSON.stringify(built.json.Outputs?.DashboardUrl?.Value)).toContain('console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:name=');
  });

  it('points the outputs of the sharded planner and checker at the Plans table, the task queues and the shard functions', () => {
    const values = Object.fromEntries(
      ['PlansTableName', 'PlanTaskQueueUrl', 'PlanTaskDeadLetterQueueUrl', 'CheckTaskQueueUrl', 'CheckTaskDeadLetterQueueUrl', 'PlannerShardFunctionName', 'CheckerShardFunctionName'].map(
        (id) => [id, built.json.Outputs?.[id]?.Value],
      ),
    );
    expect(values).toEqual({
      PlansTableName: { Ref: 'PlansTable' },
      PlanTaskQueueUrl: { Ref: 'PlanTaskQueue' },
      PlanTaskDeadLetterQueueUrl: { Ref: 'PlanTaskDeadLetterQueue' },
      CheckTaskQueueUrl: { Ref: 'CheckTaskQueue' },
      CheckTaskDeadLetterQueueUrl: { Ref: 'CheckTaskDeadLetterQueue' },
      PlannerShardFunctionName: { Ref: logicalId(fn('plannerShard').function) },
      CheckerShardFunctionName: { Ref: logicalId(fn('checkerShard').function) },
    });
  });
});
