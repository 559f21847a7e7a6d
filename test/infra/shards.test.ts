/**
 * The sharded planner and checker in the stack with cdk.json's defaults: the coordinators and their
 * shard functions, the shard task queues between them, and the Plans table the planner shards keep.
 * One synth serves the whole file.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { FUNCTION_NAMES, FUNCTIONS, QUEUES, TASK_MAX_RECEIVE_COUNT, type FunctionName } from '#infra/definitions.ts';
import { defaultStack, grantsOf, logicalId, resourcesOfType } from './support.ts';

const built = defaultStack();
const { fn, properties } = built;

/** Each shard function with the task queue it consumes, the dead-letter queue behind it and the coordinator that sends to it. */
const SHARDS = [
  { shard: 'plannerShard', coordinator: 'planner', queue: QUEUES.planTasks.logicalId, deadLetterQueue: QUEUES.planTasksDeadLetter.logicalId },
  { shard: 'checkerShard', coordinator: 'checker', queue: QUEUES.checkTasks.logicalId, deadLetterQueue: QUEUES.checkTasksDeadLetter.logicalId },
] as const;

/** The event source mapping of a function (it has exactly one). */
function eventSourceOf(name: FunctionName): Record<string, unknown> {
  const mappings = Object.values(resourcesOfType(built.json, 'AWS::Lambda::EventSourceMapping')).filter(
    (mapping) => JSON.stringify(mapping.Properties?.FunctionName) === JSON.stringify({ Ref: logicalId(fn(name).function) }),
  );
  expect(mappings).toHaveLength(1);
  return mappings[0]?.Properties ?? {};
}

describe('the shard functions', () => {
  it.each(SHARDS)('feed the $shard one task at a time from its queue, with partial batch responses and the shardMaxConcurrency cap', ({ shard, queue }) => {
    expect(eventSourceOf(shard)).toEqual({
      EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
      FunctionName: { Ref: logicalId(fn(shard).function) },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      // cdk.json's shardMaxConcurrency.
      ScalingConfig: { MaximumConcurrency: 100 },
    });
  });

  it('gives the shard functions one full vCPU (1,769 MB) and two minutes, the coordinators 256 MB and 30 s', () => {
    const sizes = Object.fromEntries(
      (['planner', 'plannerShard', 'checker', 'checkerShard'] as const).map((name) => {
        const { MemorySize, Timeout } = properties(logicalId(fn(name).function));
        return [name, { MemorySize, Timeout }];
      }),
    );
    expect(sizes).toEqual({
      planner: { MemorySize: 256, Timeout: 30 },
      plannerShard: { MemorySize: 1_769, Timeout: 120 },
      checker: { MemorySize: 256, Timeout: 30 },
      checkerShard: { MemorySize: 1_769, Timeout: 120 },
    });
  });

  it('are the only functions a task queue invokes, and no schedule or asynchronous invoke reaches them', () => {
    expect(FUNCTION_NAMES.filter((name) => FUNCTIONS[name].invokedBy === 'taskQueue')).toEqual(['plannerShard', 'checkerShard']);
    const scheduled = Object.values(resourcesOfType(built.json, 'AWS::Scheduler::Schedule')).map((schedule) => (schedule.Properties as { Target: { Arn: unknown } }).Target.Arn);
    const asyncConfigured = Object.values(resourcesOfType(built.json, 'AWS::Lambda::EventInvokeConfig')).map((config) => config.Properties?.FunctionName);
    for (const { shard } of SHARDS) {
      expect(scheduled).not.toContainEqual({ 'Fn::GetAtt': [logicalId(fn(shard).function), 'Arn'] });
      expect(asyncConfigured).not.toContainEqual({ Ref: logicalId(fn(shard).function) });
    }
  });
});

describe('the shard task queues', () => {
  it.each(SHARDS)("hide a $shard task for six times the shard's timeout, so Lambda's retries of a throttled task stay in one receive", ({ shard, queue }) => {
    const timeout = properties(logicalId(fn(shard).function)).Timeout as number;
    expect(timeout).toBe(FUNCTIONS[shard].timeoutSeconds);
    expect(properties(queue).VisibilityTimeout).toBe(6 * timeout);
  });

  it.each(SHARDS)('dead-letter a $shard task after TASK_MAX_RECEIVE_COUNT receives', ({ queue, deadLetterQueue }) => {
    expect(TASK_MAX_RECEIVE_COUNT).toBe(3);
    expect(properties(queue).RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [deadLetterQueue, 'Arn'] }, maxReceiveCount: TASK_MAX_RECEIVE_COUNT });
  });

  it.each(SHARDS)('make the $shard queue a standard one that keeps a task for a day, its dead-letter queue for 14 days', ({ queue, deadLetterQueue }) => {
    // The redrive policy has its own test above.
    expect(Object.keys(properties(queue)).sort()).toEqual(['MessageRetentionPeriod', 'RedrivePolicy', 'SqsManagedSseEnabled', 'VisibilityTimeout']);
    expect(properties(queue)).toMatchObject({ MessageRetentionPeriod: 86_400, SqsManagedSseEnabled: true, VisibilityTimeout: 720 });
    expect(properties(deadLetterQueue)).toEqual({ MessageRetentionPeriod: 14 * 86_400, SqsManagedSseEnabled: true });
  });

  it.each(SHARDS.flatMap(({ queue, deadLetterQueue }) => [queue, deadLetterQueue]))('encrypt %s with SQS-managed keys and deny it every request without TLS', (queueId) => {
    expect(properties(queueId).SqsManagedSseEnabled).toBe(true);
    expect(properties(queueId).KmsMasterKeyId).toBeUndefined();
    built.synthesized.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it.each(SHARDS)('let only the $coordinator send to its queue and only the $shard consume it', ({ shard, coordinator, queue, deadLetterQueue }) => {
    const access = Object.fromEntries(FUNCTION_NAMES.flatMap((name) => (grantsOf(built.json, fn(name))[queue] === undefined ? [] : [[name, grantsOf(built.json, fn(name))[queue]]])));
    expect(access).toEqual({
      [coordinator]: ['sqs:SendMessage'],
      [shard]: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'],
    });
    // SQS itself moves a task to the dead-letter queue: no function needs access to it.
    for (const name of FUNCTION_NAMES) expect(grantsOf(built.json, fn(name))[deadLetterQueue], name).toBeUndefined();
  });
});

describe('the Plans table', () => {
  it("keys each segment's plan by segment (S) and interval (N), expires it on expiresAt and keeps no point-in-time recovery", () => {
    expect(properties('PlansTable')).toMatchObject({
      KeySchema: [
        { AttributeName: 'segment', KeyType: 'HASH' },
        { AttributeName: 'interval', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'segment', AttributeType: 'S' },
        { AttributeName: 'interval', AttributeType: 'N' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false },
      DeletionProtectionEnabled: true,
    });
    expect(built.json.Resources.PlansTable?.DeletionPolicy).toBe('Retain');
  });

  it('is read and written by the planner shards only', () => {
    const access = Object.fromEntries(FUNCTION_NAMES.flatMap((name) => (grantsOf(built.json, fn(name)).PlansTable === undefined ? [] : [[name, grantsOf(built.json, fn(name)).PlansTable]])));
    expect(access).toEqual({ plannerShard: ['dynamodb:PutItem', 'dynamodb:Query'] });
  });
});
