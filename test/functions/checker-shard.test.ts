import type { BatchGetCommandInput, GetCommandInput, PutCommandInput, QueryCommandInput, ScanCommandInput, UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TallyState } from '#shared/domain/convergence.ts';
import type { CheckOutcome } from '#shared/domain/ports.ts';
import { serializeTask, type CheckTask, type PlanTask } from '#shared/domain/shard-task.ts';
import type { LogEntry, NodeState } from '#shared/domain/types.ts';
import { METRIC } from '#shared/metrics.ts';
import { conditionFailed } from '#test/adapters/support.ts';
import { CHECK_TASK_QUEUE_URL, functionEnv, lambdaContext, sqsEvent, stubEnv, TABLES, taskRecord } from '#test/support/lambda.ts';
import { INTERVAL, logEntries, logItem, nodeItem, puts, SCHEDULED_AT, STREAM } from './support.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const context = lambdaContext('MicrobatchSync-CheckerShard-AbC123');
const CHECKED_AT = new Date(SCHEDULED_AT).toISOString();

/** Thirty updates whose chain verifies; the head is at 30. */
const LOG = logEntries(puts(30));
const HEAD = 30;
const CHECK_PARTITION = `${STREAM}#check`;
const PARTIALS_PARTITION = `${STREAM}#check#${INTERVAL}`;

function entry(seq: number): LogEntry {
  const found = LOG[seq - 1];
  if (found?.seq !== seq) throw new Error(`the test log has no seq ${seq}`);
  return found;
}

/** Seconds from the production of `seq` to the tick: the staleness of a node whose oldest missing update it is. */
function stalenessOf(seq: number): number {
  return (Date.parse(SCHEDULED_AT) - Date.parse(entry(seq).producedAt)) / 1000;
}

/** A node whose cursor is at `appliedSeq` with the log's chain there. */
function nodeAt(nodeId: string, appliedSeq: number, extra: Partial<NodeState> = {}): Record<string, unknown> {
  return nodeItem({ nodeId, rate: 1, appliedSeq, appliedChain: entry(appliedSeq).chain, plannedSeq: appliedSeq, ...extra });
}

/** What the coordinator fixed for the tick: the intervals judged with their heads and the versions it read. */
interface Tick {
  readonly shards: number;
  readonly segments: number;
  readonly judged: readonly { readonly interval: number; readonly head: number; readonly version: number }[];
  readonly averageIngestPerInterval?: number;
  readonly newest?: { readonly interval: number; readonly converged: boolean };
}

/** One interval judged, k − 1 at head 20, on one shard over one segment. */
const ONE_SHARD: Tick = { shards: 1, segments: 1, judged: [{ interval: INTERVAL - 1, head: 20, version: 0 }], newest: { interval: INTERVAL - 1, converged: false } };

function headsOf(tick: Tick): number[] {
  return [HEAD, ...tick.judged.map((judged) => judged.head)];
}

function checkTask(tick: Tick, shard = 0): CheckTask {
  return {
    v: 1,
    kind: 'check',
    stream: STREAM,
    interval: INTERVAL,
    checkedAt: CHECKED_AT,
    heads: headsOf(tick),
    averageIngestPerInterval: tick.averageIngestPerInterval ?? 0,
    shards: tick.shards,
    segments: tick.segments,
    shard,
  };
}

function taskEvent(task: CheckTask | PlanTask, messageId = `check-${task.shard}`): SQSEvent {
  return sqsEvent([taskRecord({ messageId, body: serializeTask(task), queueUrl: CHECK_TASK_QUEUE_URL })]);
}

/** The check header, its partial tallies and the interval records, as the Convergence table holds them. */
interface CheckTable {
  readonly header: Record<string, unknown>;
  readonly reported: Set<number>;
  readonly expired: Set<number>;
  readonly partials: Map<number, Record<string, unknown>>;
  merged: boolean;
  outcome?: CheckOutcome;
  /** The verdict writes that landed, by interval. */
  readonly verdicts: Map<number, UpdateCommandInput>;
  /** The newest tick with a check header: this one, or a later one that superseded the task. */
  newestTick: number;
}

/** The Queries of the partials' partition: a merge reads them, nothing else does. */
function partialReads(): unknown[] {
  return ddb.commandCalls(QueryCommand).filter((call) => call.args[0].input.ExpressionAttributeValues?.[':stream'] === PARTIALS_PARTITION);
}

/** The check header with its sets as the document client reads them: NS sets, absent while empty. */
function stored(table: CheckTable): Record<string, unknown> {
  return {
    ...table.header,
    ...(table.reported.size > 0 ? { reportedShards: new Set(table.reported) } : {}),
    ...(table.expired.size > 0 ? { expiredShards: new Set(table.expired) } : {}),
    merged: table.merged,
    ...(table.outcome === undefined ? {} : { outcome: JSON.stringify(table.outcome) }),
  };
}

/**
 * Serves the check store and the verdict writes from one table state, with DynamoDB's conditions: a
 * partial and a shard's count land once (ReturnValues ALL_NEW gives the header with its sets),
 * the tick is marked merged once, and a verdict on an interval in `refused` fails its condition.
 */
function serveCheckTable(tick: Tick, refused: readonly number[] = []): CheckTable {
  const table: CheckTable = {
    header: {
      stream: CHECK_PARTITION,
      interval: INTERVAL,
      checkedAt: CHECKED_AT,
      shards: tick.shards,
      segments: tick.segments,
      heads: headsOf(tick),
      averageIngestPerInterval: tick.averageIngestPerInterval ?? 0,
      judged: tick.judged,
      ...(tick.newest === undefined ? {} : { newest: tick.newest }),
      expiresAt: Math.floor(Date.parse(SCHEDULED_AT) / 1000) + 86_400,
    },
    reported: new Set(),
    expired: new Set(),
    partials: new Map(),
    merged: false,
    verdicts: new Map(),
    newestTick: INTERVAL,
  };
  ddb.on(GetCommand, { TableName: TABLES.convergence }).callsFake((input: GetCommandInput) =>
    input.Key?.stream === CHECK_PARTITION && input.Key.interval === INTERVAL ? { Item: stored(table) } : {},
  );
  ddb.on(PutCommand, { TableName: TABLES.convergence }).callsFake((input: PutCommandInput) => {
    const item = input.Item ?? {};
    if (item.stream !== PARTIALS_PARTITION) throw new Error(`unexpected Put on ${String(item.stream)}`);
    if (table.partials.has(Number(item.interval))) throw conditionFailed();
    table.partials.set(Number(item.interval), item);
    return {};
  });
  ddb.on(QueryCommand, { TableName: TABLES.convergence }).callsFake((input: QueryCommandInput) => {
    const partition = input.ExpressionAttributeValues?.[':stream'] as unknown;
    if (partition === CHECK_PARTITION) return { Items: [{ interval: table.newestTick }] };
    return { Items: partition === PARTIALS_PARTITION ? [...table.partials.values()] : [] };
  });
  ddb.on(UpdateCommand, { TableName: TABLES.convergence }).callsFake((input: UpdateCommandInput) => {
    const key = input.Key ?? {};
    if (key.stream === STREAM) {
      if (refused.includes(Number(key.interval))) throw conditionFailed();
      table.verdicts.set(Number(key.interval), input);
      return {};
    }
    if (input.UpdateExpression?.startsWith('ADD ') === true) {
      const shard = Number(input.ExpressionAttributeValues?.[':shard']);
      if (table.reported.has(shard) || table.expired.has(shard)) throw conditionFailed();
      (input.UpdateExpression.includes('#expiredShards') ? table.expired : table.reported).add(shard);
      return { Attributes: stored(table) };
    }
    if (table.merged) throw conditionFailed();
    table.merged = true;
    table.outcome = JSON.parse(String(input.ExpressionAttributeValues?.[':outcome'])) as CheckOutcome;
    return {};
  });
  return table;
}

/** The Nodes table's Scan segments: segment g of the Scan returns `segments[g]`. */
function serveSegments(segments: Readonly<Record<number, readonly Record<string, unknown>[]>>): void {
  ddb.on(ScanCommand, { TableName: TABLES.nodes }).callsFake((input: ScanCommandInput) => ({ Items: [...(segments[input.Segment ?? 0] ?? [])] }));
}

/** The verdict written for `interval`: the values of its UpdateCommand. */
function verdictValues(table: CheckTable, interval: number): Record<string, unknown> | undefined {
  return table.verdicts.get(interval)?.ExpressionAttributeValues;
}

describe('checker shard handler', () => {
  let run: (event: SQSEvent) => Promise<SQSBatchResponse>;
  let observability: typeof import('#shared/observability.ts');

  beforeAll(async () => {
    stubEnv(functionEnv({ INTERVAL_SECONDS: '60' }));
    // The handler reads its configuration at import: only now is the environment in place.
    const { handler } = await import('#functions/checker-shard/handler.ts');
    run = (event) => handler(event, context);
    observability = await import('#shared/observability.ts');
  });

  beforeEach(() => {
    ddb.reset();
    ddb.on(BatchGetCommand).callsFake((input: BatchGetCommandInput) => {
      const keys = input.RequestItems?.[TABLES.log]?.Keys ?? [];
      return { Responses: { [TABLES.log]: keys.flatMap((key) => LOG.filter((e) => e.seq === key.seq).map((e) => logItem(e))) } };
    });
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  describe('alone on its tick (S = 1)', () => {
    it('stores its partial, counts itself in, merges and records a converged verdict when every node reached the planned head with the log’s chain', async () => {
      // Prepare
      const table = serveCheckTable(ONE_SHARD);
      serveSegments({ 0: [nodeAt('n-1', 20), nodeAt('n-2', 30)] });
      const emitted = vi.spyOn(observability.metrics, 'addMetric');

      // Act
      const response = await run(taskEvent(checkTask(ONE_SHARD)));

      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect(ddb).toHaveReceivedCommandWith(ScanCommand, { TableName: TABLES.nodes, ConsistentRead: true });
      expect(ddb).toHaveReceivedCommandWith(PutCommand, { TableName: TABLES.convergence, Item: expect.objectContaining({ stream: PARTIALS_PARTITION, interval: 0 }) as Record<string, unknown>, ConditionExpression: 'attribute_not_exists(#interval)' });
      expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
        TableName: TABLES.convergence,
        Key: { stream: CHECK_PARTITION, interval: INTERVAL },
        UpdateExpression: 'ADD #reportedShards :shardSet',
        ExpressionAttributeValues: { ':shard': 0, ':shardSet': new Set([0]) },
        ReturnValues: 'ALL_NEW',
      });
      expect([...table.verdicts.keys()]).toEqual([INTERVAL - 1]);
      expect(table.verdicts.get(INTERVAL - 1)).toMatchObject({
        TableName: TABLES.convergence,
        Key: { stream: STREAM, interval: INTERVAL - 1 },
        ConditionExpression:
          'attribute_exists(#interval) AND #converged = :false AND attribute_not_exists(#expiredAt) AND ' +
          '(attribute_not_exists(#checkedAt) OR #checkedAt <= :checkedAt) AND attribute_not_exists(#version)',
        ExpressionAttributeValues: {
          ':version': 1,
          ':false': false,
          ':checkedAt': CHECKED_AT,
          ':activeNodes': 2,
          ':consistentNodes': 2,
          ':maxLagUpdates': 0,
          ':maxStalenessSeconds': 0,
          ':laggingCount': 0,
          ':laggingNodes': [],
          ':underProvisionedCount': 0,
          ':underProvisionedNodes': [],
          ':integrityFailureCount': 0,
          ':integrityFailures': [],
          ':converged': true,
        },
      });
      expect(table.verdicts.get(INTERVAL - 1)?.UpdateExpression).toContain('#convergedAt = :checkedAt');
      expect(table.merged).toBe(true);
      expect(table.outcome?.latest).toEqual({ interval: INTERVAL - 1, converged: true, convergedAt: CHECKED_AT });
      expect(emitted).toHaveBeenCalledWith(METRIC.Converged, 'Count', 1);
      // Partial, count, then the merge: the partials read, the verdict, the mark.
      const order = ddb.calls().map((call) => call.args[0].constructor.name);
      // The newest tick first (is the task superseded?), then the partial, the count and the merge.
      expect(order.filter((name) => name !== 'ScanCommand' && name !== 'BatchGetCommand')).toEqual(['QueryCommand', 'PutCommand', 'UpdateCommand', 'GetCommand', 'QueryCommand', 'UpdateCommand', 'UpdateCommand']);
    });

    it('records a not-converged verdict naming the laggard and how far it is behind', async () => {
      // Prepare
      const table = serveCheckTable(ONE_SHARD);
      serveSegments({ 0: [nodeAt('n-1', 20), nodeAt('n-2', 12)] });
      const emitted = vi.spyOn(observability.metrics, 'addMetric');

      // Act
      await run(taskEvent(checkTask(ONE_SHARD)));

      // Assess
      expect(verdictValues(table, INTERVAL - 1)).toMatchObject({
        ':converged': false,
        ':activeNodes': 2,
        ':consistentNodes': 1,
        ':maxLagUpdates': 8,
        ':laggingCount': 1,
        ':laggingNodes': [{ nodeId: 'n-2', appliedSeq: 12, lagUpdates: 8, stalenessSeconds: stalenessOf(13) }],
        ':integrityFailures': [],
      });
      expect(table.verdicts.get(INTERVAL - 1)?.UpdateExpression).not.toContain('convergedAt');
      expect(table.outcome?.latest).toEqual({ interval: INTERVAL - 1, converged: false });
      expect(emitted).toHaveBeenCalledWith(METRIC.Converged, 'Count', 0);
    });

    it('names a node whose share per interval is below the average ingest per interval, and logs it', async () => {
      // Prepare: the coordinator found 10 updates per interval; n-slow takes ceil(0.1 · 60) = 6.
      const tick: Tick = { ...ONE_SHARD, judged: [{ interval: INTERVAL - 1, head: 30, version: 0 }], averageIngestPerInterval: 10 };
      const table = serveCheckTable(tick);
      serveSegments({ 0: [nodeAt('n-fast', 30, { rate: 1 }), nodeAt('n-slow', 24, { rate: 0.1 })] });
      const warned = vi.spyOn(observability.logger, 'warn');
      const emitted = vi.spyOn(observability.metrics, 'addMetric');

      // Act
      await run(taskEvent(checkTask(tick)));

      // Assess
      const named = [{ nodeId: 'n-slow', sharePerInterval: 6, averageIngestPerInterval: 10 }];
      expect(verdictValues(table, INTERVAL - 1)).toMatchObject({ ':underProvisionedCount': 1, ':underProvisionedNodes': named, ':converged': false });
      expect(table.outcome?.current.underProvisionedNodes).toEqual(named);
      expect(warned).toHaveBeenCalledWith(expect.stringMatching(/too slow for the ingest rate/), { nodes: named });
      expect(emitted).toHaveBeenCalledWith(METRIC.UnderProvisionedNodes, 'Count', 1);
    });

    it('flags an integrity failure when a node’s chain differs from the log’s at its cursor, and counts and names the node', async () => {
      // Prepare
      const table = serveCheckTable(ONE_SHARD);
      serveSegments({ 0: [nodeAt('n-1', 30), nodeAt('n-2', 30, { appliedChain: 'f'.repeat(64) })] });
      const emitted = vi.spyOn(observability.metrics, 'addMetric');

      // Act
      await run(taskEvent(checkTask(ONE_SHARD)));

      // Assess
      expect(verdictValues(table, INTERVAL - 1)).toMatchObject({
        ':integrityFailureCount': 1,
        ':integrityFailures': ['n-2'],
        ':consistentNodes': 1,
        ':laggingNodes': [],
        ':converged': false,
      });
      expect(table.outcome?.current.integrityFailures).toEqual(['n-2']);
      expect(emitted).toHaveBeenCalledWith(METRIC.IntegrityFailedNodes, 'Count', 1);
    });

    it('names ten of 250 broken nodes in the verdict and logs all 250, at most 100 to a line', async () => {
      // Prepare
      const table = serveCheckTable(ONE_SHARD);
      const broken = Array.from({ length: 250 }, (_, i) => nodeAt(`n-${String(i).padStart(3, '0')}`, 30, { appliedChain: 'f'.repeat(64) }));
      serveSegments({ 0: broken });
      const logged = vi.spyOn(observability.logger, 'error');

      // Act
      await run(taskEvent(checkTask(ONE_SHARD)));

      // Assess
      const values = verdictValues(table, INTERVAL - 1);
      expect(values?.[':integrityFailureCount']).toBe(250);
      expect(values?.[':integrityFailures']).toEqual(broken.slice(0, 10).map((node) => node.nodeId));
      const lines = logged.mock.calls.filter(([message]) => message === 'nodes whose chain differs from the log: their data differs');
      const named = lines.map(([, fields]) => (fields as { nodes: string[] }).nodes);
      expect(named.map((nodes) => nodes.length)).toEqual([100, 100, 50]);
      expect(named.flat()).toEqual(broken.map((node) => node.nodeId));
    });

    it('skips a Nodes item that is not a node and logs it with its key, judging every other node', async () => {
      // Prepare
      const table = serveCheckTable(ONE_SHARD);
      serveSegments({ 0: [nodeAt('n-1', 20), { ...nodeAt('n-bad', 20), rate: -1 }] });
      const logged = vi.spyOn(observability.logger, 'error');
      const emitted = vi.spyOn(observability.metrics, 'addMetric');

      // Act
      const response = await run(taskEvent(checkTask(ONE_SHARD)));

      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect(verdictValues(table, INTERVAL - 1)).toMatchObject({ ':activeNodes': 1, ':converged': true });
      expect(logged).toHaveBeenCalledWith(expect.stringMatching(/not valid nodes/), {
        rejected: [{ nodeId: 'n-bad', attribute: 'rate', problem: 'must be a positive number of updates per second (got -1)' }],
      });
      // The planner shards count bad items in RejectedNodes (a Sum): the checker would count them twice.
      expect(emitted.mock.calls.map(([name]) => name)).not.toContain(METRIC.RejectedNodes);
    });

    it('leaves an interval that converged after the coordinator read it as it was recorded, and writes the others', async () => {
      // Prepare: k − 2 converged at a later tick's merge; its verdict write is refused by its condition.
      const tick: Tick = {
        shards: 1,
        segments: 1,
        judged: [
          { interval: INTERVAL - 2, head: 15, version: 3 },
          { interval: INTERVAL - 1, head: 20, version: 0 },
        ],
        newest: { interval: INTERVAL - 1, converged: false },
      };
      const table = serveCheckTable(tick, [INTERVAL - 2]);
      serveSegments({ 0: [nodeAt('n-1', 25), nodeAt('n-2', 22)] });
      const info = vi.spyOn(observability.logger, 'info');

      // Act
      const response = await run(taskEvent(checkTask(tick)));

      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
        Key: { stream: STREAM, interval: INTERVAL - 2 },
        ConditionExpression:
          'attribute_exists(#interval) AND #converged = :false AND attribute_not_exists(#expiredAt) AND ' +
          '(attribute_not_exists(#checkedAt) OR #checkedAt <= :checkedAt) AND #version = :readVersion',
        ExpressionAttributeValues: expect.objectContaining({ ':readVersion': 3, ':version': 4 }) as Record<string, unknown>,
      });
      expect([...table.verdicts.keys()]).toEqual([INTERVAL - 1]);
      expect(verdictValues(table, INTERVAL - 1)).toMatchObject({ ':converged': true, ':consistentNodes': 2 });
      expect(info).toHaveBeenCalledWith(expect.stringMatching(/verdicts not written/), { intervals: [INTERVAL - 2] });
      expect(table.merged).toBe(true);
    });

    it('does not merge twice when its task is delivered again after the tick was merged', async () => {
      // Prepare
      const table = serveCheckTable(ONE_SHARD);
      serveSegments({ 0: [nodeAt('n-1', 20), nodeAt('n-2', 30)] });
      await run(taskEvent(checkTask(ONE_SHARD)));
      const writes = ddb.commandCalls(UpdateCommand).length;
      const emitted = vi.spyOn(observability.metrics, 'addMetric');

      // Act
      const response = await run(taskEvent(checkTask(ONE_SHARD), 'check-0-again'));

      // Assess: one more (refused) count and nothing else written.
      expect(response).toEqual({ batchItemFailures: [] });
      expect(ddb.commandCalls(UpdateCommand)).toHaveLength(writes + 1);
      expect([...table.reported]).toEqual([0]);
      expect(table.partials.size).toBe(1);
      expect(emitted.mock.calls.map(([name]) => name)).not.toContain(METRIC.ConvergenceLagSeconds);
    });
  });

  describe('one of two shards (S = 2)', () => {
    const TWO_SHARDS: Tick = { shards: 2, segments: 2, judged: [{ interval: INTERVAL - 1, head: 20, version: 0 }], newest: { interval: INTERVAL - 1, converged: false } };
    /** Shard 0 scans segment 0, shard 1 segment 1. */
    const SEGMENTS = { 0: [nodeAt('n-1', 20), nodeAt('n-2', 12)], 1: [nodeAt('n-3', 30), nodeAt('n-4', 25)] };
    const CONVERGENCE_METRICS: string[] = [METRIC.ConvergenceLagSeconds, METRIC.LaggingNodes, METRIC.MaxLagUpdates, METRIC.IntegrityFailedNodes, METRIC.UnderProvisionedNodes, METRIC.Converged];

    it('stores its partial and counts itself in, but the first to report neither merges nor emits the convergence metrics', async () => {
      // Prepare
      const table = serveCheckTable(TWO_SHARDS);
      serveSegments(SEGMENTS);
      const emitted = vi.spyOn(observability.metrics, 'addMetric');

      // Act
      const response = await run(taskEvent(checkTask(TWO_SHARDS, 0)));

      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect(ddb.commandCalls(ScanCommand).map((call) => [call.args[0].input.Segment, call.args[0].input.TotalSegments])).toEqual([[0, 2]]);
      const partial = JSON.parse(String(table.partials.get(0)?.tally)) as TallyState;
      expect(partial).toMatchObject({ heads: [20, 30], activeNodes: 2, lowestCursor: 12, laggards: [expect.objectContaining({ nodeId: 'n-2' }), expect.objectContaining({ nodeId: 'n-1' })] });
      expect([...table.reported]).toEqual([0]);
      expect(partialReads()).toEqual([]);
      expect(table.verdicts.size).toBe(0);
      expect(table.merged).toBe(false);
      expect(emitted.mock.calls.map(([name]) => name).filter((name) => CONVERGENCE_METRICS.includes(name))).toEqual([]);
    });

    it('merges both partials when it completes the count, and emits ConvergenceLagSeconds, LaggingNodes, MaxLagUpdates and Converged', async () => {
      // Prepare: shard 0 has reported, its partial stored.
      const table = serveCheckTable(TWO_SHARDS);
      serveSegments(SEGMENTS);
      await run(taskEvent(checkTask(TWO_SHARDS, 0)));
      const emitted = vi.spyOn(observability.metrics, 'addMetric');

      // Act
      const response = await run(taskEvent(checkTask(TWO_SHARDS, 1)));

      // Assess: the verdict is the whole fleet's: n-2 lags head 20, the other three reached it.
      expect(response).toEqual({ batchItemFailures: [] });
      expect(ddb).toHaveReceivedCommandWith(QueryCommand, { TableName: TABLES.convergence, ExpressionAttributeValues: { ':stream': PARTIALS_PARTITION }, ConsistentRead: true });
      expect(verdictValues(table, INTERVAL - 1)).toMatchObject({
        ':activeNodes': 4,
        ':consistentNodes': 3,
        ':laggingCount': 1,
        ':maxLagUpdates': 8,
        ':laggingNodes': [{ nodeId: 'n-2', appliedSeq: 12, lagUpdates: 8, stalenessSeconds: stalenessOf(13) }],
        ':converged': false,
      });
      // Against the current head 30 only n-3 is there: three lag, n-2 by 18 and for longest.
      expect(table.outcome?.current).toMatchObject({ interval: INTERVAL, head: HEAD, activeNodes: 4, consistentNodes: 1, laggingCount: 3, maxLagUpdates: 18 });
      expect(emitted).toHaveBeenCalledWith(METRIC.ConvergenceLagSeconds, 'Seconds', stalenessOf(13));
      expect(emitted).toHaveBeenCalledWith(METRIC.LaggingNodes, 'Count', 3);
      expect(emitted).toHaveBeenCalledWith(METRIC.MaxLagUpdates, 'Count', 18);
      expect(emitted).toHaveBeenCalledWith(METRIC.IntegrityFailedNodes, 'Count', 0);
      expect(emitted).toHaveBeenCalledWith(METRIC.Converged, 'Count', 0);
      expect(table.merged).toBe(true);
    });
  });

  it('counts a stale task as expired and judges nothing: the next tick judges afresh', async () => {
    // Prepare
    const table = serveCheckTable(ONE_SHARD);
    serveSegments({ 0: [nodeAt('n-1', 20)] });
    table.newestTick = INTERVAL + 1;
    const emitted = vi.spyOn(observability.metrics, 'addMetric');
    const warned = vi.spyOn(observability.logger, 'warn');

    // Act
    const response = await run(taskEvent(checkTask(ONE_SHARD)));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, { Key: { stream: CHECK_PARTITION, interval: INTERVAL }, UpdateExpression: 'ADD #expiredShards :shardSet', ReturnValues: 'ALL_NEW' });
    expect([...table.expired]).toEqual([0]);
    expect(ddb).not.toHaveReceivedCommand(ScanCommand);
    expect(ddb).not.toHaveReceivedCommand(PutCommand);
    expect(partialReads()).toEqual([]);
    expect(table.verdicts.size).toBe(0);
    expect(table.merged).toBe(false);
    expect(emitted).toHaveBeenCalledWith(METRIC.ShardTasksExpired, 'Count', 1);
    expect(emitted.mock.calls.map(([name]) => name)).not.toContain(METRIC.ConvergenceLagSeconds);
    expect(warned).toHaveBeenCalledWith(expect.stringMatching(/counted as expired/), expect.objectContaining({ expired: true, interval: INTERVAL, shard: 0 }));
  });

  it('emits ShardTasksExpired once for a stale task delivered twice', async () => {
    // Prepare
    const table = serveCheckTable(ONE_SHARD);
    table.newestTick = INTERVAL + 1;
    await run(taskEvent(checkTask(ONE_SHARD)));
    const emitted = vi.spyOn(observability.metrics, 'addMetric');

    // Act
    const response = await run(taskEvent(checkTask(ONE_SHARD), 'check-0-again'));

    // Assess: the dashboards sum it over the tick; the header counted the shard once.
    expect(response).toEqual({ batchItemFailures: [] });
    expect([...table.expired]).toEqual([0]);
    expect(emitted).toHaveBeenCalledWith(METRIC.ShardTasksExpired, 'Count', 0);
  });

  it('fails only a record that carries a plan task, logging its message id', async () => {
    // Prepare
    const table = serveCheckTable(ONE_SHARD);
    serveSegments({ 0: [nodeAt('n-1', 20)] });
    const planTask: PlanTask = { v: 1, kind: 'plan', stream: STREAM, interval: INTERVAL, plannedAt: CHECKED_AT, head: HEAD, shards: 1, segments: 1, previousSegments: 1, shard: 0 };
    const event = sqsEvent([...taskEvent(planTask, 'plan-0').Records, ...taskEvent(checkTask(ONE_SHARD)).Records]);
    const logged = vi.spyOn(observability.logger, 'error');

    // Act
    const response = await run(event);

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'plan-0' }] });
    expect(logged).toHaveBeenCalledWith('shard task failed: SQS delivers it again, then dead-letters it', expect.objectContaining({ messageId: 'plan-0' }));
    expect(table.merged).toBe(true);
  });
});
