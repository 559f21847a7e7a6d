import type { SendMessageBatchCommandInput, SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PlanIncompleteError, ValidationError } from '#shared/domain/errors.ts';
import { parseMicrobatch } from '#shared/domain/schemas.ts';
import type { ScheduledTick } from '#shared/domain/scheduled-event.ts';
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
 * - n-a (1/s, share 60) starts from scratch: target 60 in 6 tokens;
 * - n-b (2.5/s, share 150) has 60 outstanding (applied 100, planned 160): new work 160 → 310, and
 *   21 tokens carry it from its cursor at 100;
 * - n-c (1/s) lacks only 15 updates: target 1000 in 2 tokens;
 * - n-d was already planned for this interval, n-e is caught up: nothing for them.
 */
const NODES = [
  nodeItem({ nodeId: 'n-a', rate: 1 }),
  nodeItem({ nodeId: 'n-b', rate: 2.5, appliedSeq: 100, plannedSeq: 160, plannedInterval: INTERVAL - 1, plannedAt: '2026-11-27T10:17:00.000Z', progressSeq: 100, progressInterval: INTERVAL - 1 }),
  nodeItem({ nodeId: 'n-c', rate: 1, appliedSeq: 985, plannedSeq: 985, plannedInterval: INTERVAL - 5 }),
  nodeItem({ nodeId: 'n-d', rate: 1, appliedSeq: 500, plannedSeq: 560, plannedInterval: INTERVAL, plannedAt: PLANNED_AT }),
  nodeItem({ nodeId: 'n-e', rate: 1, appliedSeq: HEAD, plannedSeq: HEAD, plannedInterval: INTERVAL - 1 }),
];
const EXPECTED = [
  { nodeId: 'n-a', applied: 0, from: 0, target: 60, count: 6 },
  { nodeId: 'n-b', applied: 100, from: 160, target: 310, count: 21 },
  { nodeId: 'n-c', applied: 985, from: 985, target: 1000, count: 2 },
] as const;
const MICROBATCHES = 29;

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

/** The conditional claims on the Nodes table (the Convergence table gets an UpdateItem too: the totals). */
function claims(): { nodeId: unknown; input: UpdateCommandInput }[] {
  return ddb
    .commandCalls(UpdateCommand)
    .filter((call) => call.args[0].input.TableName === TABLES.nodes)
    .map((call) => ({ nodeId: call.args[0].input.Key?.nodeId as unknown, input: call.args[0].input }));
}

describe('planner handler', () => {
  let plan: (event: unknown) => Promise<PlanIntervalResult>;

  beforeAll(async () => {
    stubEnv(functionEnv({ BATCH_SIZE: '10', INTERVAL_SECONDS: '60' }));
    // The handler reads its configuration at import: only now is the environment in place.
    const { handler } = await import('#functions/planner/handler.ts');
    plan = async (event) => (await handler(event as ScheduledTick, context)) as PlanIntervalResult;
  });

  beforeEach(() => {
    ddb.reset();
    sqs.reset();
    ddb.on(GetCommand, { TableName: TABLES.log, Key: { stream: STREAM, seq: 0 } }).resolves({ Item: headItem(HEAD, HEAD_CHAIN) });
    ddb.on(DescribeTableCommand, { TableName: TABLES.nodes }).resolves({ Table: { ItemCount: NODES.length } });
    ddb.on(ScanCommand, { TableName: TABLES.nodes }).resolves({ Items: NODES });
    ddb.on(UpdateCommand).resolves({});
    ddb.on(PutCommand).resolves({});
    sqs.on(SendMessageBatchCommand).callsFake(acceptAll);
  });

  it('sends each node tokens that carry its plan’s target, grouped by node and deduplicated by interval, index and target', async () => {
    // Act
    const result = await plan(classicScheduledEvent());

    // Assess
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { TableName: TABLES.log, Key: { stream: STREAM, seq: 0 }, ConsistentRead: true });
    expect(ddb).toHaveReceivedCommandWith(ScanCommand, { TableName: TABLES.nodes, ConsistentRead: true });
    const entries = sentEntries();
    expect(entries).toHaveLength(MICROBATCHES);
    for (const expected of EXPECTED) {
      const mine = entries.filter((entry) => entry.MessageGroupId === expected.nodeId);
      const microbatches = mine.map((entry) => parseMicrobatch(entry.MessageBody ?? '')).sort((a, b) => a.index - b.index);
      expect(microbatches).toEqual(
        Array.from({ length: expected.count }, (_, index) => ({
          v: 2,
          stream: STREAM,
          nodeId: expected.nodeId,
          interval: INTERVAL,
          from: expected.from,
          target: expected.target,
          index,
          count: expected.count,
          plannedAt: PLANNED_AT,
        })),
      );
      expect(mine.map((entry) => entry.MessageDeduplicationId).sort()).toEqual(microbatches.map((m) => `${m.nodeId}:${INTERVAL}:${m.index}:${m.target}`).sort());
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
    // Prepare: one node with 10 tokens, so the first call carries them all.
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
    expect(retry?.map((entry) => entry.MessageDeduplicationId)).toEqual(['n-a:29929578:3:100', 'n-a:29929578:7:100']);
    expect(result).toMatchObject({ microbatches: 10, nodesPlanned: 1 });
  });

  it('claims each planned node on the plannedSeq it read, for interval k, with its progress, only after sending its tokens', async () => {
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
          ':plannedSeq': expected.target,
          ':plannedAt': PLANNED_AT,
          ':plannedInterval': INTERVAL,
          ':progressSeq': expected.applied,
          // n-b's cursor has not moved since the planner saw it at INTERVAL − 1: its stall clock runs on.
          ':progressInterval': expected.nodeId === 'n-b' ? INTERVAL - 1 : INTERVAL,
        },
      });
    }
    const lastSend = sqs.commandCalls(SendMessageBatchCommand).at(-1);
    for (const claim of ddb.commandCalls(UpdateCommand)) {
      expect(lastSend?.calledBefore(claim)).toBe(true);
    }
  });

  it('skips and reports Nodes items written by hand with a bad rate or an id SQS refuses, and plans every other node', async () => {
    // Prepare: the README's AWS CLI example with "S" for the rate, an id with a space, a rate of 0.
    ddb.on(ScanCommand, { TableName: TABLES.nodes }).resolves({
      Items: [...NODES, { ...nodeItem({ nodeId: 'n-string' }), rate: '5' }, nodeItem({ nodeId: 'tenant 7' }), nodeItem({ nodeId: 'n-zero', rate: 0 }), nodeItem({ nodeId: 'tenant:8' })],
    });

    // Act
    const result = await plan(classicScheduledEvent());

    // Assess
    expect(result).toMatchObject({ activeNodes: 6, nodesPlanned: 4, rejectedNodes: 3 });
    expect(new Set(sentEntries().map((entry) => entry.MessageGroupId))).toEqual(new Set(['n-a', 'n-b', 'n-c', 'tenant:8']));
    expect(claims().map((claim) => claim.nodeId).sort()).toEqual(['n-a', 'n-b', 'n-c', 'tenant:8']);
  });

  it('leaves a node unclaimed when SQS keeps refusing one of its tokens, claims the others, and fails the run so Lambda retries it', async () => {
    // Prepare: every entry of n-c is refused (after the adapter's retries).
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
      const entries = input.Entries ?? [];
      const refused = entries.filter((entry) => entry.MessageGroupId === 'n-c');
      return {
        Successful: entries.filter((entry) => !refused.includes(entry)).map((entry) => ({ Id: entry.Id, MessageId: 'm', MD5OfMessageBody: 'md5' })),
        Failed: refused.map((entry) => ({ Id: entry.Id, Code: 'InternalError', SenderFault: false })),
      };
    });

    // Act
    const invocation = plan(classicScheduledEvent());

    // Assess
    await expect(invocation).rejects.toThrow(PlanIncompleteError);
    expect(claims().map((claim) => claim.nodeId).sort()).toEqual(['n-a', 'n-b']);
  });

  it('gives a node already planned for this interval no message and no claim', async () => {
    // Act
    const result = await plan(classicScheduledEvent());

    // Assess
    expect(sentMicrobatches().filter((microbatch) => microbatch.nodeId === 'n-d')).toEqual([]);
    expect(claims().filter((claim) => claim.nodeId === 'n-d')).toEqual([]);
    expect(result.skipped).toEqual({ 'already-planned': 1, 'caught-up': 1, 'in-flight-cap': 0, 'awaiting-outstanding': 0 });
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
    expect(claims()).toHaveLength(3);
  });

  it('writes the plan header before it plans, on the condition that the interval has none yet, then adds its totals', async () => {
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
        converged: false,
        expiresAt: Math.floor(Date.parse(SCHEDULED_AT) / 1000) + 30 * 86_400,
      },
      ConditionExpression: 'attribute_not_exists(#interval)',
      ExpressionAttributeNames: { '#interval': 'interval' },
    });
    const [header] = ddb.commandCalls(PutCommand);
    const [firstSend] = sqs.commandCalls(SendMessageBatchCommand);
    expect(header !== undefined && firstSend !== undefined && header.calledBefore(firstSend)).toBe(true);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: TABLES.convergence,
      Key: { stream: STREAM, interval: INTERVAL },
      UpdateExpression: 'ADD #nodesPlanned :nodesPlanned, #microbatches :microbatches',
      ExpressionAttributeValues: { ':nodesPlanned': 3, ':microbatches': MICROBATCHES },
    });
    expect(result.headerWritten).toBe(true);
  });

  it('plans against the head of the header an earlier run of the interval wrote, not the current head', async () => {
    // Prepare: a run that crashed wrote the header at head 990; ingest has moved the head to 1000 since.
    ddb.on(PutCommand, { TableName: TABLES.convergence }).rejects(conditionFailed());
    ddb.on(GetCommand, { TableName: TABLES.convergence }).resolves({
      Item: { stream: STREAM, interval: INTERVAL, head: 990, headChain: 'b'.repeat(64), plannedAt: PLANNED_AT, converged: false, expiresAt: 1 },
    });

    // Act
    const result = await plan(classicScheduledEvent());

    // Assess
    expect(result).toMatchObject({ headerWritten: false, head: 990 });
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { TableName: TABLES.convergence, Key: { stream: STREAM, interval: INTERVAL }, ConsistentRead: true });
    const forC = sentMicrobatches().filter((microbatch) => microbatch.nodeId === 'n-c');
    expect(forC.map((microbatch) => microbatch.target)).toEqual([990]);
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
