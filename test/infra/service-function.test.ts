/**
 * The ServiceFunction construct on its own: the environment it merges and the grant-and-set calls.
 */
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { RESOURCE_ENV } from '#shared/config.ts';
import { validateSettings } from '#shared/domain/config.ts';
import { ServiceFunction, type ServiceFunctionProps } from '#infra/constructs/service-function.ts';
import { FUNCTIONS } from '#infra/definitions.ts';
import { grantsOf, logicalId, type CfnTemplate } from './support.ts';

function build(props: Partial<ServiceFunctionProps> = {}): { stack: Stack; service: ServiceFunction } {
  const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false }), 'Test');
  const service = new ServiceFunction(stack, 'Fn', {
    name: 'ingest',
    settings: validateSettings({ intervalSeconds: 120, batchSize: 7 }, 'cloud'),
    observability: { serviceName: 'svc', metricsNamespace: 'Ns', logLevel: 'INFO', logRetention: RetentionDays.ONE_WEEK },
    removalPolicy: RemovalPolicy.DESTROY,
    environment: { EXTRA: 'yes', POWERTOOLS_LOG_LEVEL: 'DEBUG' },
    ...props,
  });
  return { stack, service };
}

function functionProperties(stack: Stack, service: ServiceFunction): Record<string, unknown> {
  return (Template.fromStack(stack).toJSON() as CfnTemplate).Resources[logicalId(service.function)]?.Properties ?? {};
}

describe('ServiceFunction', () => {
  it("takes the description, timeout and memory from the function's definition", () => {
    const { stack, service } = build();
    expect(functionProperties(stack, service)).toMatchObject({ Description: FUNCTIONS.ingest.description, Timeout: 30, MemorySize: 256 });
  });

  it('takes a timeout that overrides the definition', () => {
    const { stack, service } = build({ timeout: Duration.seconds(10) });
    expect(functionProperties(stack, service)).toMatchObject({ Timeout: 10, MemorySize: 256 });
  });

  it("merges the caller's environment over the defaults", () => {
    const { stack, service } = build();
    const variables = functionProperties(stack, service).Environment as { Variables: Record<string, string> };
    expect(variables.Variables).toMatchObject({ EXTRA: 'yes', POWERTOOLS_LOG_LEVEL: 'DEBUG', INTERVAL_SECONDS: '120', BATCH_SIZE: '7', NODE_OPTIONS: '--enable-source-maps' });
  });

  it('grants exactly the named actions on a table and sets its name in the same call', () => {
    const { stack, service } = build();
    const table = new Table(stack, 'T', { partitionKey: { name: 'id', type: AttributeType.STRING } });
    const queue = new Queue(stack, 'Q');
    service.useTable('nodesTable', table, ['Scan', 'UpdateItem']).useQueue('queueUrl', queue, ['SendMessage']);
    const json = Template.fromStack(stack).toJSON() as CfnTemplate;
    const tableId = logicalId(table);
    const queueId = logicalId(queue);
    expect(grantsOf(json, service)).toMatchObject({ [tableId]: ['dynamodb:Scan', 'dynamodb:UpdateItem'], [queueId]: ['sqs:SendMessage'] });
    expect(json.Resources[logicalId(service.function)]?.Properties?.Environment).toMatchObject({
      Variables: { [RESOURCE_ENV.nodesTable]: { Ref: tableId }, [RESOURCE_ENV.queueUrl]: { Ref: queueId } },
    });
  });

  it('sets a task queue URL in the variable of the resource it is given', () => {
    const { stack, service } = build();
    const queue = new Queue(stack, 'Tasks');
    service.useQueue('planTaskQueueUrl', queue, ['SendMessage']);
    const json = Template.fromStack(stack).toJSON() as CfnTemplate;
    const variables = (json.Resources[logicalId(service.function)]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables[RESOURCE_ENV.planTaskQueueUrl]).toEqual({ Ref: logicalId(queue) });
    expect(variables[RESOURCE_ENV.queueUrl]).toBeUndefined();
  });

  it('consumes a queue with the given batch size and concurrency cap, partial batch responses and the receive actions', () => {
    const { stack, service } = build();
    const queue = new Queue(stack, 'Tasks');
    service.consume(queue, { batchSize: 1, maxConcurrency: 7 });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(queue), 'Arn'] },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 7 },
    });
    expect(grantsOf(template.toJSON() as CfnTemplate, service)[logicalId(queue)]).toEqual([
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
    ]);
  });
});
