import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { SendMessageBatchCommandInput, SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { PutCommandInput } from '@aws-sdk/lib-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ScheduledTick } from '#shared/domain/scheduled-event.ts';
import { parseTask, type PlanTask } from '#shared/domain/shard-task.ts';
import { METRIC } from '#shared/metrics.ts';
import type { StartPlanResult } from '#shared/usecases/start-plan.ts';
import { conditionFailed } from '#test/adapters/support.ts';
import { functionEnv, lambdaContext, PLAN_TASK_QUEUE_URL, stubEnv, TABLES } from '#test/support/lambda.ts';
import { classicScheduledEvent, headItem, INTERVAL, SCHEDULED_AT, schedulerEvent, STREAM } from './support.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
const context = lambdaContext('MicrobatchSync-Planner-AbC123');

const HEAD = 1000;
const HEAD_CHAIN = 'a'.repeat(64);
const PLANNED_AT = new Date(SCHEDULED_AT).toISOString();

/**
 * 230 Nodes items at 10 nodes per shard: S = 23 shards over B = 32 segments (the power of two at
 * or above S; 2,000 nodes per segment would need only one).
 */
const ITEM_COUNT = 230;
const SHARDS = 23;
const SEGMENTS = 32;

type Modules = {
  readonly plan: (event: unknown) => Promise<StartPlanResult>;
  readonly errors: typeof import('#shared/domain/errors.ts');
  readonly observability: typeof import('#shared/observability.ts');
};

/**
 * Starts a fresh container: the handler reads its configuration at import, and the node repository
 * keeps the table's ItemCount for ten minutes per container, so each test cuts from its own count.
 * The error classes and the logger come from the same fresh module instances.
 */
async function coldStart(overrides: Readonly<Record<string, string | undefined>> = {}): Promise<Modules> {
  vi.resetModules();
  stubEnv(functionEnv({ BATCH_SIZE: '10', INTERVAL_SECONDS: '60', NODES_PER_SHARD: '10', ...overrides }));
  const { handler } = await import('#functions/planner/handler.ts');
  return {
    plan: async (event) => (await handler(event as ScheduledTick, context)) as StartPlanResult,
    errors: await import('#shared/domain/errors.ts'),
    observability: await import('#shared/observability.ts'),
  };
}

/** SQS accepts every entry of the call. */
function acceptAll(input: SendMessageBatchCommandInput): unknown {
  return { Successful: (input.Entries ?? []).map((entry) => ({ Id: entry.Id, MessageId: `msg-${entry.Id ?? ''}`, MD5OfMessageBody: 'md5' })), Failed: [] };
}

function sentEntries(calls = sqs.commandCalls(SendMessageBatchCommand)): SendMessageBatchRequestEntry[] {
  return calls.flatMap((call) => call.args[0].input.Entries ?? []);
}

function sentTasks(calls = sqs.commandCalls(SendMessageBatchCommand)): PlanTask[] {
  return sentEntries(calls).map((entry) => parseTask(entry.MessageBody ?? '') as PlanTask);
}

/** The previous interval's header as the Convergence table holds it once its shards reported. */
function previousHeader(fields: { readonly segments: number; readonly scannedItems: number }): Record<string, unknown> {
  return {
    stream: STREAM,
    interval: INTERVAL - 1,
    head: 940,
    headChain: 'c'.repeat(64),
    plannedAt: new Date(Date.parse(SCHEDULED_AT) - 60_000).toISOString(),
    shards: fields.segments,
    segments: fields.segments,
    previousSegments: fields.segments,
    plannedShards: new Set(Array.from({ length: fields.segments }, (_, shard) => shard)),
    activeNodes: fields.scannedItems,
    scannedItems: fields.scannedItems,
  };
}

function headerPut(): PutCommandInput | undefined {
  return ddb.commandCalls(PutCommand).find((call) => call.args[0].input.TableName === TABLES.convergence && call.args[0].input.Item?.stream === STREAM)?.args[0].input;
}

/** The interval clock as the first tick founds it: the numbering floor(time / t) at t = 60 s. */
const FOUNDED_CLOCK = { stream: `${STREAM}#clock`, interval: 0, epochs: [{ firstInterval: 0, startsAt: 0, intervalSeconds: 60 }], version: 1 };

function clockPut(): PutCommandInput | undefined {
  return ddb.commandCalls(PutCommand).find((call) => call.args[0].input.Item?.stream === `${STREAM}#clock`)?.args[0].input;
}

describe('planner handler (the coordinator)', () => {
  let modules: Modules;

  beforeEach(async () => {
    ddb.reset();
    sqs.reset();
    ddb.on(GetCommand, { TableName: TABLES.log, Key: { stream: STREAM, seq: 0 } }).resolves({ Item: headItem(HEAD, HEAD_CHAIN) });
    // No interval clock and no watermark yet (the Convergence table's other items).
    ddb.on(GetCommand, { TableName: TABLES.convergence }).resolves({});
    // The first sharded interval: no earlier header.
    ddb.on(QueryCommand, { TableName: TABLES.convergence }).resolves({ Items: [] });
    ddb.on(DescribeTableCommand, { TableName: TABLES.nodes }).resolves({ Table: { ItemCount: ITEM_COUNT } });
    ddb.on(PutCommand).resolves({});
    sqs.on(SendMessageBatchCommand).callsFake(acceptAll);
    modules = await coldStart();
  });

  // A variable a test sets beyond functionEnv() must not reach the next test.
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('reads the head and writes the plan header with the cut, on the condition that the interval has none yet', async () => {
    // Act
    const result = await modules.plan(classicScheduledEvent());

    // Assess
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { TableName: TABLES.log, Key: { stream: STREAM, seq: 0 }, ConsistentRead: true });
    expect(ddb).toHaveReceivedCommandWith(DescribeTableCommand, { TableName: TABLES.nodes });
    // The stream's first tick founds the interval clock, then writes its header.
    expect(ddb).toHaveReceivedCommandTimes(PutCommand, 2);
    expect(clockPut()).toEqual({
      TableName: TABLES.convergence,
      Item: FOUNDED_CLOCK,
      ConditionExpression: 'attribute_not_exists(#version)',
      ExpressionAttributeNames: { '#version': 'version' },
    });
    expect(headerPut()).toEqual({
      TableName: TABLES.convergence,
      Item: {
        stream: STREAM,
        interval: INTERVAL,
        head: HEAD,
        headChain: HEAD_CHAIN,
        plannedAt: PLANNED_AT,
        shards: SHARDS,
        segments: SEGMENTS,
        // No earlier header: the history of k's segments is in segments cut the same way.
        previousSegments: SEGMENTS,
        expiresAt: Math.floor(Date.parse(SCHEDULED_AT) / 1000) + 30 * 86_400,
        converged: false,
      },
      ConditionExpression: 'attribute_not_exists(#interval)',
      ExpressionAttributeNames: { '#interval': 'interval' },
    });
    const [clock, header] = ddb.commandCalls(PutCommand);
    const [firstSend] = sqs.commandCalls(SendMessageBatchCommand);
    expect(clock?.args[0].input.Item?.stream).toBe(`${STREAM}#clock`);
    expect(clock !== undefined && header !== undefined && clock.calledBefore(header)).toBe(true);
    expect(header !== undefined && firstSend !== undefined && header.calledBefore(firstSend)).toBe(true);
    expect(result).toEqual({ kind: 'planned', interval: INTERVAL, head: HEAD, headerWritten: true, shards: SHARDS, segments: SEGMENTS, fleetSize: ITEM_COUNT });
  });

  it('sends exactly one task per shard on the plan task queue, in ceil(S / 10) SendMessageBatch calls, each a PlanTask', async () => {
    // Act
    await modules.plan(classicScheduledEvent());

    // Assess
    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(Math.ceil(SHARDS / 10));
    for (const call of calls) {
      expect(call.args[0].input.QueueUrl).toBe(PLAN_TASK_QUEUE_URL);
      expect(call.args[0].input.Entries?.length).toBeLessThanOrEqual(10);
    }
    // A standard queue: no message group, no deduplication id.
    for (const entry of sentEntries()) expect(Object.keys(entry).sort()).toEqual(['Id', 'MessageBody']);
    const tasks = sentTasks().sort((a, b) => a.shard - b.shard);
    expect(tasks).toEqual(
      Array.from({ length: SHARDS }, (_, shard) => ({
        v: 1,
        kind: 'plan',
        stream: STREAM,
        interval: INTERVAL,
        plannedAt: PLANNED_AT,
        head: HEAD,
        shards: SHARDS,
        segments: SEGMENTS,
        previousSegments: SEGMENTS,
        shard,
      })),
    );
  });

  it.each([
    // The fleet doubled since DynamoDB last counted it: the last interval's Scans saw 450 items.
    ['the previous interval’s scanned items when they outnumber the table’s ItemCount', { segments: 32, scannedItems: 450 }, { fleetSize: 450, shards: 45, segments: 64, previousSegments: 32 }],
    ['the table’s ItemCount when the previous interval scanned fewer', { segments: 32, scannedItems: 200 }, { fleetSize: ITEM_COUNT, shards: SHARDS, segments: 32, previousSegments: 32 }],
    // 230 nodes would fit 32 segments, but B moves only when the fleet shrinks to a quarter.
    ['the table’s ItemCount, keeping the previous interval’s B while the fleet has not shrunk to a quarter', { segments: 64, scannedItems: 200 }, { fleetSize: ITEM_COUNT, shards: SHARDS, segments: 64, previousSegments: 64 }],
  ])('cuts the interval for %s', async (_case, previous, expected) => {
    // Prepare
    ddb.on(QueryCommand, { TableName: TABLES.convergence }).resolves({ Items: [previousHeader(previous)] });

    // Act
    const result = await modules.plan(classicScheduledEvent());

    // Assess
    // The newest header of the stream, whatever its interval: the previous tick's, here.
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      TableName: TABLES.convergence,
      KeyConditionExpression: '#stream = :stream AND #interval < :before',
      ExpressionAttributeValues: { ':stream': STREAM, ':before': Number.MAX_SAFE_INTEGER },
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    });
    expect(result).toMatchObject({ fleetSize: expected.fleetSize, shards: expected.shards, segments: expected.segments });
    expect(headerPut()?.Item).toMatchObject({ shards: expected.shards, segments: expected.segments, previousSegments: expected.previousSegments });
    expect(sentTasks()).toHaveLength(expected.shards);
    expect(new Set(sentTasks().map((task) => task.previousSegments))).toEqual(new Set([expected.previousSegments]));
  });

  it('takes the shard count from SHARDS when it is set, whatever the fleet’s size', async () => {
    // Prepare
    const { plan } = await coldStart({ SHARDS: '4' });

    // Act
    const result = await plan(classicScheduledEvent());

    // Assess
    expect(result).toMatchObject({ shards: 4, segments: 4, fleetSize: ITEM_COUNT });
    expect(sentTasks().map((task) => task.shard).sort()).toEqual([0, 1, 2, 3]);
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
  });

  it('re-sends the same tasks when a retried tick finds the header an earlier run wrote, reading it back instead of the moved head', async () => {
    // Prepare: the first run wrote its header and sent its tasks; then the head moved and the fleet grew.
    await modules.plan(classicScheduledEvent());
    const stored = headerPut()?.Item;
    const firstRun = sentTasks();
    ddb.reset();
    sqs.reset();
    sqs.on(SendMessageBatchCommand).callsFake(acceptAll);
    ddb.on(GetCommand, { TableName: TABLES.log, Key: { stream: STREAM, seq: 0 } }).resolves({ Item: headItem(HEAD + 60, 'd'.repeat(64)) });
    // The first run founded the clock and wrote k's header: the newest header is k's own.
    ddb.on(GetCommand, { TableName: TABLES.convergence }).resolves({});
    ddb.on(GetCommand, { TableName: TABLES.convergence, Key: { stream: `${STREAM}#clock`, interval: 0 } }).resolves({ Item: FOUNDED_CLOCK });
    ddb.on(QueryCommand, { TableName: TABLES.convergence }).resolves({ Items: stored === undefined ? [] : [stored] });
    ddb.on(DescribeTableCommand, { TableName: TABLES.nodes }).resolves({ Table: { ItemCount: 990 } });
    ddb.on(PutCommand, { TableName: TABLES.convergence }).rejects(conditionFailed());
    ddb.on(GetCommand, { TableName: TABLES.convergence, Key: { stream: STREAM, interval: INTERVAL } }).resolves({ Item: stored });
    const retry = await coldStart();

    // Act
    const result = await retry.plan(classicScheduledEvent());

    // Assess
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { TableName: TABLES.convergence, Key: { stream: STREAM, interval: INTERVAL }, ConsistentRead: true });
    expect(result).toMatchObject({ kind: 'planned', headerWritten: false, head: HEAD, shards: SHARDS, segments: SEGMENTS });
    // The clock was found as the first run left it: nothing to write.
    expect(clockPut()).toBeUndefined();
    const byShard = (tasks: PlanTask[]): PlanTask[] => [...tasks].sort((a, b) => a.shard - b.shard);
    expect(byShard(sentTasks())).toEqual(byShard(firstRun));
  });

  it('fails with PlanIncompleteError when SQS keeps refusing a task, after re-sending only that task, so Lambda retries the tick', async () => {
    // Prepare: 30 items, three shards; the task of shard 2 is refused at every attempt.
    ddb.on(DescribeTableCommand, { TableName: TABLES.nodes }).resolves({ Table: { ItemCount: 30 } });
    const { plan, errors } = await coldStart();
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
      const entries = input.Entries ?? [];
      const refused = entries.filter((entry) => parseTask(entry.MessageBody ?? '').shard === 2);
      return {
        Successful: entries.filter((entry) => !refused.includes(entry)).map((entry) => ({ Id: entry.Id, MessageId: 'm', MD5OfMessageBody: 'md5' })),
        Failed: refused.map((entry) => ({ Id: entry.Id, Code: 'InternalError', Message: 'Internal error', SenderFault: false })),
      };
    });

    // Act
    const invocation = plan(classicScheduledEvent());

    // Assess
    await expect(invocation).rejects.toBeInstanceOf(errors.PlanIncompleteError);
    await expect(invocation).rejects.toThrow(`1 of 3 shard task(s) of interval ${INTERVAL} were not accepted by SQS`);
    const [first, ...retries] = sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input.Entries ?? []);
    expect(first).toHaveLength(3);
    // The batch sender's five attempts: four re-sends of the refused task alone.
    expect(retries.map((entries) => entries.map((entry) => parseTask(entry.MessageBody ?? '').shard))).toEqual([[2], [2], [2], [2]]);
  });

  it.each([
    ['a classic EventBridge "Scheduled Event"', classicScheduledEvent()],
    ['an EventBridge Scheduler payload', schedulerEvent()],
  ])('takes interval k = floor(epochSeconds / t) from %s', async (_shape, event) => {
    // Act
    const result = await modules.plan(event);

    // Assess
    expect(result.interval).toBe(INTERVAL);
    expect(headerPut()?.Item).toMatchObject({ interval: INTERVAL, plannedAt: PLANNED_AT });
    expect(sentTasks().every((task) => task.interval === INTERVAL && task.plannedAt === PLANNED_AT)).toBe(true);
  });

  it.each([
    ['an empty object', {}, ['time', 'scheduledTime']],
    ['a classic event without its time', { 'detail-type': 'Scheduled Event', source: 'aws.events' }, ['time']],
    ['a Scheduler payload whose time is not a time', { scheduledTime: 'yesterday', executionId: 'x' }, ['scheduledTime']],
  ])('rejects %s with a ValidationError naming the field, and makes no AWS call', async (_what, event, fields) => {
    // Act
    const invocation = modules.plan(event);

    // Assess
    await expect(invocation).rejects.toBeInstanceOf(modules.errors.ValidationError);
    await invocation.catch((error: unknown) => {
      for (const field of fields) expect((error as Error).message).toMatch(new RegExp(`\\b${field}: `));
    });
    expect(ddb.calls()).toHaveLength(0);
    expect(sqs.calls()).toHaveLength(0);
  });

  it('plans nothing for a tick older than the newest planned one, and counts it in StaleTicks', async () => {
    // Prepare: interval k + 1 is planned already (a retry of k delivered late, or a hand-run event).
    ddb.on(GetCommand, { TableName: TABLES.convergence, Key: { stream: `${STREAM}#clock`, interval: 0 } }).resolves({ Item: FOUNDED_CLOCK });
    const later = { ...previousHeader({ segments: 32, scannedItems: 230 }), interval: INTERVAL + 1, plannedAt: new Date(Date.parse(SCHEDULED_AT) + 60_000).toISOString() };
    ddb.on(QueryCommand, { TableName: TABLES.convergence }).resolves({ Items: [later] });
    const emitted = vi.spyOn(modules.observability.metrics, 'addMetric');

    // Act
    const result = await modules.plan(schedulerEvent());

    // Assess
    expect(result).toEqual({ kind: 'stale', interval: INTERVAL, reason: 'superseded', newestPlanned: INTERVAL + 1 });
    expect(ddb).toHaveReceivedCommandTimes(PutCommand, 0);
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 0);
    expect(emitted).toHaveBeenCalledWith(METRIC.StaleTicks, 'Count', 1);
    emitted.mockRestore();
  });

  it("plans nothing for a tick the checker's window has closed past: its header would never be judged", async () => {
    // Prepare
    ddb.on(GetCommand, { TableName: TABLES.convergence, Key: { stream: `${STREAM}#checker`, interval: 0 } }).resolves({ Item: { stream: `${STREAM}#checker`, interval: 0, closedThrough: INTERVAL } });

    // Act
    const result = await modules.plan(schedulerEvent());

    // Assess
    expect(result).toMatchObject({ kind: 'stale', interval: INTERVAL, reason: 'closed', closedThrough: INTERVAL });
    expect(headerPut()).toBeUndefined();
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 0);
  });

  it('starts a new epoch of the interval clock at the first tick run with a new t, numbered after the last planned interval', async () => {
    // Prepare: planned at t = 60 s until interval k − 1; this deployment runs with t = 240 s.
    ddb.on(GetCommand, { TableName: TABLES.convergence, Key: { stream: `${STREAM}#clock`, interval: 0 } }).resolves({ Item: FOUNDED_CLOCK });
    ddb.on(QueryCommand, { TableName: TABLES.convergence }).resolves({ Items: [previousHeader({ segments: 32, scannedItems: 230 })] });
    const { plan } = await coldStart({ INTERVAL_SECONDS: '240' });

    // Act: floor(time / 240) would number this tick about a quarter of k, below every record.
    const result = await plan(schedulerEvent());

    // Assess
    const startsAt = Math.floor(Date.parse(SCHEDULED_AT) / 1000);
    expect(result).toMatchObject({ kind: 'planned', interval: INTERVAL, clockStarted: { firstInterval: INTERVAL, startsAt, intervalSeconds: 240 } });
    expect(clockPut()).toEqual({
      TableName: TABLES.convergence,
      Item: { ...FOUNDED_CLOCK, epochs: [...FOUNDED_CLOCK.epochs, { firstInterval: INTERVAL, startsAt, intervalSeconds: 240 }], version: 2 },
      ConditionExpression: '#version = :expected',
      ExpressionAttributeNames: { '#version': 'version' },
      ExpressionAttributeValues: { ':expected': 1 },
    });
    expect(headerPut()?.Item).toMatchObject({ interval: INTERVAL });
  });

  it('emits PlanShards, the number of shards the interval was cut into', async () => {
    // Prepare
    const emitted = vi.spyOn(modules.observability.metrics, 'addMetric');

    // Act
    await modules.plan(schedulerEvent());

    // Assess
    expect(emitted).toHaveBeenCalledWith(METRIC.PlanShards, 'Count', SHARDS);
    emitted.mockRestore();
  });
});
