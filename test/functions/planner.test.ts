import type { SendMessageBatchCommandInput, SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '#shared/domain/errors.ts';
import { parseMicrobatch, type ScheduledEvent } from '#shared/domain/schemas.ts';
import type { Microbatch } from '#shared/domain/types.ts';
import type { PlanIntervalResult } from '#shared/usecases/plan-interval.ts';
import { conditionFailed } from '#test/adapters/support.ts';
import { functionEnv, lambdaContext, QUEUE_URL, stubEnv, TABLES } from '#test/support/lambda.ts';
import { classicScheduledEvent, headItem, INTERVAL, nodeItem, SCHEDULED_AT, schedulerEvent, STREAM } from './support.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
const context = lambdaContext('MicrobatchSync-Planner-AbC123');

const HEAD = 1000;
const HEAD_CHAIN = 'a'.repeat(64);
const PLANNED_AT = new Date(SCHEDULED_AT).toISOString();

/**
 * Five active nodes against head 1000 with t = 60 s and b = 10:
 * - n-a (1/s, share 60) starts from scratch: 0 → 60 in 6 microbatches;
 * - n-b (2.5/s, share 150) has a fresh plan in flight up to 160: 160 → 310 in 15 microbatches;
 * - n-c (1/s) lacks only 15 updates: 985 → 1000 in 2 microbatches;
 * - n-d was already planned for this interval, n-e is caught up: nothing for them.
 */
const NODES = [
  nodeItem({ nodeId: 'n-a', rate: 1 }),
  nodeItem({ nodeId: 'n-b', rate: 2.5, appliedSeq: 100, plannedSeq: 160, plannedInterval: INTERVAL - 1, plannedAt: '2026-11-27T10:17:00.000Z' }),
  nodeItem({ nodeId: 'n-c', rate: 1, appliedSeq: 985, plannedSeq: 985, plannedInterval: INTERVAL - 5 }),
  nodeItem({ nodeId: 'n-d', rate: 1, appliedSeq: 500, plannedSeq: 560, plannedInterval: INTERVAL, plannedAt: PLANNED_AT }),
  nodeItem({ nodeId: 'n-e', rate: 1, appliedSeq: HEAD, plannedSeq: HEAD, plannedInterval: INTERVAL - 1 }),
];
const EXPECTED = [
  { nodeId: 'n-a', from: 0, plannedSeq: 60, count: 6 },
  { nodeId: 'n-b', from: 160, plannedSeq: 310, count: 15 },
  { nodeId: 'n-c', from: 985, plannedSeq: 1000, count: 2 },
] as const;
const MICROBATCHES = 23;

/** SQS accepts every entry of the call. */
function acceptAll(input: SendMessageBatchCommandInput): unknown {
  return {
    Successful: (input.Entries ?? []).map((entry) => ({ Id: entry.Id, MessageId: `msg-${entry.MessageDeduplicationId ?? ''}`, MD5OfMessageBody: 'md5' })),
    Failed: [],
  };
}

function sentEntries(calls = sqs.commandCalls(SendMessageBatchCommand)): SendMessageBatchRequestEntry[] {
  return calls.flatMap((call) => call.args[0].input.Entries ?? []);
}

function sentMicrobatches(): Microbatch[] {
  return sentEntries().map((entry) => parseMicrobatch(entry.MessageBody ?? ''));
}

function claims(): { nodeId: unknown; input: UpdateCommandInput }[] {
  return ddb.commandCalls(UpdateCommand).map((call) => ({ nodeId: call.args[0].input.Key?.nodeId as unknown, input: call.args[0].input }));
}

describe('planner handler', () => {
  let plan: (event: unknown) => Promise<PlanIntervalResult>;

  beforeAll(async () => {
    stubEnv(functionEnv({ BATCH_SIZE: '10', INTERVAL_SECONDS: '60' }));
    // The handler reads its configuration at import: only now is the environment in place.
    const { handler } = await import('#functions/planner/handler.ts');
    plan = async (event) => (await handler(event as ScheduledEvent, context)) as PlanIntervalResult;
  });

  beforeEach(() => {
    ddb.reset();
    sqs.reset();
    ddb.on(GetCommand, { TableName: TABLES.log, Key: { stream: STREAM, seq: 0 } }).resolves({ Item: headItem(HEAD, HEAD_CHAIN) });
    ddb.on(ScanCommand, { TableName: TABLES.nodes }).resolves({ Items: NODES });
    ddb.on(UpdateCommand).resolves({});
    ddb.on(PutCommand).resolves({});
    sqs.on(SendMessageBatchCommand).callsFake(acceptAll);
  });

  it('sends each node its share as microbatches of at most b updates, grouped by node and deduplicated by range and interval', async () => {
    // Act
    const result = await plan(classicScheduledEvent());

    // Assess
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { TableName: TABLES.log, Key: { stream: STREAM, seq: 0 }, ConsistentRead: true });
    expect(ddb).toHaveReceivedCommandWith(ScanCommand, { TableName: TABLES.nodes, ConsistentRead: true });
    const entries = sentEntries();
    expect(entries).toHaveLength(MICROBATCHES);
    for (const expected of EXPECTED) {
      const mine = entries.filter((entry) => entry.MessageGroupId === expected.nodeId);
      const microbatches = mine.map((entry) => parseMicrobatch(entry.MessageBody ?? ''));
      expect(microbatches).toEqual(
        Array.from({ length: expected.count }, (_, index) => ({
          v: 1,
          stream: STREAM,
          nodeId: expected.nodeId,
          interval: INTERVAL,
          from: expected.from + index * 10,
          to: Math.min(expected.from + (index + 1) * 10, expected.plannedSeq),
          index,
          count: expected.count,
          plannedAt: PLANNED_AT,
        })),
      );
      expect(mine.map((entry) => entry.MessageDeduplicationId)).toEqual(microbatches.map((m) => `${m.nodeId}:${m.from}:${m.to}:${INTERVAL}`));
    }
    expect(result).toMatchObject({ interval: INTERVAL, head: HEAD, activeNodes: 5, nodesPlanned: 3, microbatches: MICROBATCHES, updatesPlanned: 60 + 150 + 15, claimsLost: 0 });
  });

  it('sends at most 10 entries per SendMessageBatch call, in exactly ceil(n / 10) calls', async () => {
    // Act
    await plan(classicScheduledEvent());

    // Assess
    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(Math.ceil(MICROBATCHES / 10));
    for (const call of calls) {
      expect(call.args[0].input.QueueUrl).toBe(QUEUE_URL);
      expect(call.args[0].input.Entries?.length).toBeLessThanOrEqual(10);
    }
    const ids = sentEntries().map((entry) => entry.MessageDeduplicationId);
    expect(new Set(ids).size).toBe(MICROBATCHES);
  });

  it('re-sends only the entries a response lists as failed', async () => {
    // Prepare: one node with 10 microbatches, so the first call carries them all.
    ddb.on(ScanCommand, { TableName: TABLES.nodes }).resolves({ Items: [nodeItem({ nodeId: 'n-a', rate: 100 / 60 })] });
    sqs
      .on(SendMessageBatchCommand)
      .callsFakeOnce((input: SendMessageBatchCommandInput) => ({
        Successful: (input.Entries ?? [])
          .filter((entry) => entry.Id !== '3' && entry.Id !== '7')
          .map((entry) => ({ Id: entry.Id, MessageId: 'm', MD5OfMessageBody: 'md5' })),
        Failed: [
          { Id: '3', Code: 'InternalError', Message: 'Internal error', SenderFault: false },
          { Id: '7', Code: 'ServiceUnavailable', Message: 'Try again', SenderFault: false },
        ],
      }))
      .callsFake(acceptAll);

    // Act
    const result = await plan(classicScheduledEvent());

    // Assess
    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(2);
    const [first, retry] = calls.map((call) => call.args[0].input.Entries ?? []);
    expect(first).toHaveLength(10);
    const failed = [first?.[3], first?.[7]];
    expect(retry?.map(({ MessageBody, MessageGroupId, MessageDeduplicationId }) => ({ MessageBody, MessageGroupId, MessageDeduplicationId }))).toEqual(
      failed.map((entry) => ({ MessageBody: entry?.MessageBody, MessageGroupId: 'n-a', MessageDeduplicationId: entry?.MessageDeduplicationId })),
    );
    expect(retry?.map((entry) => entry.MessageDeduplicationId)).toEqual(['n-a:30:40:29929578', 'n-a:70:80:29929578']);
    expect(result).toMatchObject({ microbatches: 10, nodesPlanned: 1 });
  });

  it('claims each planned node on the plannedSeq it read, for interval k, only after sending its microbatches', async () => {
    // Act
    await plan(classicScheduledEvent());

    // Assess
    const made = claims();
    expect(made.map((claim) => claim.nodeId).sort()).toEqual(['n-a', 'n-b', 'n-c']);
    const read = new Map(NODES.map((node) => [node.nodeId, node.plannedSeq]));
    for (const expected of EXPECTED) {
      expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
        TableName: TABLES.nodes,
        Key: { nodeId: expected.nodeId },
        ConditionExpression: '#plannedSeq = :expected AND (attribute_not_exists(#plannedInterval) OR #plannedInterval < :plannedInterval)',
        ExpressionAttributeValues: {
          ':expected': read.get(expected.nodeId),
          ':plannedSeq': expected.plannedSeq,
          ':plannedAt': PLANNED_AT,
          ':plannedInterval': INTERVAL,
        },
      });
    }
    const lastSend = sqs.commandCalls(SendMessageBatchCommand).at(-1);
    for (const claim of ddb.commandCalls(UpdateCommand)) {
      expect(lastSend?.calledBefore(claim)).toBe(true);
    }
  });

  it('gives a node already planned for this interval no message and no claim', async () => {
    // Act
    const result = await plan(classicScheduledEvent());

    // Assess
    expect(sentMicrobatches().filter((microbatch) => microbatch.nodeId === 'n-d')).toEqual([]);
    expect(claims().filter((claim) => claim.nodeId === 'n-d')).toEqual([]);
    expect(result.skipped).toEqual({ 'already-planned': 1, 'in-flight-cap': 0, 'caught-up': 1 });
  });

  it('sends identical deduplication ids when a second run plans the same interval against unchanged state', async () => {
    // Prepare
    await plan(classicScheduledEvent());
    const firstRun = sqs.commandCalls(SendMessageBatchCommand);

    // Act
    await plan(classicScheduledEvent());

    // Assess
    const secondRun = sqs.commandCalls(SendMessageBatchCommand).slice(firstRun.length);
    const ids = (calls: typeof firstRun): (string | undefined)[] => sentEntries(calls).map((entry) => entry.MessageDeduplicationId);
    expect(ids(secondRun)).toHaveLength(MICROBATCHES);
    expect(ids(secondRun)).toEqual(ids(firstRun));
  });

  it('counts a claim lost to another planner run in its result instead of throwing', async () => {
    // Prepare
    ddb.on(UpdateCommand, { Key: { nodeId: 'n-b' } }).rejects(conditionFailed());

    // Act
    const result = await plan(classicScheduledEvent());

    // Assess
    expect(result).toMatchObject({ nodesPlanned: 3, claimsLost: 1, headerWritten: true });
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 3);
  });

  it('writes the plan header on the condition that the interval has none yet', async () => {
    // Act
    const result = await plan(classicScheduledEvent());

    // Assess
    expect(ddb).toHaveReceivedCommandTimes(PutCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      TableName: TABLES.convergence,
      Item: {
        stream: STREAM,
        interval: INTERVAL,
        head: HEAD,
        headChain: HEAD_CHAIN,
        plannedAt: PLANNED_AT,
        nodesPlanned: 3,
        microbatches: MICROBATCHES,
        converged: false,
        expiresAt: Math.floor(Date.parse(SCHEDULED_AT) / 1000) + 30 * 86_400,
      },
      ConditionExpression: 'attribute_not_exists(#interval)',
      ExpressionAttributeNames: { '#interval': 'interval' },
    });
    expect(result.headerWritten).toBe(true);
  });

  it('leaves the plan header of the first writer in place', async () => {
    // Prepare
    ddb.on(PutCommand, { TableName: TABLES.convergence }).rejects(conditionFailed());

    // Act
    const result = await plan(classicScheduledEvent());

    // Assess
    expect(result.headerWritten).toBe(false);
    expect(result.microbatches).toBe(MICROBATCHES);
  });

  it.each([
    ['a classic EventBridge "Scheduled Event"', classicScheduledEvent()],
    ['an EventBridge Scheduler payload', schedulerEvent()],
  ])('takes interval k = floor(epochSeconds / t) from %s', async (_shape, event) => {
    // Act
    const result = await plan(event);

    // Assess
    expect(result.interval).toBe(INTERVAL);
    expect(sentMicrobatches().every((microbatch) => microbatch.interval === INTERVAL)).toBe(true);
    expect(claims().every((claim) => claim.input.ExpressionAttributeValues?.[':plannedInterval'] === INTERVAL)).toBe(true);
  });

  it.each([
    ['an empty object', {}, ['time', 'scheduledTime']],
    ['a classic event without its time', { 'detail-type': 'Scheduled Event', source: 'aws.events' }, ['time']],
    ['a Scheduler payload whose time is not a time', { scheduledTime: 'yesterday', executionId: 'x' }, ['scheduledTime']],
  ])('rejects %s with a ValidationError naming the field, and makes no AWS call', async (_what, event, fields) => {
    // Act
    const invocation = plan(event);

    // Assess
    await expect(invocation).rejects.toThrow(ValidationError);
    await invocation.catch((error: unknown) => {
      for (const field of fields) expect((error as Error).message).toMatch(new RegExp(`\\b${field}: `));
    });
    expect(ddb.calls()).toHaveLength(0);
    expect(sqs.calls()).toHaveLength(0);
  });
});
