/**
 * The stack with cdk.json's defaults: every resource's important properties, each function's IAM
 * statements, and the logical ids of the stateful resources. One synth serves the whole file.
 */
import { readFileSync } from 'node:fs';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { RESOURCE_ENV, SETTINGS_ENV, type Resource } from '#shared/config.ts';
import { parseScheduledEvent } from '#shared/domain/scheduled-event.ts';
import { METRIC } from '#shared/metrics.ts';
import { FUNCTION_NAMES, FUNCTIONS, handlerPath, QUEUES, TABLES, type FunctionName } from '#infra/definitions.ts';
import type { ServiceFunction } from '#infra/constructs/service-function.ts';
import {
  environmentOf,
  grantsOf,
  identityStatements,
  logicalId,
  roleStatements,
  PROJECT_ROOT,
  resourcesOfType,
  synth,
  type CfnTemplate,
  type Synthesized,
} from './support.ts';

let synthesized: Synthesized;
let json: CfnTemplate;

beforeAll(() => {
  synthesized = synth();
  json = synthesized.json;
});

function fn(name: FunctionName): ServiceFunction {
  return synthesized.stack.functions[name];
}

function properties(id: string): Record<string, unknown> {
  const resource = json.Resources[id];
  if (resource?.Properties === undefined) throw new Error(`no resource ${id}`);
  return resource.Properties;
}

/** A handler's source, from the file its definition names. */
function handlerSource(name: FunctionName): string {
  return readFileSync(new URL(handlerPath(name), PROJECT_ROOT), 'utf8');
}

/** The resources a handler asks `loadResources` for, read from its source. */
function resourcesTheHandlerLoads(name: FunctionName): Resource[] {
  const match = /loadResources\(\[([^\]]*)\]\)/.exec(handlerSource(name));
  if (match?.[1] === undefined) throw new Error(`${handlerPath(name)} does not call loadResources([...])`);
  return [...match[1].matchAll(/'(\w+)'/g)].map((m) => m[1] as Resource);
}

/** The metrics a handler emits, read from its source (`metrics.addMetric(METRIC.<name>, …)` or an `addCounts({ [METRIC.<name>]: … })` entry). */
function metricsTheHandlerEmits(name: FunctionName): string[] {
  return [...handlerSource(name).matchAll(/(?:addMetric\(|\[)METRIC\.(\w+)/g)].map((match) => METRIC[match[1] as keyof typeof METRIC]);
}

/** The dashboard's body, its tokens (ARNs, queue names) replaced by a placeholder. */
function dashboardBody(): { widgets: { properties: { title: string; metrics?: unknown[][] } }[] } {
  const [dashboard] = Object.values(resourcesOfType(json, 'AWS::CloudWatch::Dashboard'));
  const parts = (dashboard?.Properties?.DashboardBody as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  return JSON.parse(parts.map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('')) as ReturnType<typeof dashboardBody>;
}

describe('stateful resources', () => {
  it('keeps the exact logical ids of every table and queue, so no refactor replaces one', () => {
    expect(Object.keys(resourcesOfType(json, 'AWS::DynamoDB::Table')).sort()).toEqual(
      ['ConvergenceTable', 'IngestRequestsTable', 'LogTable', 'NodesTable', 'PlansTable', 'ReplicaTable'],
    );
    expect(Object.keys(resourcesOfType(json, 'AWS::SQS::Queue')).sort()).toEqual([
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
      for (const resource of Object.values(resourcesOfType(json, type))) {
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
    for (const table of Object.values(resourcesOfType(json, 'AWS::DynamoDB::Table'))) {
      expect(table.Properties).toMatchObject({ BillingMode: 'PAY_PER_REQUEST', SSESpecification: { SSEEnabled: true } });
      expect(table.Properties?.ProvisionedThroughput).toBeUndefined();
    }
  });

  it('turns point-in-time recovery on for Log, Nodes and Replica only', () => {
    const pitr = Object.fromEntries(
      Object.entries(resourcesOfType(json, 'AWS::DynamoDB::Table')).map(([id, table]) => [
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
    for (const table of Object.values(resourcesOfType(json, 'AWS::DynamoDB::Table'))) expect(table.Properties?.DeletionProtectionEnabled).toBe(true);
  });

  it('builds every table from its definition', () => {
    for (const definition of Object.values(TABLES)) expect(json.Resources[definition.logicalId]?.Type).toBe('AWS::DynamoDB::Table');
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
    synthesized.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
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
    expect(grantsOf(json, service)[logGroupId]).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
  });

  it.each(FUNCTION_NAMES)('sets source maps, Powertools and the shared settings in the environment of %s', (name) => {
    expect(environmentOf(json, fn(name))).toMatchObject({
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
    });
  });

  it.each(FUNCTION_NAMES)('gives %s exactly the resource variables its handler loads', (name) => {
    const resourceNames = Object.values(RESOURCE_ENV) as string[];
    const set = Object.keys(environmentOf(json, fn(name))).filter((key) => resourceNames.includes(key));
    expect(set.sort()).toEqual(resourcesTheHandlerLoads(name).map((resource) => RESOURCE_ENV[resource]).sort());
  });

  it.each<[FunctionName, Partial<Record<Resource, string>>]>([
    ['planner', { logTable: 'LogTable', nodesTable: 'NodesTable', convergenceTable: 'ConvergenceTable', planTaskQueueUrl: 'PlanTaskQueue' }],
    ['plannerShard', { nodesTable: 'NodesTable', plansTable: 'PlansTable', convergenceTable: 'ConvergenceTable', queueUrl: 'MicrobatchQueue' }],
    ['applier', { logTable: 'LogTable', nodesTable: 'NodesTable', replicaTable: 'ReplicaTable' }],
    ['checker', { logTable: 'LogTable', nodesTable: 'NodesTable', convergenceTable: 'ConvergenceTable', checkTaskQueueUrl: 'CheckTaskQueue' }],
    ['checkerShard', { logTable: 'LogTable', nodesTable: 'NodesTable', convergenceTable: 'ConvergenceTable' }],
    ['ingest', { logTable: 'LogTable', ingestRequestsTable: 'IngestRequestsTable' }],
  ])("points each of %s's resource variables at its table or queue", (name, resources) => {
    const resourceNames = Object.values(RESOURCE_ENV) as string[];
    const set = Object.fromEntries(Object.entries(environmentOf(json, fn(name))).filter(([key]) => resourceNames.includes(key)));
    expect(set).toEqual(Object.fromEntries(Object.entries(resources).map(([resource, id]) => [RESOURCE_ENV[resource as Resource], { Ref: id }])));
  });

  it('reserves concurrency for ingest only (its head item is one hot key)', () => {
    expect(properties(logicalId(fn('ingest').function)).ReservedConcurrentExecutions).toBe(5);
    for (const name of FUNCTION_NAMES.filter((other) => other !== 'ingest')) expect(properties(logicalId(fn(name).function)).ReservedConcurrentExecutions).toBeUndefined();
  });

  it('feeds the applier from the queue in batches of 10 with partial batch responses and a concurrency cap', () => {
    // The applier's, and one per shard function's task queue.
    synthesized.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);
    synthesized.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': ['MicrobatchQueue', 'Arn'] },
      FunctionName: { Ref: logicalId(fn('applier').function) },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 10 },
      MaximumBatchingWindowInSeconds: Match.absent(),
    });
  });
});

describe('least privilege', () => {
  const consume = ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'];
  const withoutLogs = (name: FunctionName): Record<string, string[]> => {
    const logGroupId = logicalId(fn(name).logGroup);
    return Object.fromEntries(Object.entries(grantsOf(json, fn(name))).filter(([resource]) => resource !== logGroupId));
  };

  it('lets the planner read the head, size the fleet, write, read back and query plan headers and send plan tasks', () => {
    expect(withoutLogs('planner')).toEqual({
      LogTable: ['dynamodb:GetItem'],
      NodesTable: ['dynamodb:DescribeTable'],
      ConvergenceTable: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
      PlanTaskQueue: ['sqs:SendMessage'],
      // Lambda sends the record of a failed asynchronous run with the function's own role.
      SchedulerDeadLetterQueue: ['sqs:SendMessage'],
    });
  });

  it("lets a planner shard scan and claim nodes, read and write segment plans, report to the plan header, send microbatches and consume plan tasks", () => {
    expect(withoutLogs('plannerShard')).toEqual({
      NodesTable: ['dynamodb:Scan', 'dynamodb:UpdateItem'],
      PlansTable: ['dynamodb:PutItem', 'dynamodb:Query'],
      ConvergenceTable: ['dynamodb:UpdateItem'],
      MicrobatchQueue: ['sqs:SendMessage'],
      PlanTaskQueue: consume,
    });
  });

  it('lets the applier read the log, move node cursors, write replicas and consume the queue', () => {
    expect(withoutLogs('applier')).toEqual({
      LogTable: ['dynamodb:Query'],
      NodesTable: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      ReplicaTable: ['dynamodb:PutItem'],
      MicrobatchQueue: consume,
    });
  });

  it('lets the checker read the head, size the fleet, read the watermark, records and check headers, write expiries, the watermark and check headers, and send check tasks', () => {
    expect(withoutLogs('checker')).toEqual({
      LogTable: ['dynamodb:GetItem'],
      NodesTable: ['dynamodb:DescribeTable'],
      ConvergenceTable: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
      CheckTaskQueue: ['sqs:SendMessage'],
      SchedulerDeadLetterQueue: ['sqs:SendMessage'],
    });
  });

  it('lets a checker shard read chain links, scan nodes, store and merge partial tallies, write verdicts and consume check tasks', () => {
    expect(withoutLogs('checkerShard')).toEqual({
      LogTable: ['dynamodb:BatchGetItem'],
      NodesTable: ['dynamodb:Scan'],
      ConvergenceTable: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
      CheckTaskQueue: consume,
    });
  });

  it('lets ingest append to the log and read and put the markers of idempotent requests, nothing more', () => {
    expect(withoutLogs('ingest')).toEqual({
      LogTable: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      IngestRequestsTable: ['dynamodb:PutItem', 'dynamodb:Query'],
    });
  });

  const WRITES = /^dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem|PartiQL(Insert|Update|Delete))$/;

  it('gives the applier no write action on the Log table', () => {
    expect((grantsOf(json, fn('applier')).LogTable ?? []).filter((action) => WRITES.test(action))).toEqual([]);
  });

  it.each(['planner', 'checker'] as const)('lets the %s send its failed-run record to the failed-ticks queue, and only send', (name) => {
    const failedTicksArn = { 'Fn::GetAtt': ['SchedulerDeadLetterQueue', 'Arn'] };
    // minimizePolicies may merge it with the coordinator's SendMessage on its task queue.
    const statements = roleStatements(json, logicalId(fn(name).role)).filter((statement) => statement.Resource.some((resource) => JSON.stringify(resource) === JSON.stringify(failedTicksArn)));
    expect(statements).toEqual([expect.objectContaining({ Effect: 'Allow', Action: ['sqs:SendMessage'] })]);
  });

  it('gives the functions that nothing invokes asynchronously no access to the failed-ticks queue', () => {
    const unscheduled = FUNCTION_NAMES.filter((name) => FUNCTIONS[name].invokedBy !== 'schedule');
    expect(unscheduled).toEqual(['plannerShard', 'applier', 'checkerShard', 'ingest']);
    for (const name of unscheduled) expect(grantsOf(json, fn(name)).SchedulerDeadLetterQueue).toBeUndefined();
  });

  it('gives no function but the applier any action on the Replica table', () => {
    for (const name of FUNCTION_NAMES.filter((other) => other !== 'applier')) expect(grantsOf(json, fn(name)).ReplicaTable, name).toBeUndefined();
  });

  it('grants no wildcard action and no wildcard resource in any identity policy', () => {
    const statements = identityStatements(json);
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      expect(statement.Action.filter((action) => action.includes('*'))).toEqual([]);
      expect(statement.Resource).not.toContain('*');
    }
  });

  it('lets each scheduler role invoke only its own function and send only to the scheduler DLQ', () => {
    for (const [schedule, target] of [
      [synthesized.stack.schedules.planner, fn('planner')],
      [synthesized.stack.schedules.checker, fn('checker')],
    ] as const) {
      const scheduleProps = properties(logicalId(schedule)) as { Target: { RoleArn: { 'Fn::GetAtt': [string, string] } } };
      const roleId = scheduleProps.Target.RoleArn['Fn::GetAtt'][0];
      const functionId = logicalId(target.function);
      synthesized.template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: roleId }],
        PolicyDocument: {
          Statement: [
            { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: [{ 'Fn::GetAtt': [functionId, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [functionId, 'Arn'] }, ':*']] }] },
            { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': ['SchedulerDeadLetterQueue', 'Arn'] } },
          ],
        },
      });
      expect(properties(roleId).AssumeRolePolicyDocument).toMatchObject({
        Statement: [{ Principal: { Service: 'scheduler.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } }],
      });
    }
  });
});

describe('schedules', () => {
  it.each(['planner', 'checker'] as const)('invokes the %s every interval with flexible window off, retries and a DLQ', (name) => {
    expect(properties(logicalId(synthesized.stack.schedules[name]))).toMatchObject({
      ScheduleExpression: 'rate(1 minute)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [logicalId(fn(name).function), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 60 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['SchedulerDeadLetterQueue', 'Arn'] } },
      },
    });
  });

  it.each(['planner', 'checker'] as const)('sends the %s the Scheduler payload its event schema accepts', (name) => {
    const input = (properties(logicalId(synthesized.stack.schedules[name])) as { Target: { Input: string } }).Target.Input;
    expect(JSON.parse(input)).toEqual({
      scheduledTime: '<aws.scheduler.scheduled-time>',
      executionId: '<aws.scheduler.execution-id>',
      attempt: '<aws.scheduler.attempt-number>',
    });
    // What Scheduler delivers once it fills the placeholders.
    const delivered = input
      .replace('<aws.scheduler.scheduled-time>', '2026-11-27T10:18:00Z')
      .replace('<aws.scheduler.execution-id>', 'c1d2e3f4-0000-4000-8000-000000000000')
      .replace('<aws.scheduler.attempt-number>', '1');
    expect(parseScheduledEvent(JSON.parse(delivered))).toEqual({ scheduledTime: new Date('2026-11-27T10:18:00Z'), shape: 'scheduler' });
  });

  it('encrypts the failed-ticks queue and keeps failed ticks for 14 days', () => {
    expect(properties('SchedulerDeadLetterQueue')).toEqual({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 });
  });
});

describe('a failed run of a scheduled function', () => {
  it.each(['planner', 'checker'] as const)(
    'is not retried by Lambda at t = 60 s, is dropped after one interval, and is recorded on the failed-ticks queue (%s)',
    (name) => {
      synthesized.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: logicalId(fn(name).function) },
        Qualifier: '$LATEST',
        // Lambda waits a minute before its first retry: at t = 60 s it would always come after the event's age.
        MaximumRetryAttempts: 0,
        MaximumEventAgeInSeconds: 60,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['SchedulerDeadLetterQueue', 'Arn'] } } },
      });
    },
  );

  it('is configured for the two scheduled functions only', () => {
    const configs = Object.values(resourcesOfType(json, 'AWS::Lambda::EventInvokeConfig')).map((resource) => resource.Properties?.FunctionName);
    expect(configs).toHaveLength(2);
    expect(configs).toEqual(expect.arrayContaining([{ Ref: logicalId(fn('planner').function) }, { Ref: logicalId(fn('checker').function) }]));
  });

  it.each(['planner', 'checker'] as const)('is configured only once the %s role may send to the queue (Lambda checks the permission when the configuration is put)', (name) => {
    const service = fn(name);
    const [policyId] = Object.keys(resourcesOfType(json, 'AWS::IAM::Policy')).filter((id) => {
      const roles = json.Resources[id]?.Properties?.Roles as unknown[];
      return JSON.stringify(roles) === JSON.stringify([{ Ref: logicalId(service.role) }]);
    });
    // The configuration names the function, which depends on the role's policy.
    expect((json.Resources[logicalId(service.function)] as { DependsOn?: string[] }).DependsOn).toContain(policyId);
  });

  it('lands in the same queue as the ticks Scheduler could not deliver', () => {
    for (const name of ['planner', 'checker'] as const) {
      const target = (properties(logicalId(synthesized.stack.schedules[name])) as { Target: { DeadLetterConfig: { Arn: unknown } } }).Target;
      expect(target.DeadLetterConfig.Arn).toEqual({ 'Fn::GetAtt': ['SchedulerDeadLetterQueue', 'Arn'] });
    }
    expect(synthesized.stack.schedules.failedTicks).toBeDefined();
  });
});

describe('monitoring', () => {
  const topicRef = (): { Ref: string } => ({ Ref: logicalId(synthesized.stack.monitoring.topic) });

  it('alarms when a microbatch or a shard task is dead-lettered or a tick is lost (the failed-ticks queue is not empty)', () => {
    for (const queueId of ['MicrobatchDeadLetterQueue', 'SchedulerDeadLetterQueue', 'PlanTaskDeadLetterQueue', 'CheckTaskDeadLetterQueue']) {
      synthesized.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        EvaluationPeriods: 1,
        AlarmActions: [topicRef()],
      });
    }
  });

  it("alarms when the checker's Converged metric stays below 1 for notConvergedIntervals intervals", () => {
    synthesized.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'MicrobatchSync',
      MetricName: METRIC.Converged,
      // Powertools adds the service dimension to the stream dimension the functions set.
      Dimensions: [{ Name: 'service', Value: 'microbatch-sync' }, { Name: 'stream', Value: 'main' }],
      Period: 60,
      Statistic: 'Maximum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
      AlarmActions: [topicRef()],
    });
  });

  it("alarms when the applier fails a microbatch whose entries do not continue the node's chain", () => {
    const alarm = properties(logicalId(synthesized.stack.monitoring.alarms.microbatchIntegrityFailures));
    expect(alarm).toMatchObject({
      Namespace: 'MicrobatchSync',
      MetricName: METRIC.MicrobatchIntegrityFailures,
      Dimensions: [{ Name: 'service', Value: 'microbatch-sync' }, { Name: 'stream', Value: 'main' }],
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicRef()],
    });
    expect(alarm.AlarmDescription).toMatch(/^The applier failed a microbatch/);
  });

  it("alarms, apart, when the checker finds nodes whose chain differs from the log's", () => {
    const alarm = properties(logicalId(synthesized.stack.monitoring.alarms.integrityFailedNodes));
    expect(alarm).toMatchObject({
      Namespace: 'MicrobatchSync',
      MetricName: METRIC.IntegrityFailedNodes,
      Dimensions: [{ Name: 'service', Value: 'microbatch-sync' }, { Name: 'stream', Value: 'main' }],
      // A count of nodes per tick: the largest, not a sum over retried runs.
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicRef()],
    });
    expect(alarm.AlarmDescription).toMatch(/^The checker found nodes/);
  });

  it('alarms when a planner shard skips a Nodes item that is not a valid node', () => {
    const alarm = properties(logicalId(synthesized.stack.monitoring.alarms.rejectedNodes));
    expect(alarm).toMatchObject({
      Namespace: 'MicrobatchSync',
      MetricName: METRIC.RejectedNodes,
      Dimensions: [{ Name: 'service', Value: 'microbatch-sync' }, { Name: 'stream', Value: 'main' }],
      // Each planner shard counts the items of its own segments: the fleet's count is their sum.
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicRef()],
    });
    expect(alarm.AlarmDescription).toMatch(/npx microbatch --stack STACK nodes list/);
  });

  it('alarms when an interval leaves the open window without converging', () => {
    const alarm = properties(logicalId(synthesized.stack.monitoring.alarms.intervalsExpired));
    expect(alarm).toMatchObject({
      Namespace: 'MicrobatchSync',
      MetricName: METRIC.IntervalsExpired,
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicRef()],
    });
  });

  it.each(FUNCTION_NAMES)('alarms on errors of the %s function', (name) => {
    synthesized.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(fn(name).function) } }],
      Statistic: 'Sum',
      Period: 300,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      AlarmActions: [topicRef()],
    });
  });

  it.each(['planner', 'checker'] as const)("alarms when Lambda cannot deliver a failed %s run's record to the failed-ticks queue", (name) => {
    const alarm = properties(logicalId(synthesized.stack.monitoring.alarms.destinationDeliveryFailures[name]));
    expect(alarm).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'DestinationDeliveryFailures',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(fn(name).function) } }],
      Statistic: 'Sum',
      Period: 300,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicRef()],
    });
    expect(alarm.AlarmDescription).toMatch(new RegExp(`^Lambda could not send the record of a failed ${name} run`));
  });

  it('watches destination deliveries of the scheduled functions only: nothing invokes the others asynchronously', () => {
    const watched = Object.values(resourcesOfType(json, 'AWS::CloudWatch::Alarm'))
      .filter((alarm) => alarm.Properties?.MetricName === 'DestinationDeliveryFailures')
      .map((alarm) => (alarm.Properties?.Dimensions as { Value: unknown }[])[0]?.Value);
    expect(watched).toEqual([{ Ref: logicalId(fn('planner').function) }, { Ref: logicalId(fn('checker').function) }]);
  });

  it('sends every alarm and its recovery to the topic, which requires TLS and has no subscriber by default', () => {
    const alarms = Object.values(resourcesOfType(json, 'AWS::CloudWatch::Alarm'));
    // 11 on the system's own signals, 6 on function errors (one per function), 2 on the scheduled functions' destinations.
    expect(alarms).toHaveLength(19);
    for (const alarm of alarms) expect(alarm.Properties).toMatchObject({ AlarmActions: [topicRef()], OKActions: [topicRef()] });
    synthesized.template.resourceCountIs('AWS::SNS::Subscription', 0);
    synthesized.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('encrypts the alarm topic with a rotating customer managed key that CloudWatch may use', () => {
    const [keyId] = Object.keys(resourcesOfType(json, 'AWS::KMS::Key'));
    expect(keyId).toBeDefined();
    synthesized.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    synthesized.template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });

  it('describes the failed-ticks alarm as a lost tick', () => {
    const alarm = properties(logicalId(synthesized.stack.monitoring.alarms.failedTicks));
    expect(alarm).toMatchObject({ Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['SchedulerDeadLetterQueue', 'QueueName'] } }] });
    expect(alarm.AlarmDescription).toMatch(/^A planner or checker tick was lost/);
  });

  it("shows every alarm of the stack, and nothing else, in the dashboard's alarm widget", () => {
    const [dashboard] = Object.values(resourcesOfType(json, 'AWS::CloudWatch::Dashboard'));
    const parts = (dashboard?.Properties?.DashboardBody as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
    const shown = parts.flatMap((part) => {
      const [id, attribute] = (part as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'] ?? [];
      return attribute === 'Arn' && id !== undefined ? [id] : [];
    });
    expect(shown.sort()).toEqual(Object.keys(resourcesOfType(json, 'AWS::CloudWatch::Alarm')).sort());
    expect(shown).toContain(logicalId(synthesized.stack.monitoring.alarms.failedTicks));
  });

  it('builds a dashboard of convergence lag, lagging nodes, updates applied, DLQ depth, shards, plan records and the alarms', () => {
    const body = dashboardBody();
    expect(body.widgets.map((widget) => widget.properties.title)).toEqual([
      'Convergence lag (seconds)',
      'Lagging nodes',
      'Updates per interval',
      'Dead-letter queue depth',
      'Shards per interval',
      'Plan records',
      'Alarms',
    ]);
    const metricNames = body.widgets.flatMap((widget) => (widget.properties.metrics ?? []).map((metric) => metric[1]));
    expect(metricNames).toEqual(expect.arrayContaining([METRIC.ConvergenceLagSeconds, METRIC.LaggingNodes, METRIC.UpdatesApplied, 'ApproximateNumberOfMessagesVisible']));
  });

  it('reads only metrics a handler emits, and every metric of the list has a handler that emits it', () => {
    const emitted = new Set(FUNCTION_NAMES.flatMap(metricsTheHandlerEmits));
    expect([...emitted].sort()).toEqual(Object.values(METRIC).sort());
    const alarmed = Object.values(resourcesOfType(json, 'AWS::CloudWatch::Alarm'))
      .filter((alarm) => alarm.Properties?.Namespace === 'MicrobatchSync')
      .map((alarm) => alarm.Properties?.MetricName);
    // A dashboard metric is [namespace, name, ...dimensions] (or ['.', …] for "same as above").
    const graphed = dashboardBody().widgets.flatMap((widget) => (widget.properties.metrics ?? []).filter((metric) => metric[0] === 'MicrobatchSync').map((metric) => metric[1]));
    expect(alarmed.length).toBeGreaterThan(0);
    expect(graphed.length).toBeGreaterThan(0);
    for (const name of [...alarmed, ...graphed]) expect(emitted).toContain(name);
  });
});

describe('outputs', () => {
  it('tells a user the table names, queue URLs, function names, alarm topic and dashboard link', () => {
    expect(Object.keys(json.Outputs ?? {}).sort()).toEqual([
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
    expect(json.Outputs?.QueueUrl?.Value).toEqual({ Ref: 'MicrobatchQueue' });
    expect(JSON.stringify(json.Outputs?.DashboardUrl?.Value)).toContain('console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:name=');
  });
});
