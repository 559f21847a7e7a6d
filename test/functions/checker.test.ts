import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { SendMessageBatchCommandInput, SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { PutCommandInput, QueryCommandInput, UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ScheduledTick } from '#shared/domain/scheduled-event.ts';
import { parseTask, type CheckTask } from '#shared/domain/shard-task.ts';
import type { LogEntry } from '#shared/domain/types.ts';
import { METRIC } from '#shared/metrics.ts';
import type { StartCheckResult } from '#shared/usecases/start-check.ts';
import { conditionFailed } from '#test/adapters/support.ts';
import { CHECK_TASK_QUEUE_URL, functionEnv, lambdaContext, stubEnv, TABLES } from '#test/support/lambda.ts';
import { headItem, INTERVAL, logEntries, puts, SCHEDULED_AT, schedulerEvent, STREAM } from './support.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
const context = lambdaContext('MicrobatchSync-Checker-AbC123');
const CHECKED_AT = new Date(SCHEDULED_AT).toISOString();
/** A check task is stale at the next tick. */

/** Thirty updates whose chain verifies; the head is at 30. */
const LOG = logEntries(puts(30));
const HEAD = 30;

function entry(seq: number): LogEntry {
  const found = LOG[seq - 1];
  if (found?.seq !== seq) throw new Error(`the test log has no seq ${seq}`);
  return found;
}

/** The plan header of `interval` once both of its planner shards reported, not yet judged. */
function planHeader(interval: number, head: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    stream: STREAM,
    interval,
    head,
    headChain: entry(head).chain,
    plannedAt: new Date(interval * 60_000).toISOString(),
    shards: 2,
    segments: 2,
    previousSegments: 2,
    plannedShards: new Set([0, 1]),
    activeNodes: 2,
    nodesPlanned: 2,
    microbatches: 4,
    scannedItems: 2,
    expiresAt: interval * 60 + 30 * 86_400,
    converged: false,
    ...extra,
  };
}

/**
 * The Convergence table holds `headers`: a Query returns those from `:after` (if given) to
 * `:upTo`, or those before `:before`, in the order and number asked for.
 */
function serveHeaders(headers: readonly Record<string, unknown>[]): void {
  ddb.on(QueryCommand, { TableName: TABLES.convergence }).callsFake((input: QueryCommandInput) => {
    const values = input.ExpressionAttributeValues ?? {};
    const after = values[':after'] === undefined ? Number.NEGATIVE_INFINITY : Number(values[':after']);
    const upTo = values[':before'] === undefined ? Number(values[':upTo']) : Number(values[':before']) - 1;
    const items = headers
      .filter((header) => Number(header.interval) >= after && Number(header.interval) <= upTo)
      .sort((a, b) => (input.ScanIndexForward === false ? -1 : 1) * (Number(a.interval) - Number(b.interval)))
      .slice(0, input.Limit);
    return { Items: items };
  });
}

/** A check header as the coordinator stores it. */
function checkHeaderItem(interval: number, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    stream: `${STREAM}#check`,
    interval,
    checkedAt: new Date(interval * 60_000).toISOString(),
    shards: 2,
    segments: 2,
    heads: [HEAD, 20],
    averageIngestPerInterval: 5,
    judged: [{ interval: interval - 1, head: 20, version: 0 }],
    merged: false,
    expiresAt: interval * 60 + 86_400,
    ...fields,
  };
}

type Modules = {
  readonly check: (event: unknown) => Promise<StartCheckResult>;
  readonly errors: typeof import('#shared/domain/errors.ts');
  readonly observability: typeof import('#shared/observability.ts');
};

/**
 * Starts a fresh container: the handler reads its configuration at import, and the node repository
 * keeps the table's ItemCount for ten minutes per container. The error classes and the logger come
 * from the same fresh module instances.
 */
async function coldStart(overrides: Readonly<Record<string, string | undefined>> = {}): Promise<Modules> {
  vi.resetModules();
  stubEnv(functionEnv({ INTERVAL_SECONDS: '60', ...overrides }));
  const { handler } = await import('#functions/checker/handler.ts');
  return {
    check: async (event) => (await handler(event as ScheduledTick, context)) as StartCheckResult,
    errors: await import('#shared/domain/errors.ts'),
    observability: await import('#shared/observability.ts'),
  };
}

function acceptAll(input: SendMessageBatchCommandInput): unknown {
  return { Successful: (input.Entries ?? []).map((entry) => ({ Id: entry.Id, MessageId: `msg-${entry.Id ?? ''}`, MD5OfMessageBody: 'md5' })), Failed: [] };
}

function sentEntries(): SendMessageBatchRequestEntry[] {
  return sqs.commandCalls(SendMessageBatchCommand).flatMap((call) => call.args[0].input.Entries ?? []);
}

function sentTasks(): CheckTask[] {
  return sentEntries()
    .map((entry) => parseTask(entry.MessageBody ?? '') as CheckTask)
    .sort((a, b) => a.shard - b.shard);
}

function checkHeaderPut(): PutCommandInput | undefined {
  return ddb.commandCalls(PutCommand).find((call) => call.args[0].input.Item?.stream === `${STREAM}#check`)?.args[0].input;
}

/** The expiries written on the stream's interval records, by interval. */
function expiries(): Map<number, UpdateCommandInput> {
  return new Map(
    ddb
      .commandCalls(UpdateCommand)
      .map((call) => call.args[0].input)
      .filter((input) => input.Key?.stream === STREAM)
      .map((input) => [Number(input.Key?.interval), input]),
  );
}

describe('checker handler (the coordinator)', () => {
  let modules: Modules;

  beforeEach(async () => {
    ddb.reset();
    sqs.reset();
    ddb.on(GetCommand, { TableName: TABLES.log, Key: { stream: STREAM, seq: 0 } }).resolves({ Item: headItem(HEAD, entry(HEAD).chain) });
    // No watermark yet (the checker reads every record up to its interval), no check two ticks ago.
    ddb.on(GetCommand, { TableName: TABLES.convergence }).resolves({});
    ddb.on(DescribeTableCommand, { TableName: TABLES.nodes }).resolves({ Table: { ItemCount: 2 } });
    ddb.on(UpdateCommand).resolves({});
    ddb.on(PutCommand).resolves({});
    sqs.on(SendMessageBatchCommand).callsFake(acceptAll);
    modules = await coldStart();
  });

  // A variable a test sets beyond functionEnv() must not reach the next test.
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('judges only the open intervals before its own whose plan is whole, and leaves a plan still being reported for a later tick', async () => {
    // Prepare: the planner of k has just written its header; k − 2 waits for a shard; k − 3 converged.
    serveHeaders([
      planHeader(INTERVAL, HEAD),
      planHeader(INTERVAL - 1, 20, { checkedAt: '2026-11-27T10:17:42.000Z', version: 2 }),
      planHeader(INTERVAL - 2, 15, { plannedShards: new Set([0]) }),
      planHeader(INTERVAL - 3, 10, { converged: true, convergedAt: '2026-11-27T10:16:42.000Z', version: 1 }),
    ]);

    // Act
    const result = await modules.check(schedulerEvent());

    // Assess
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      TableName: TABLES.convergence,
      ExpressionAttributeValues: { ':stream': STREAM, ':upTo': INTERVAL - 1 },
      ConsistentRead: true,
    });
    expect(result).toMatchObject({ interval: INTERVAL, judged: [INTERVAL - 1], waiting: [INTERVAL - 2], expired: [], incomplete: [] });
    expect(checkHeaderPut()?.Item).toMatchObject({ heads: [HEAD, 20], judged: [{ interval: INTERVAL - 1, head: 20, version: 2 }] });
    expect(sentTasks().every((task) => task.heads.join() === `${HEAD},20`)).toBe(true);
    // Nothing closed: no record written, the watermark raised to just below the window.
    expect(expiries().size).toBe(0);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, { Key: { stream: `${STREAM}#checker`, interval: 0 }, ExpressionAttributeValues: { ':through': INTERVAL - 61 } });
  });

  it('writes the check header first, with the current head, the judged heads and the versions it read, on the condition that the tick has none', async () => {
    // Prepare: the head moved from 10 to 20 over two intervals, 5 updates per interval.
    serveHeaders([planHeader(INTERVAL - 1, 20), planHeader(INTERVAL - 3, 10, { converged: true, convergedAt: '2026-11-27T10:16:42.000Z' })]);

    // Act
    const result = await modules.check(schedulerEvent());

    // Assess
    expect(checkHeaderPut()).toEqual({
      TableName: TABLES.convergence,
      Item: {
        stream: `${STREAM}#check`,
        interval: INTERVAL,
        checkedAt: CHECKED_AT,
        shards: 1,
        segments: 2,
        heads: [HEAD, 20],
        averageIngestPerInterval: 5,
        judged: [{ interval: INTERVAL - 1, head: 20, version: 0 }],
        newest: { interval: INTERVAL - 1, converged: false },
        merged: false,
        expiresAt: Math.floor(Date.parse(SCHEDULED_AT) / 1000) + 86_400,
      },
      ConditionExpression: 'attribute_not_exists(#interval)',
      ExpressionAttributeNames: { '#interval': 'interval' },
    });
    const [header] = ddb.commandCalls(PutCommand);
    const [send] = sqs.commandCalls(SendMessageBatchCommand);
    expect(header !== undefined && send !== undefined && header.calledBefore(send)).toBe(true);
    expect(result.headerWritten).toBe(true);
  });

  it('sends the tasks of the header an earlier run of the tick wrote, not of what it reads now', async () => {
    // Prepare: a crashed run fixed the tick at head 28 with k − 1 and k − 2 judged; since then k − 2 has converged.
    serveHeaders([planHeader(INTERVAL - 1, 20), planHeader(INTERVAL - 2, 15, { converged: true })]);
    ddb.on(PutCommand, { TableName: TABLES.convergence }).rejects(conditionFailed());
    const stored = checkHeaderItem(INTERVAL, {
      checkedAt: CHECKED_AT,
      shards: 2,
      heads: [28, 20, 15],
      averageIngestPerInterval: 4,
      judged: [
        { interval: INTERVAL - 2, head: 15, version: 1 },
        { interval: INTERVAL - 1, head: 20, version: 0 },
      ],
    });
    ddb.on(GetCommand, { TableName: TABLES.convergence, Key: { stream: `${STREAM}#check`, interval: INTERVAL } }).resolves({ Item: stored });

    // Act
    const result = await modules.check(schedulerEvent());

    // Assess
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { TableName: TABLES.convergence, Key: { stream: `${STREAM}#check`, interval: INTERVAL }, ConsistentRead: true });
    expect(result).toMatchObject({ headerWritten: false, shards: 2, judged: [INTERVAL - 2, INTERVAL - 1] });
    expect(sentTasks().map((task) => ({ shard: task.shard, heads: task.heads, averageIngestPerInterval: task.averageIngestPerInterval }))).toEqual([
      { shard: 0, heads: [28, 20, 15], averageIngestPerInterval: 4 },
      { shard: 1, heads: [28, 20, 15], averageIngestPerInterval: 4 },
    ]);
  });

  it('sends one check task per shard on the check task queue, each a CheckTask', async () => {
    // Prepare
    const { check } = await coldStart({ SHARDS: '3' });
    serveHeaders([planHeader(INTERVAL, HEAD), planHeader(INTERVAL - 1, 20)]);

    // Act
    const result = await check(schedulerEvent());

    // Assess
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
    expect(sqs).toHaveReceivedCommandWith(SendMessageBatchCommand, { QueueUrl: CHECK_TASK_QUEUE_URL });
    for (const entry of sentEntries()) expect(Object.keys(entry).sort()).toEqual(['Id', 'MessageBody']);
    expect(sentTasks()).toEqual(
      [0, 1, 2].map((shard) => ({
        v: 1,
        kind: 'check',
        stream: STREAM,
        interval: INTERVAL,
        checkedAt: CHECKED_AT,
        heads: [HEAD, 20],
        averageIngestPerInterval: 0,
        shards: 3,
        // Three shards need four segments: B is a power of two.
        segments: 4,
        shard,
      })),
    );
    expect(result).toMatchObject({ shards: 3, segments: 4 });
  });

  it('cuts the tick like the newest plan: its B, and the fleet its Scans counted when DynamoDB’s ItemCount is behind', async () => {
    // Prepare: the plan of k scanned 5,000 items over 8 segments; DescribeTable still says 2.
    ddb.on(DescribeTableCommand, { TableName: TABLES.nodes }).resolves({ Table: { ItemCount: 2 } });
    const { check } = await coldStart({ NODES_PER_SHARD: '1000' });
    serveHeaders([planHeader(INTERVAL, HEAD, { segments: 8, shards: 5, previousSegments: 8, scannedItems: 5_000 }), planHeader(INTERVAL - 1, 20)]);

    // Act
    const result = await check(schedulerEvent());

    // Assess
    // The newest header of the stream, read with the interval clock.
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, { TableName: TABLES.convergence, ExpressionAttributeValues: { ':stream': STREAM, ':before': Number.MAX_SAFE_INTEGER } });
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { TableName: TABLES.convergence, Key: { stream: `${STREAM}#clock`, interval: 0 }, ConsistentRead: true });
    expect(result.interval).toBe(INTERVAL);
    // Only the planner's coordinator keeps the clock.
    expect(ddb.commandCalls(PutCommand).some((call) => call.args[0].input.Item?.stream === `${STREAM}#clock`)).toBe(false);
    expect(result).toMatchObject({ shards: 5, segments: 8 });
    expect(sentTasks().map((task) => [task.shard, task.shards, task.segments])).toEqual([0, 1, 2, 3, 4].map((shard) => [shard, 5, 8]));
  });

  it('expires an interval that left the window of 60 unconverged, emits IntervalsExpired, logs it and raises the watermark', async () => {
    // Prepare: no watermark yet; k − 61 left the window of ticks k − 60 … k − 1, k − 62 converged before it left.
    const warned = vi.spyOn(modules.observability.logger, 'warn');
    const emitted = vi.spyOn(modules.observability.metrics, 'addMetric');
    serveHeaders([planHeader(INTERVAL - 62, 10, { converged: true, convergedAt: CHECKED_AT }), planHeader(INTERVAL - 61, 20), planHeader(INTERVAL - 1, 20)]);

    // Act
    const result = await modules.check(schedulerEvent());

    // Assess
    expect(result).toMatchObject({ expired: [INTERVAL - 61], judged: [INTERVAL - 1], incomplete: [] });
    expect([...expiries().keys()]).toEqual([INTERVAL - 61]);
    expect(expiries().get(INTERVAL - 61)).toEqual({
      TableName: TABLES.convergence,
      Key: { stream: STREAM, interval: INTERVAL - 61 },
      UpdateExpression: 'SET #expiredAt = :expiredAt, #expiredReason = :reason, #version = if_not_exists(#version, :zero) + :one',
      ConditionExpression: 'attribute_exists(#interval) AND #converged = :false AND attribute_not_exists(#expiredAt)',
      ExpressionAttributeNames: { '#interval': 'interval', '#converged': 'converged', '#expiredAt': 'expiredAt', '#expiredReason': 'expiredReason', '#version': 'version' },
      ExpressionAttributeValues: { ':expiredAt': CHECKED_AT, ':reason': 'left-window', ':false': false, ':zero': 0, ':one': 1 },
    });
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, { Key: { stream: `${STREAM}#checker`, interval: 0 }, ExpressionAttributeValues: { ':through': INTERVAL - 61 } });
    expect(emitted).toHaveBeenCalledWith(METRIC.IntervalsExpired, 'Count', 1);
    expect(warned).toHaveBeenCalledWith(expect.stringMatching(/left the open window/), { intervals: [INTERVAL - 61] });
  });

  it('closes as plan-incomplete an interval whose plan can no longer become whole, emits IncompletePlans and logs it', async () => {
    // Prepare: at k − 1 a planner shard gave up as stale; k − 4's second shard never reported in three intervals.
    const warned = vi.spyOn(modules.observability.logger, 'warn');
    const emitted = vi.spyOn(modules.observability.metrics, 'addMetric');
    serveHeaders([
      planHeader(INTERVAL - 4, 10, { plannedShards: new Set([0]) }),
      planHeader(INTERVAL - 2, 15, { plannedShards: new Set([1]) }),
      planHeader(INTERVAL - 1, 20, { plannedShards: new Set([0]), expiredShards: new Set([1]) }),
    ]);

    // Act
    const result = await modules.check(schedulerEvent());

    // Assess
    expect(result).toMatchObject({ judged: [], waiting: [INTERVAL - 2], expired: [], incomplete: [INTERVAL - 4, INTERVAL - 1] });
    expect([...expiries().keys()].sort()).toEqual([INTERVAL - 4, INTERVAL - 1]);
    for (const expiry of expiries().values()) expect(expiry.ExpressionAttributeValues).toMatchObject({ ':expiredAt': CHECKED_AT, ':reason': 'plan-incomplete' });
    expect(emitted).toHaveBeenCalledWith(METRIC.IncompletePlans, 'Count', 2);
    expect(warned).toHaveBeenCalledWith(expect.stringMatching(/plan was never whole/), { intervals: [INTERVAL - 4, INTERVAL - 1] });
    // Nothing to judge, but the shards still measure the nodes against the current head.
    expect(checkHeaderPut()?.Item).toMatchObject({ heads: [HEAD], judged: [] });
    expect(sentTasks()).toHaveLength(1);
  });

  it.each([
    { state: 'never merged', merged: false, count: 1 },
    { state: 'merged', merged: true, count: 0 },
  ])('emits UnmergedChecks = $count when the check of two ticks ago $state', async ({ merged, count }) => {
    // Prepare
    const warned = vi.spyOn(modules.observability.logger, 'warn');
    const emitted = vi.spyOn(modules.observability.metrics, 'addMetric');
    serveHeaders([planHeader(INTERVAL - 1, 20)]);
    ddb.on(GetCommand, { TableName: TABLES.convergence, Key: { stream: `${STREAM}#check`, interval: INTERVAL - 2 } }).resolves({
      Item: checkHeaderItem(INTERVAL - 2, { merged, reportedShards: new Set(merged ? [0, 1] : [0]) }),
    });

    // Act
    const result = await modules.check(schedulerEvent());

    // Assess
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { TableName: TABLES.convergence, Key: { stream: `${STREAM}#check`, interval: INTERVAL - 2 }, ConsistentRead: true });
    expect(emitted).toHaveBeenCalledWith(METRIC.UnmergedChecks, 'Count', count);
    if (merged) {
      expect(result.unmergedTick).toBeUndefined();
      expect(warned).not.toHaveBeenCalledWith(expect.stringMatching(/never all reported/), expect.anything());
    } else {
      expect(result.unmergedTick).toBe(INTERVAL - 2);
      expect(warned).toHaveBeenCalledWith(expect.stringMatching(/never all reported/), { tick: INTERVAL - 2 });
    }
  });

  it('fails with PlanIncompleteError when SQS refuses a check task, so Lambda retries the tick', async () => {
    // Prepare: SQS blames the request: the batch sender does not retry it.
    serveHeaders([planHeader(INTERVAL - 1, 20)]);
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [{ Id: '0', Code: 'InvalidParameterValue', Message: 'too long', SenderFault: true }] });

    // Act
    const invocation = modules.check(schedulerEvent());

    // Assess
    await expect(invocation).rejects.toBeInstanceOf(modules.errors.PlanIncompleteError);
    await expect(invocation).rejects.toThrow(`1 of 1 check task(s) of tick ${INTERVAL} were not accepted by SQS`);
  });

  it('rejects an event with neither scheduled-event shape, naming the fields, and makes no AWS call', async () => {
    // Act
    const invocation = modules.check({ source: 'aws.events' });

    // Assess
    await expect(invocation).rejects.toBeInstanceOf(modules.errors.ValidationError);
    await expect(invocation).rejects.toThrow(/\btime: .*scheduledTime: /);
    expect(ddb.calls()).toHaveLength(0);
    expect(sqs.calls()).toHaveLength(0);
  });
});
