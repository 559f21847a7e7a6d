import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { BatchGetCommandInput, QueryCommandInput, UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ValidationError } from '#shared/domain/errors.ts';
import type { ScheduledTick } from '#shared/domain/scheduled-event.ts';
import type { LogEntry, NodeState } from '#shared/domain/types.ts';
import { METRIC } from '#shared/metrics.ts';
import type { CheckConvergenceResult } from '#shared/usecases/check-convergence.ts';
import { functionEnv, lambdaContext, stubEnv, TABLES } from '#test/support/lambda.ts';
import { headItem, INTERVAL, logEntries, logItem, nodeItem, puts, SCHEDULED_AT, schedulerEvent, STREAM } from './support.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const context = lambdaContext('MicrobatchSync-Checker-AbC123');
const CHECKED_AT = new Date(SCHEDULED_AT).toISOString();

/** Thirty updates whose chain verifies; the head is at 30. */
const LOG = logEntries(puts(30));
const HEAD = 30;

function entry(seq: number): LogEntry {
  const found = LOG[seq - 1];
  if (found?.seq !== seq) throw new Error(`the test log has no seq ${seq}`);
  return found;
}

/** A node whose cursor is at `appliedSeq` with the log's chain there. */
function nodeAt(nodeId: string, appliedSeq: number, extra: Partial<NodeState> = {}): Record<string, unknown> {
  return nodeItem({ nodeId, rate: 1, appliedSeq, appliedChain: entry(appliedSeq).chain, plannedSeq: appliedSeq, ...extra });
}

/** The plan header the planner wrote for `interval`, not yet judged. */
function planHeader(interval: number, head: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    stream: STREAM,
    interval,
    head,
    headChain: entry(head).chain,
    plannedAt: new Date(interval * 60_000).toISOString(),
    nodesPlanned: 2,
    microbatches: 4,
    expiresAt: interval * 60 + 30 * 86_400,
    converged: false,
    ...extra,
  };
}

/** The Convergence table holds `headers`; a Query returns those from `:after` (if given) to `:upTo`, in the order asked for. */
function serveHeaders(headers: readonly Record<string, unknown>[]): void {
  ddb.on(QueryCommand, { TableName: TABLES.convergence }).callsFake((input: QueryCommandInput) => {
    const values = input.ExpressionAttributeValues ?? {};
    const after = values[':after'] === undefined ? Number.NEGATIVE_INFINITY : Number(values[':after']);
    const upTo = Number(values[':upTo']);
    const items = headers
      .filter((header) => Number(header.interval) >= after && Number(header.interval) <= upTo)
      .sort((a, b) => (input.ScanIndexForward === false ? -1 : 1) * (Number(a.interval) - Number(b.interval)))
      .slice(0, input.Limit);
    return { Items: items };
  });
}

function serveNodes(nodes: readonly Record<string, unknown>[]): void {
  ddb.on(ScanCommand, { TableName: TABLES.nodes }).resolves({ Items: [...nodes] });
}

/** The intervals whose records were written (verdicts and expiries; not the watermark), in call order. */
function writtenIntervals(): number[] {
  return ddb
    .commandCalls(UpdateCommand)
    .map((call) => call.args[0].input.Key)
    .filter((key) => key?.stream === STREAM)
    .map((key) => Number(key?.interval));
}

/** The verdict written for `interval`: the values of its UpdateCommand. */
function verdictFor(interval: number): UpdateCommandInput | undefined {
  return ddb
    .commandCalls(UpdateCommand)
    .map((call) => call.args[0].input)
    .find((input) => input.Key?.interval === interval);
}

describe('checker handler', () => {
  let check: (event: unknown) => Promise<CheckConvergenceResult>;

  beforeAll(async () => {
    stubEnv(functionEnv({ INTERVAL_SECONDS: '60' }));
    // The handler reads its configuration at import: only now is the environment in place.
    const { handler } = await import('#functions/checker/handler.ts');
    check = async (event) => (await handler(event as ScheduledTick, context)) as CheckConvergenceResult;
  });

  beforeEach(() => {
    ddb.reset();
    ddb.on(GetCommand, { TableName: TABLES.log, Key: { stream: STREAM, seq: 0 } }).resolves({ Item: headItem(HEAD, entry(HEAD).chain) });
    ddb.on(BatchGetCommand).callsFake((input: BatchGetCommandInput) => {
      const keys = input.RequestItems?.[TABLES.log]?.Keys ?? [];
      return { Responses: { [TABLES.log]: keys.flatMap((key) => LOG.filter((e) => e.seq === key.seq).map((e) => logItem(e))) } };
    });
    ddb.on(UpdateCommand).resolves({});
    // No watermark yet: the checker reads every record up to its interval.
    ddb.on(GetCommand, { TableName: TABLES.convergence }).resolves({});
    // The node repository sizes its parallel Scan from the table's item count.
    ddb.on(DescribeTableCommand, { TableName: TABLES.nodes }).resolves({ Table: { ItemCount: 2 } });
  });

  it('records a converged verdict when every node has reached the planned head with the log’s chain', async () => {
    // Prepare
    serveHeaders([planHeader(INTERVAL - 1, 20)]);
    serveNodes([nodeAt('n-1', 20), nodeAt('n-2', 30)]);

    // Act
    const result = await check(schedulerEvent());

    // Assess
    expect(writtenIntervals()).toEqual([INTERVAL - 1]);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
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
    expect(verdictFor(INTERVAL - 1)?.UpdateExpression).toContain('#convergedAt = :checkedAt');
    expect(result.latest).toEqual({ interval: INTERVAL - 1, converged: true, convergedAt: CHECKED_AT });
  });

  it('records a not-converged verdict naming the laggard and how far it is behind', async () => {
    // Prepare
    serveHeaders([planHeader(INTERVAL - 1, 20)]);
    serveNodes([nodeAt('n-1', 20), nodeAt('n-2', 12)]);

    // Act
    const result = await check(schedulerEvent());

    // Assess
    const verdict = verdictFor(INTERVAL - 1);
    const oldestMissing = Date.parse(entry(13).producedAt);
    expect(verdict?.ExpressionAttributeValues).toMatchObject({
      ':converged': false,
      ':activeNodes': 2,
      ':consistentNodes': 1,
      ':maxLagUpdates': 8,
      ':laggingCount': 1,
      ':laggingNodes': [{ nodeId: 'n-2', appliedSeq: 12, lagUpdates: 8, stalenessSeconds: (Date.parse(SCHEDULED_AT) - oldestMissing) / 1000 }],
      ':integrityFailures': [],
    });
    expect(verdict?.UpdateExpression).not.toContain('convergedAt');
    expect(result.latest).toEqual({ interval: INTERVAL - 1, converged: false });
  });

  it('names a node whose share per interval is below the average ingest per interval', async () => {
    // Prepare: the head moved from 10 to 30 over two intervals, 10 updates per interval; n-slow takes ceil(0.1 · 60) = 6.
    serveHeaders([planHeader(INTERVAL - 1, 30), planHeader(INTERVAL - 3, 10)]);
    serveNodes([nodeAt('n-fast', 30, { rate: 1 }), nodeAt('n-slow', 24, { rate: 0.1 })]);

    // Act
    const result = await check(schedulerEvent());

    // Assess
    const named = [{ nodeId: 'n-slow', sharePerInterval: 6, averageIngestPerInterval: 10 }];
    expect(verdictFor(INTERVAL - 1)?.ExpressionAttributeValues).toMatchObject({ ':underProvisionedNodes': named, ':converged': false });
    expect(result.current.underProvisionedNodes).toEqual(named);
  });

  it('flags an integrity failure when a node’s chain differs from the log’s at its cursor, and counts the node', async () => {
    // Prepare
    const { metrics } = await import('#shared/observability.ts');
    const emitted = vi.spyOn(metrics, 'addMetric');
    serveHeaders([planHeader(INTERVAL - 1, 20)]);
    serveNodes([nodeAt('n-1', 30), nodeAt('n-2', 30, { appliedChain: 'f'.repeat(64) })]);

    // Act
    const result = await check(schedulerEvent());

    // Assess
    expect(verdictFor(INTERVAL - 1)?.ExpressionAttributeValues).toMatchObject({
      ':integrityFailureCount': 1,
      ':integrityFailures': ['n-2'],
      ':consistentNodes': 1,
      ':laggingNodes': [],
      ':converged': false,
    });
    expect(result.current.integrityFailures).toEqual(['n-2']);
    expect(emitted).toHaveBeenCalledWith(METRIC.IntegrityFailedNodes, 'Count', 1);
    emitted.mockRestore();
  });

  it('names ten of 250 broken nodes in the verdict and logs all 250, at most 100 to a line', async () => {
    // Prepare
    const { logger } = await import('#shared/observability.ts');
    const logged = vi.spyOn(logger, 'error');
    const broken = Array.from({ length: 250 }, (_, i) => nodeAt(`n-${String(i).padStart(3, '0')}`, 30, { appliedChain: 'f'.repeat(64) }));
    serveHeaders([planHeader(INTERVAL - 1, 20)]);
    serveNodes(broken);

    // Act
    await check(schedulerEvent());

    // Assess
    const values = verdictFor(INTERVAL - 1)?.ExpressionAttributeValues;
    expect(values?.[':integrityFailureCount']).toBe(250);
    expect(values?.[':integrityFailures']).toEqual(broken.slice(0, 10).map((node) => node.nodeId));
    const lines = logged.mock.calls.filter(([message]) => message === 'nodes whose chain differs from the log: their data differs');
    const named = lines.map(([, fields]) => (fields as { nodes: string[] }).nodes);
    expect(named.map((nodes) => nodes.length)).toEqual([100, 100, 50]);
    expect(named.flat()).toEqual(broken.map((node) => node.nodeId));
    logged.mockRestore();
  });

  it('skips a Nodes item that is not a node, logs it with its key and emits RejectedNodes, judging every other node', async () => {
    // Prepare
    const { logger, metrics } = await import('#shared/observability.ts');
    const logged = vi.spyOn(logger, 'error');
    const emitted = vi.spyOn(metrics, 'addMetric');
    serveHeaders([planHeader(INTERVAL - 1, 20)]);
    serveNodes([nodeAt('n-1', 20), { ...nodeAt('n-bad', 20), rate: -1 }]);

    // Act
    const result = await check(schedulerEvent());

    // Assess
    expect(result.rejectedNodes).toBe(1);
    expect(verdictFor(INTERVAL - 1)?.ExpressionAttributeValues).toMatchObject({ ':activeNodes': 1, ':converged': true });
    expect(logged).toHaveBeenCalledWith(expect.stringMatching(/not valid nodes/), {
      rejected: [{ nodeId: 'n-bad', attribute: 'rate', problem: 'must be a positive number of updates per second (got -1)' }],
    });
    expect(emitted).toHaveBeenCalledWith(METRIC.RejectedNodes, 'Count', 1);
    logged.mockRestore();
    emitted.mockRestore();
  });

  it('judges only the intervals before its own: the plan of its own interval has just been made', async () => {
    // Prepare: the planner of interval k has already written its header.
    serveHeaders([planHeader(INTERVAL, 30), planHeader(INTERVAL - 1, 20)]);
    serveNodes([nodeAt('n-1', 20), nodeAt('n-2', 20)]);

    // Act
    const result = await check(schedulerEvent());

    // Assess
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      TableName: TABLES.convergence,
      ExpressionAttributeValues: { ':stream': STREAM, ':upTo': INTERVAL - 1 },
      ConsistentRead: true,
    });
    expect(writtenIntervals()).toEqual([INTERVAL - 1]);
    expect(verdictFor(INTERVAL)).toBeUndefined();
    expect(result.evaluated.map((verdict) => verdict.interval)).toEqual([INTERVAL - 1]);
  });

  it('leaves an interval that has already converged as it was recorded', async () => {
    // Prepare
    const judged = {
      checkedAt: '2026-11-27T10:17:00.000Z',
      convergedAt: '2026-11-27T10:17:00.000Z',
      activeNodes: 2,
      consistentNodes: 2,
      maxLagUpdates: 0,
      maxStalenessSeconds: 0,
      laggingCount: 0,
      laggingNodes: [],
      underProvisionedCount: 0,
      underProvisionedNodes: [],
      integrityFailureCount: 0,
      integrityFailures: [],
      converged: true,
    };
    serveHeaders([planHeader(INTERVAL - 1, 25), planHeader(INTERVAL - 2, 20, judged)]);
    serveNodes([nodeAt('n-1', 25), nodeAt('n-2', 22)]);

    // Act
    await check(schedulerEvent());

    // Assess
    expect(writtenIntervals()).toEqual([INTERVAL - 1]);
    expect(verdictFor(INTERVAL - 2)).toBeUndefined();
    expect(verdictFor(INTERVAL - 1)?.ExpressionAttributeValues).toMatchObject({ ':converged': false, ':maxLagUpdates': 3 });
  });

  it('expires an interval that left the window of 60 unconverged, emits IntervalsExpired, logs it and raises the watermark', async () => {
    // Prepare: no watermark yet; k − 61 left the window of ticks k − 60 … k − 1, k − 62 converged before it left.
    const { logger, metrics } = await import('#shared/observability.ts');
    const warned = vi.spyOn(logger, 'warn');
    const emitted = vi.spyOn(metrics, 'addMetric');
    serveHeaders([planHeader(INTERVAL - 62, 10, { converged: true, convergedAt: CHECKED_AT }), planHeader(INTERVAL - 61, 20), planHeader(INTERVAL - 1, 20)]);
    serveNodes([nodeAt('n-1', 15)]);

    // Act
    const result = await check(schedulerEvent());

    // Assess
    expect(result.expired).toEqual([INTERVAL - 61]);
    expect(writtenIntervals().sort()).toEqual([INTERVAL - 61, INTERVAL - 1]);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { stream: STREAM, interval: INTERVAL - 61 },
      UpdateExpression: 'SET #expiredAt = :expiredAt, #version = if_not_exists(#version, :zero) + :one',
    });
    expect(ddb.commandCalls(UpdateCommand).find((call) => call.args[0].input.Key?.interval === INTERVAL - 61)?.args[0].input.ExpressionAttributeValues).toMatchObject({
      ':expiredAt': CHECKED_AT,
    });
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, { Key: { stream: `${STREAM}#checker`, interval: 0 }, ExpressionAttributeValues: { ':through': INTERVAL - 61 } });
    expect(emitted).toHaveBeenCalledWith(METRIC.IntervalsExpired, 'Count', 1);
    expect(warned).toHaveBeenCalledWith(expect.stringMatching(/expired/), { intervals: [INTERVAL - 61] });
    warned.mockRestore();
    emitted.mockRestore();
  });

  it('rejects an event with neither scheduled-event shape, naming the fields, and makes no AWS call', async () => {
    // Act
    const invocation = check({ source: 'aws.events' });

    // Assess
    await expect(invocation).rejects.toThrow(ValidationError);
    await expect(invocation).rejects.toThrow(/\btime: .*scheduledTime: /);
    expect(ddb.calls()).toHaveLength(0);
  });
});
