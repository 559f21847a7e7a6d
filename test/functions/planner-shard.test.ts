import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { SendMessageBatchCommandInput, SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { PutCommandInput, QueryCommandInput, ScanCommandInput, UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseMicrobatch } from '#shared/domain/microbatch.ts';
import { decodeEntries, encodeEntries, type PlanEntry } from '#shared/domain/segment-plan.ts';
import { serializeTask, type CheckTask, type PlanTask } from '#shared/domain/shard-task.ts';
import { NO_PLAN_TOTALS, type Microbatch, type PlanTotals } from '#shared/domain/types.ts';
import { METRIC } from '#shared/metrics.ts';
import { conditionFailed, throttled } from '#test/adapters/support.ts';
import { functionEnv, lambdaContext, PLAN_TASK_QUEUE_URL, QUEUE_URL, sqsEvent, stubEnv, TABLES, taskRecord } from '#test/support/lambda.ts';
import { INTERVAL, nodeItem, SCHEDULED_AT, STREAM } from './support.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
const context = lambdaContext('MicrobatchSync-PlannerShard-AbC123');

const HEAD = 1000;
const PLANNED_AT = new Date(SCHEDULED_AT).toISOString();
const EXPIRES_AT = Math.floor(Date.parse(SCHEDULED_AT) / 1000) + 30 * 86_400;

/**
 * Five active nodes against head 1000 with t = 60 s and b = 10, none with a plan record yet (the
 * first sharded interval: each is planned from its item's plan fields):
 * - n-a (1/s, share 60) starts from scratch: target 60 in 6 tokens;
 * - n-b (2.5/s, share 150) has 60 outstanding (applied 100, planned 160): new work 160 → 310, and
 *   21 tokens carry it from its cursor at 100; its cursor has not moved since INTERVAL − 1;
 * - n-c (1/s) lacks only 15 updates: target 1000 in 2 tokens;
 * - n-d was already planned for this interval on its own item, n-e is caught up: nothing for them.
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
/** Each node's plan after this interval, in Scan order: the planned ones moved, n-d and n-e carried forward. */
const ENTRIES: PlanEntry[] = [
  { nodeId: 'n-a', plannedSeq: 60, progressSeq: 0, progressInterval: INTERVAL },
  // Its cursor stood still since INTERVAL − 1: the stall clock runs on.
  { nodeId: 'n-b', plannedSeq: 310, progressSeq: 100, progressInterval: INTERVAL - 1 },
  { nodeId: 'n-c', plannedSeq: 1000, progressSeq: 985, progressInterval: INTERVAL },
  { nodeId: 'n-d', plannedSeq: 560 },
  { nodeId: 'n-e', plannedSeq: HEAD },
];
const TOTALS: PlanTotals = { ...NO_PLAN_TOTALS, activeNodes: 5, nodesPlanned: 3, microbatches: MICROBATCHES, updatesPlanned: 60 + 150 + 15, scannedItems: 5 };

/** The task of shard `shard`; one shard over one segment unless told otherwise. */
function planTask(fields: Partial<PlanTask> = {}): PlanTask {
  return { v: 1, kind: 'plan', stream: STREAM, interval: INTERVAL, plannedAt: PLANNED_AT, head: HEAD, shards: 1, segments: 1, previousSegments: 1, shard: 0, ...fields };
}

function taskEvent(task: PlanTask, messageId = 'task-0'): SQSEvent {
  return sqsEvent([taskRecord({ messageId, body: serializeTask(task) })]);
}

/** The Plans table's pk of a segment. */
function segmentKey(segments: number, segment: number): string {
  return `${STREAM}#${segments}#${segment}`;
}

/** A segment's plan record as the Plans table holds it: the entries gzip'd as Binary beside the totals. */
function planRecord(segment: string, interval: number, entries: readonly PlanEntry[], totals: Partial<PlanTotals> = {}): Record<string, unknown> {
  return {
    segment,
    interval,
    plannedAt: new Date(interval * 60_000).toISOString(),
    entries: gzipSync(encodeEntries(entries)),
    nodes: entries.length,
    spilled: 0,
    ...NO_PLAN_TOTALS,
    ...totals,
    expiresAt: interval * 60 + 30 * 86_400,
  };
}

/** The entries a recorded plan holds, read back as the shards read them. */
function entriesOf(item: Record<string, unknown> | undefined): PlanEntry[] {
  return decodeEntries(gunzipSync(item?.entries as Uint8Array).toString('utf8'));
}

/**
 * The tables as the shard reads and writes them: the Plans table (Query: the newest record of a
 * segment at or before `:upTo`; Put: first writer wins) and the plan header's shard marks (a second
 * report of a shard fails its condition). `records` starts with what a test puts in it.
 */
function serveTables(records: Record<string, unknown>[] = []): { readonly records: Record<string, unknown>[]; readonly planned: Set<number>; readonly expired: Set<number> } {
  const planned = new Set<number>();
  const expired = new Set<number>();
  ddb.on(QueryCommand, { TableName: TABLES.plans }).callsFake((input: QueryCommandInput) => {
    const segment = input.ExpressionAttributeValues?.[':segment'] as unknown;
    const upTo = Number(input.ExpressionAttributeValues?.[':upTo']);
    const found = records.filter((record) => record.segment === segment && Number(record.interval) <= upTo).sort((a, b) => Number(b.interval) - Number(a.interval));
    return { Items: found.slice(0, input.Limit) };
  });
  ddb.on(PutCommand, { TableName: TABLES.plans }).callsFake((input: PutCommandInput) => {
    const item = input.Item ?? {};
    if (records.some((record) => record.segment === item.segment && record.interval === item.interval)) throw conditionFailed();
    records.push(item);
    return {};
  });
  ddb.on(UpdateCommand, { TableName: TABLES.convergence }).callsFake((input: UpdateCommandInput) => {
    const shard = Number(input.ExpressionAttributeValues?.[':shard']);
    if (planned.has(shard) || expired.has(shard)) throw conditionFailed();
    (input.UpdateExpression?.startsWith('ADD #expiredShards') === true ? expired : planned).add(shard);
    return {};
  });
  return { records, planned, expired };
}

/**
 * The stream's newest plan header, as latestPlanHeader's Query finds it: this task's interval
 * (the task is current), or a later one (a later tick has superseded the task).
 */
function serveNewestHeader(interval: number): void {
  ddb.on(QueryCommand, { TableName: TABLES.convergence }).resolves({
    Items: [{ stream: STREAM, interval, head: HEAD, headChain: 'a'.repeat(64), plannedAt: PLANNED_AT, shards: 1, segments: 1, previousSegments: 1 }],
  });
}

/** The Nodes table's Scan segments: segment g of the Scan returns `segments[g]`. */
function serveSegments(segments: Readonly<Record<number, readonly Record<string, unknown>[]>>): void {
  ddb.on(ScanCommand, { TableName: TABLES.nodes }).callsFake((input: ScanCommandInput) => ({ Items: [...(segments[input.Segment ?? 0] ?? [])] }));
}

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

function recordPuts(): PutCommandInput[] {
  return ddb
    .commandCalls(PutCommand)
    .map((call) => call.args[0].input)
    .filter((input) => input.TableName === TABLES.plans);
}

function headerReports(): UpdateCommandInput[] {
  return ddb
    .commandCalls(UpdateCommand)
    .map((call) => call.args[0].input)
    .filter((input) => input.TableName === TABLES.convergence);
}

/** The totals a report adds to the plan header. */
function reportedTotals(report: UpdateCommandInput | undefined): PlanTotals {
  const values = report?.ExpressionAttributeValues ?? {};
  return Object.fromEntries(Object.keys(NO_PLAN_TOTALS).map((field) => [field, values[`:${field}`] as unknown])) as unknown as PlanTotals;
}

describe('planner shard handler', () => {
  let run: (event: SQSEvent) => Promise<SQSBatchResponse>;
  let observability: typeof import('#shared/observability.ts');

  beforeAll(async () => {
    stubEnv(functionEnv({ BATCH_SIZE: '10', INTERVAL_SECONDS: '60' }));
    // The handler reads its configuration at import: only now is the environment in place.
    const { handler } = await import('#functions/planner-shard/handler.ts');
    run = (event) => handler(event, context);
    observability = await import('#shared/observability.ts');
  });

  beforeEach(() => {
    ddb.reset();
    sqs.reset();
    // The task is current unless a test serves a later tick's header.
    serveNewestHeader(INTERVAL);
    serveSegments({ 0: NODES });
    serveTables();
    ddb.on(UpdateCommand, { TableName: TABLES.nodes }).resolves({});
    sqs.on(SendMessageBatchCommand).callsFake(acceptAll);
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('sends each node tokens that carry its plan’s target, grouped by node and deduplicated by nodeId:interval:index:target', async () => {
    // Act
    const response = await run(taskEvent(planTask()));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
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
  });

  it('sends at most 10 entries per SendMessageBatch call across its segments, in exactly ceil(n / 10) calls', async () => {
    // Prepare: shard 1 of 2 over 4 segments scans segments 2 and 3. Alone, 21 and 8 tokens would take 3 + 1 calls.
    serveSegments({ 0: [nodeItem({ nodeId: 'n-elsewhere' })], 2: [NODES[1] ?? {}], 3: [NODES[0] ?? {}, NODES[2] ?? {}] });

    // Act
    await run(taskEvent(planTask({ shards: 2, segments: 4, previousSegments: 4, shard: 1 })));

    // Assess
    expect(ddb.commandCalls(ScanCommand).map((call) => [call.args[0].input.Segment, call.args[0].input.TotalSegments])).toEqual([
      [2, 4],
      [3, 4],
    ]);
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
    serveSegments({ 0: [nodeItem({ nodeId: 'n-a', rate: 100 / 60 })] });
    sqs
      .on(SendMessageBatchCommand)
      .callsFakeOnce((input: SendMessageBatchCommandInput) => ({
        Successful: (input.Entries ?? []).filter((entry) => entry.Id !== '3' && entry.Id !== '7').map((entry) => ({ Id: entry.Id, MessageId: 'm', MD5OfMessageBody: 'md5' })),
        Failed: [
          { Id: '3', Code: 'InternalError', Message: 'Internal error', SenderFault: false },
          { Id: '7', Code: 'ServiceUnavailable', Message: 'Try again', SenderFault: false },
        ],
      }))
      .callsFake(acceptAll);

    // Act
    await run(taskEvent(planTask()));

    // Assess
    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(2);
    const [first, retry] = calls.map((call) => call.args[0].input.Entries ?? []);
    expect(first).toHaveLength(10);
    const failed = [first?.[3], first?.[7]];
    expect(retry?.map(({ MessageBody, MessageGroupId, MessageDeduplicationId }) => ({ MessageBody, MessageGroupId, MessageDeduplicationId }))).toEqual(
      failed.map((entry) => ({ MessageBody: entry?.MessageBody, MessageGroupId: 'n-a', MessageDeduplicationId: entry?.MessageDeduplicationId })),
    );
    expect(retry?.map((entry) => entry.MessageDeduplicationId)).toEqual([`n-a:${INTERVAL}:3:100`, `n-a:${INTERVAL}:7:100`]);
    // Both re-sent tokens got through: the node's plan is recorded.
    expect(entriesOf(recordPuts()[0]?.Item)).toEqual([{ nodeId: 'n-a', plannedSeq: 100, progressSeq: 0, progressInterval: INTERVAL }]);
  });

  it('records each node’s new plannedSeq and progress in one PutItem on the Plans table, gzip’d, instead of a claim per node', async () => {
    // Act
    await run(taskEvent(planTask()));

    // Assess
    const puts = recordPuts();
    expect(puts).toHaveLength(1);
    expect(puts[0]).toMatchObject({
      TableName: TABLES.plans,
      Item: { segment: segmentKey(1, 0), interval: INTERVAL, plannedAt: PLANNED_AT, nodes: 5, spilled: 0, ...TOTALS, expiresAt: EXPIRES_AT },
      ConditionExpression: 'attribute_not_exists(#interval)',
      ExpressionAttributeNames: { '#interval': 'interval' },
    });
    expect(puts[0]?.Item?.entries).toBeInstanceOf(Uint8Array);
    expect(entriesOf(puts[0]?.Item)).toEqual(ENTRIES);
    expect(ddb.commandCalls(UpdateCommand).filter((call) => call.args[0].input.TableName === TABLES.nodes)).toEqual([]);
  });

  it('records each of its segments once all the segment’s tokens are handed to SQS', async () => {
    // Prepare: shard 1 of 2 over 4 segments: n-b in segment 2, n-a and n-c in segment 3.
    serveSegments({ 2: [NODES[1] ?? {}], 3: [NODES[0] ?? {}, NODES[2] ?? {}] });

    // Act
    await run(taskEvent(planTask({ shards: 2, segments: 4, previousSegments: 4, shard: 1 })));

    // Assess
    const puts = ddb.commandCalls(PutCommand).filter((call) => call.args[0].input.TableName === TABLES.plans);
    expect(puts.map((call) => call.args[0].input.Item?.segment as unknown)).toEqual([segmentKey(4, 2), segmentKey(4, 3)]);
    const [two, three] = puts.map((call) => call.args[0].input.Item);
    expect(entriesOf(two)).toEqual([ENTRIES[1]]);
    expect(two).toMatchObject({ nodes: 1, activeNodes: 1, nodesPlanned: 1, microbatches: 21, updatesPlanned: 150, scannedItems: 1 });
    expect(entriesOf(three)).toEqual([ENTRIES[0], ENTRIES[2]]);
    expect(three).toMatchObject({ nodes: 2, activeNodes: 2, nodesPlanned: 2, microbatches: 8, updatesPlanned: 75, scannedItems: 2 });
    const segmentOf = new Map([
      ['n-b', segmentKey(4, 2)],
      ['n-a', segmentKey(4, 3)],
      ['n-c', segmentKey(4, 3)],
    ]);
    for (const put of puts) {
      const carrying = sqs.commandCalls(SendMessageBatchCommand).filter((send) => (send.args[0].input.Entries ?? []).some((entry) => segmentOf.get(entry.MessageGroupId ?? '') === put.args[0].input.Item?.segment));
      expect(carrying.length).toBeGreaterThan(0);
      for (const send of carrying) expect(put.calledAfter(send)).toBe(true);
    }
  });

  it('plans a node from its segment’s newest plan record rather than from the plan fields of its item', async () => {
    // Prepare: n-x was planned to 400 at INTERVAL − 1 (its item was never claimed); n-new has no entry yet.
    const previous = planRecord(segmentKey(1, 0), INTERVAL - 1, [
      { nodeId: 'n-x', plannedSeq: 400, progressSeq: 340, progressInterval: INTERVAL - 1 },
      { nodeId: 'n-gone', plannedSeq: 77 },
    ]);
    serveTables([previous]);
    serveSegments({ 0: [nodeItem({ nodeId: 'n-x', rate: 1, appliedSeq: 340, plannedSeq: 0 }), nodeItem({ nodeId: 'n-new', rate: 1 })] });
    const emitted = vi.spyOn(observability.metrics, 'addMetric');

    // Act
    await run(taskEvent(planTask()));

    // Assess
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      TableName: TABLES.plans,
      KeyConditionExpression: '#segment = :segment AND #interval <= :upTo',
      ExpressionAttributeValues: { ':segment': segmentKey(1, 0), ':upTo': INTERVAL },
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    });
    // From its item (plannedSeq 0, cursor 340) it would only be rebased; from its record it gets
    // the next share, 400 → 460, in ceil((460 − 340) / 10) = 12 tokens.
    const forX = sentMicrobatches().filter((microbatch) => microbatch.nodeId === 'n-x');
    expect(forX).toHaveLength(12);
    expect(new Set(forX.map((microbatch) => `${microbatch.from}→${microbatch.target}`))).toEqual(new Set(['400→460']));
    expect(sentMicrobatches().filter((microbatch) => microbatch.nodeId === 'n-new')).toHaveLength(6);
    // A node gone from the table leaves the record with it.
    expect(entriesOf(recordPuts()[0]?.Item)).toEqual([
      { nodeId: 'n-x', plannedSeq: 460, progressSeq: 340, progressInterval: INTERVAL - 1 },
      { nodeId: 'n-new', plannedSeq: 60, progressSeq: 0, progressInterval: INTERVAL },
    ]);
    expect(emitted).toHaveBeenCalledWith(METRIC.NodesWithoutPlanHistory, 'Count', 1);
  });

  it('finds a node’s history in the old segment that covered its hash range after B doubled', async () => {
    // Prepare: INTERVAL − 1 was one segment; INTERVAL is cut into two, both read in one shard.
    serveTables([planRecord(segmentKey(1, 0), INTERVAL - 1, [{ nodeId: 'n-x', plannedSeq: 400, progressSeq: 340, progressInterval: INTERVAL - 1 }])]);
    serveSegments({ 0: [], 1: [nodeItem({ nodeId: 'n-x', rate: 1, appliedSeq: 340, plannedSeq: 0 })] });

    // Act
    await run(taskEvent(planTask({ segments: 2, previousSegments: 1 })));

    // Assess
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, { TableName: TABLES.plans, ExpressionAttributeValues: { ':segment': segmentKey(1, 0), ':upTo': INTERVAL - 1 } });
    expect(new Set(sentMicrobatches().map((microbatch) => `${microbatch.nodeId} ${microbatch.from}→${microbatch.target}`))).toEqual(new Set(['n-x 400→460']));
    expect(recordPuts().map((put) => put.Item?.segment as unknown)).toEqual([segmentKey(2, 0), segmentKey(2, 1)]);
    expect(entriesOf(recordPuts()[1]?.Item)).toEqual([{ nodeId: 'n-x', plannedSeq: 460, progressSeq: 340, progressInterval: INTERVAL - 1 }]);
  });

  it('keeps the old entry of a node whose tokens SQS keeps refusing, counts it in UnsentNodes and still records the segment', async () => {
    // Prepare: every entry of n-c is refused, at each of the batch sender's attempts.
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
      const entries = input.Entries ?? [];
      const refused = entries.filter((entry) => entry.MessageGroupId === 'n-c');
      return {
        Successful: entries.filter((entry) => !refused.includes(entry)).map((entry) => ({ Id: entry.Id, MessageId: 'm', MD5OfMessageBody: 'md5' })),
        Failed: refused.map((entry) => ({ Id: entry.Id, Code: 'InternalError', Message: 'Internal error', SenderFault: false })),
      };
    });
    const logged = vi.spyOn(observability.logger, 'error');
    const emitted = vi.spyOn(observability.metrics, 'addMetric');

    // Act
    const response = await run(taskEvent(planTask()));

    // Assess: n-c keeps its plan as it was, so the next interval plans it again.
    expect(response).toEqual({ batchItemFailures: [] });
    expect(entriesOf(recordPuts()[0]?.Item)).toEqual([ENTRIES[0], ENTRIES[1], { nodeId: 'n-c', plannedSeq: 985 }, ENTRIES[3], ENTRIES[4]]);
    expect(recordPuts()[0]?.Item).toMatchObject({ unsentNodes: 1 });
    expect(reportedTotals(headerReports()[0]).unsentNodes).toBe(1);
    expect(emitted).toHaveBeenCalledWith(METRIC.UnsentNodes, 'Count', 1);
    expect(logged).toHaveBeenCalledWith(expect.stringMatching(/tokens SQS refused/), {
      unsent: [0, 1].map((index) => ({ nodeId: 'n-c', index, code: 'InternalError', message: 'Internal error' })),
    });
  });

  it('sends nothing for a segment already recorded for this interval and reports the record’s totals', async () => {
    // Prepare: an earlier run of the task planned and recorded the segment, then died before reporting.
    serveTables([planRecord(segmentKey(1, 0), INTERVAL, ENTRIES, TOTALS)]);

    // Act
    const response = await run(taskEvent(planTask()));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ddb).not.toHaveReceivedCommand(ScanCommand);
    expect(sqs).not.toHaveReceivedCommand(SendMessageBatchCommand);
    expect(recordPuts()).toEqual([]);
    expect(headerReports()).toHaveLength(1);
    expect(reportedTotals(headerReports()[0])).toEqual(TOTALS);
  });

  it('reports its totals to the plan header once, with its shard’s mark in plannedShards, after recording its segments', async () => {
    // Prepare: shard 1 of 2 scans segment 1.
    serveSegments({ 1: NODES });

    // Act
    await run(taskEvent(planTask({ shards: 2, segments: 2, previousSegments: 2, shard: 1 })));

    // Assess
    expect(headerReports()).toHaveLength(1);
    const fields = Object.keys(NO_PLAN_TOTALS);
    // The planner's active-node count is stored apart from the verdict's `activeNodes`.
    const attribute = (field: string): string => (field === 'activeNodes' ? 'plannedActiveNodes' : field);
    expect(headerReports()[0]).toEqual({
      TableName: TABLES.convergence,
      Key: { stream: STREAM, interval: INTERVAL },
      UpdateExpression: `ADD #plannedShards :shardSet, ${fields.map((field) => `#${attribute(field)} :${field}`).join(', ')}`,
      ConditionExpression:
        'attribute_exists(#interval) AND (attribute_not_exists(#plannedShards) OR NOT contains(#plannedShards, :shard)) AND (attribute_not_exists(#expiredShards) OR NOT contains(#expiredShards, :shard))',
      ExpressionAttributeNames: { '#interval': 'interval', '#plannedShards': 'plannedShards', '#expiredShards': 'expiredShards', ...Object.fromEntries(fields.map((field) => [`#${attribute(field)}`, attribute(field)])) },
      ExpressionAttributeValues: { ':shard': 1, ':shardSet': new Set([1]), ...Object.fromEntries(Object.entries(TOTALS).map(([field, value]) => [`:${field}`, value])) },
    });
    const [report] = ddb.commandCalls(UpdateCommand).filter((call) => call.args[0].input.TableName === TABLES.convergence);
    const [record] = ddb.commandCalls(PutCommand).filter((call) => call.args[0].input.TableName === TABLES.plans);
    expect(report !== undefined && record !== undefined && report.calledAfter(record)).toBe(true);
  });

  it('does nothing twice when the task is delivered again after it reported: no token, no record, no second mark', async () => {
    // Prepare
    const tables = serveTables();
    await run(taskEvent(planTask()));
    const sends = sqs.commandCalls(SendMessageBatchCommand).length;

    // Act
    const response = await run(taskEvent(planTask(), 'task-0-again'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(sends);
    expect(tables.records).toHaveLength(1);
    expect(recordPuts()).toHaveLength(1);
    // The second report met the first one's mark: refused by its condition, and not a failure.
    expect(headerReports()).toHaveLength(2);
    expect([...tables.planned]).toEqual([0]);
  });

  it('counts its work in the planner metrics once: a delivery after the shard reported emits zeros, as the header adds nothing', async () => {
    // Prepare: the coordinator's retried tick, or SQS's at-least-once delivery, hands the task over twice.
    serveTables();
    await run(taskEvent(planTask()));
    const emitted = vi.spyOn(observability.metrics, 'addMetric');

    // Act
    await run(taskEvent(planTask(), 'task-0-again'));

    // Assess: the dashboards sum these per interval.
    const counts = Object.fromEntries(emitted.mock.calls.map(([name, , value]) => [name, value]));
    expect(counts).toEqual({
      [METRIC.NodesPlanned]: 0,
      [METRIC.MicrobatchesPlanned]: 0,
      [METRIC.UpdatesPlanned]: 0,
      [METRIC.TokensResent]: 0,
      [METRIC.RejectedNodes]: 0,
      [METRIC.UnsentNodes]: 0,
      [METRIC.NodesWithoutPlanHistory]: 0,
      [METRIC.SpilledNodes]: 0,
      [METRIC.ShardTasksExpired]: 0,
    });
  });

  it('emits ShardTasksExpired once for a stale task delivered twice', async () => {
    // Prepare: the next tick has written its header.
    serveNewestHeader(INTERVAL + 1);
    const tables = serveTables();
    await run(taskEvent(planTask()));
    const emitted = vi.spyOn(observability.metrics, 'addMetric');

    // Act
    await run(taskEvent(planTask(), 'task-0-again'));

    // Assess
    expect([...tables.expired]).toEqual([0]);
    expect(emitted).toHaveBeenCalledWith(METRIC.ShardTasksExpired, 'Count', 0);
  });

  it('sends identical deduplication ids when the task is delivered again after a run that failed before recording', async () => {
    // Prepare: the first run sent its tokens, then could not write the segment's record.
    ddb.on(PutCommand, { TableName: TABLES.plans }).rejectsOnce(throttled()).resolves({});
    const first = await run(taskEvent(planTask()));
    const firstRun = sqs.commandCalls(SendMessageBatchCommand);

    // Act
    const second = await run(taskEvent(planTask()));

    // Assess
    expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: 'task-0' }] });
    expect(second).toEqual({ batchItemFailures: [] });
    const secondRun = sqs.commandCalls(SendMessageBatchCommand).slice(firstRun.length);
    const ids = (calls: typeof firstRun): (string | undefined)[] => sentEntries(calls).map((entry) => entry.MessageDeduplicationId);
    expect(ids(secondRun)).toHaveLength(MICROBATCHES);
    expect(ids(secondRun)).toEqual(ids(firstRun));
    // Only the run that recorded its plan reported to the header.
    expect(headerReports()).toHaveLength(1);
  });

  it.each([
    [1, 5],
    [2, 10],
    // At most a quarter of t = 60 s: the retries land well inside the interval.
    [3, 15],
  ])('brings a task that failed on its receive %i back within the interval: visible again in %i s, not after the queue’s visibility timeout', async (receiveCount, seconds) => {
    // Prepare: the segment's record cannot be written.
    ddb.on(PutCommand, { TableName: TABLES.plans }).rejects(throttled());
    sqs.on(ChangeMessageVisibilityCommand).resolves({});

    // Act
    const response = await run(sqsEvent([taskRecord({ messageId: 'task-0', body: serializeTask(planTask()), receiveCount })]));

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'task-0' }] });
    expect(sqs).toHaveReceivedCommandWith(ChangeMessageVisibilityCommand, { QueueUrl: PLAN_TASK_QUEUE_URL, ReceiptHandle: 'AQEBtask-0receipt', VisibilityTimeout: seconds });
  });

  it('still reports the failed task when its visibility cannot be changed, and says it comes back after the timeout', async () => {
    // Prepare
    ddb.on(PutCommand, { TableName: TABLES.plans }).rejects(throttled());
    sqs.on(ChangeMessageVisibilityCommand).rejects(new Error('ReceiptHandleIsInvalid'));
    const warned = vi.spyOn(observability.logger, 'warn');

    // Act
    const response = await run(taskEvent(planTask()));

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'task-0' }] });
    expect(warned).toHaveBeenCalledWith(expect.stringMatching(/after the visibility timeout/), expect.objectContaining({ messageId: 'task-0' }));
  });

  it('acknowledges a stale task without work, reports the shard as expired and emits ShardTasksExpired', async () => {
    // Prepare: the next tick has come; it cuts the segments again.
    serveNewestHeader(INTERVAL + 1);
    const emitted = vi.spyOn(observability.metrics, 'addMetric');
    const warned = vi.spyOn(observability.logger, 'warn');

    // Act
    const response = await run(taskEvent(planTask({ shards: 3, segments: 4, previousSegments: 4, shard: 2 })));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ddb).not.toHaveReceivedCommand(ScanCommand);
    expect(ddb).not.toHaveReceivedCommandWith(QueryCommand, { TableName: TABLES.plans });
    expect(ddb).not.toHaveReceivedCommand(PutCommand);
    expect(sqs).not.toHaveReceivedCommand(SendMessageBatchCommand);
    expect(headerReports()).toEqual([
      expect.objectContaining({ Key: { stream: STREAM, interval: INTERVAL }, UpdateExpression: 'ADD #expiredShards :shardSet', ExpressionAttributeValues: { ':shard': 2, ':shardSet': new Set([2]) } }),
    ]);
    expect(emitted).toHaveBeenCalledWith(METRIC.ShardTasksExpired, 'Count', 1);
    expect(emitted).toHaveBeenCalledWith(METRIC.NodesPlanned, 'Count', 0);
    expect(warned).toHaveBeenCalledWith(expect.stringMatching(/arrived after a later tick/), expect.objectContaining({ expired: true, interval: INTERVAL, shard: 2 }));
  });

  it('fails only the records whose body is not a plan task, logging each message id, and plans the others', async () => {
    // Prepare
    const checkTask: CheckTask = {
      v: 1,
      kind: 'check',
      stream: STREAM,
      interval: INTERVAL,
      checkedAt: PLANNED_AT,
      heads: [HEAD],
      averageIngestPerInterval: 0,
      shards: 1,
      segments: 1,
      shard: 0,
    };
    const event = sqsEvent([
      taskRecord({ messageId: 'not-json', body: 'plan interval 29929578' }),
      taskRecord({ messageId: 'plan-task', body: serializeTask(planTask()) }),
      taskRecord({ messageId: 'half-a-task', body: JSON.stringify({ v: 1, kind: 'plan', stream: STREAM }) }),
      taskRecord({ messageId: 'check-task', body: serializeTask(checkTask) }),
    ]);
    const logged = vi.spyOn(observability.logger, 'error');

    // Act
    const response = await run(event);

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'not-json' }, { itemIdentifier: 'half-a-task' }, { itemIdentifier: 'check-task' }] });
    expect(recordPuts()).toHaveLength(1);
    expect(sentEntries()).toHaveLength(MICROBATCHES);
    const failures = logged.mock.calls.filter(([message]) => message === 'shard task failed: SQS delivers it again, then dead-letters it');
    expect(failures.map(([, fields]) => (fields as { messageId: string }).messageId)).toEqual(['not-json', 'half-a-task', 'check-task']);
    const errors = failures.map(([, fields]) => (fields as { error: Error }).error.message);
    expect(errors[0]).toMatch(/\(body\): is not JSON/);
    expect(errors[1]).toMatch(/\binterval: .*\bhead: /);
    expect(errors[2]).toMatch(/kind: this function runs "plan" tasks, not "check"/);
  });

  it('skips and reports Nodes items written by hand with a bad rate or an id SQS refuses, and plans every other node', async () => {
    // Prepare: the README's AWS CLI example with "S" for the rate, an id with a space, a rate of 0.
    serveSegments({ 0: [...NODES, { ...nodeItem({ nodeId: 'n-string' }), rate: '5' }, nodeItem({ nodeId: 'tenant 7' }), nodeItem({ nodeId: 'n-zero', rate: 0 }), nodeItem({ nodeId: 'tenant:8' })] });
    const logged = vi.spyOn(observability.logger, 'error');
    const emitted = vi.spyOn(observability.metrics, 'addMetric');

    // Act
    const response = await run(taskEvent(planTask()));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(new Set(sentEntries().map((entry) => entry.MessageGroupId))).toEqual(new Set(['n-a', 'n-b', 'n-c', 'tenant:8']));
    expect(entriesOf(recordPuts()[0]?.Item).map((entry) => entry.nodeId)).toEqual(['n-a', 'n-b', 'n-c', 'n-d', 'n-e', 'tenant:8']);
    expect(reportedTotals(headerReports()[0])).toMatchObject({ activeNodes: 6, nodesPlanned: 4, rejectedNodes: 3, scannedItems: 9 });
    expect(emitted).toHaveBeenCalledWith(METRIC.RejectedNodes, 'Count', 3);
    expect(logged).toHaveBeenCalledWith(expect.stringMatching(/not valid nodes/), {
      rejected: [
        { nodeId: 'n-string', attribute: 'rate', problem: 'must be a positive number of updates per second (got "5")' },
        expect.objectContaining({ nodeId: 'tenant 7', attribute: 'nodeId' }),
        { nodeId: 'n-zero', attribute: 'rate', problem: 'must be a positive number of updates per second (got 0)' },
      ],
    });
  });

  it('gives a node already planned for this interval on its own item no tokens, carries its plan forward and logs why it skipped it', async () => {
    // Prepare
    const info = vi.spyOn(observability.logger, 'info');

    // Act
    await run(taskEvent(planTask()));

    // Assess
    expect(sentMicrobatches().filter((microbatch) => microbatch.nodeId === 'n-d')).toEqual([]);
    expect(entriesOf(recordPuts()[0]?.Item).find((entry) => entry.nodeId === 'n-d')).toEqual({ nodeId: 'n-d', plannedSeq: 560 });
    expect(info).toHaveBeenCalledWith(
      'shard planned',
      expect.objectContaining({ interval: INTERVAL, shard: 0, reported: true, segmentsPlanned: 1, skipped: { 'already-planned': 1, 'caught-up': 1, 'in-flight-cap': 0, 'awaiting-outstanding': 0 } }),
    );
  });

  it('reads paused nodes too: they get no tokens, keep their plan in the record and count in the scanned items', async () => {
    // Prepare
    serveSegments({ 0: [NODES[0] ?? {}, nodeItem({ nodeId: 'n-paused', status: 'paused', appliedSeq: 40, plannedSeq: 70, progressSeq: 40, progressInterval: INTERVAL - 2 })] });

    // Act
    await run(taskEvent(planTask()));

    // Assess
    expect(new Set(sentEntries().map((entry) => entry.MessageGroupId))).toEqual(new Set(['n-a']));
    expect(entriesOf(recordPuts()[0]?.Item)).toEqual([ENTRIES[0], { nodeId: 'n-paused', plannedSeq: 70, progressSeq: 40, progressInterval: INTERVAL - 2 }]);
    expect(reportedTotals(headerReports()[0])).toMatchObject({ activeNodes: 1, scannedItems: 2 });
  });

  it('claims on their own items the plans of the nodes its segment’s record has no room for, and emits SpilledNodes', async () => {
    // Prepare: 10,000 caught-up nodes with 64-character ids that do not compress (~500 KB gzip'd,
    // past the record's 400 KB), then n-a, which is planned: its entry is among those left out.
    const ids = Array.from({ length: 10_000 }, (_, i) => createHash('sha512').update(String(i)).digest('base64url').slice(0, 64));
    const crowd = ids.map((nodeId) => nodeItem({ nodeId, appliedSeq: HEAD, plannedSeq: HEAD }));
    serveSegments({ 0: [...crowd, NODES[0] ?? {}] });
    // Another run claimed n-a first: a lost claim is counted, not thrown.
    ddb.on(UpdateCommand, { TableName: TABLES.nodes, Key: { nodeId: 'n-a' } }).rejects(conditionFailed());
    const emitted = vi.spyOn(observability.metrics, 'addMetric');
    const info = vi.spyOn(observability.logger, 'info');

    // Act
    const response = await run(taskEvent(planTask()));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const item = recordPuts()[0]?.Item ?? {};
    const kept = Number(item.nodes);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(ids.length);
    expect(item.spilled).toBe(ids.length + 1 - kept);
    expect((item.entries as Uint8Array).byteLength).toBeLessThanOrEqual(400_000);
    expect(entriesOf(item).map((entry) => entry.nodeId)).toEqual(ids.slice(0, kept));
    const claims = ddb.commandCalls(UpdateCommand).map((call) => call.args[0].input).filter((input) => input.TableName === TABLES.nodes);
    expect(claims.map((claim) => claim.Key?.nodeId as unknown)).toEqual([...ids.slice(kept), 'n-a']);
    expect(claims.at(-1)).toMatchObject({
      ConditionExpression: '#plannedSeq = :expected AND (attribute_not_exists(#plannedInterval) OR #plannedInterval < :plannedInterval)',
      ExpressionAttributeValues: { ':expected': 0, ':plannedSeq': 60, ':plannedAt': PLANNED_AT, ':plannedInterval': INTERVAL, ':progressSeq': 0, ':progressInterval': INTERVAL },
    });
    expect(emitted).toHaveBeenCalledWith(METRIC.SpilledNodes, 'Count', ids.length + 1 - kept);
    expect(info).toHaveBeenCalledWith('shard planned', expect.objectContaining({ spilled: ids.length + 1 - kept, claimsLost: 1 }));
  });

  it('emits the planner metrics of its shard', async () => {
    // Prepare: n-f's cursor has stood still for three intervals with its plan at the head: its 40 outstanding updates are re-sent.
    const stalled = nodeItem({ nodeId: 'n-f', rate: 1, appliedSeq: 960, plannedSeq: HEAD, plannedInterval: INTERVAL - 3, progressSeq: 960, progressInterval: INTERVAL - 3 });
    serveSegments({ 0: [...NODES, stalled] });
    const emitted = vi.spyOn(observability.metrics, 'addMetric');

    // Act
    await run(taskEvent(planTask()));

    // Assess
    expect(sentMicrobatches().filter((microbatch) => microbatch.nodeId === 'n-f').map((microbatch) => microbatch.target)).toEqual([HEAD, HEAD, HEAD, HEAD]);
    const counts = Object.fromEntries(emitted.mock.calls.map(([name, unit, value]) => [name, { unit, value }]));
    expect(counts).toEqual({
      [METRIC.NodesPlanned]: { unit: 'Count', value: 4 },
      [METRIC.MicrobatchesPlanned]: { unit: 'Count', value: MICROBATCHES + 4 },
      [METRIC.UpdatesPlanned]: { unit: 'Count', value: 225 },
      [METRIC.TokensResent]: { unit: 'Count', value: 1 },
      [METRIC.RejectedNodes]: { unit: 'Count', value: 0 },
      [METRIC.UnsentNodes]: { unit: 'Count', value: 0 },
      // No node has a plan record yet: every active node was planned from its item.
      [METRIC.NodesWithoutPlanHistory]: { unit: 'Count', value: 6 },
      [METRIC.SpilledNodes]: { unit: 'Count', value: 0 },
      [METRIC.ShardTasksExpired]: { unit: 'Count', value: 0 },
    });
  });
});
