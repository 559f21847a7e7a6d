import { FullBatchFailureError } from '@aws-lambda-powertools/batch';
import type { PutCommandInput, QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { serializeMicrobatch } from '#shared/domain/microbatch.ts';
import type { LogEntry, Microbatch, NewUpdate, NodeState } from '#shared/domain/types.ts';
import { METRIC } from '#shared/metrics.ts';
import { conditionFailed } from '#test/adapters/support.ts';
import { functionEnv, lambdaContext, sqsEvent, sqsRecord, stubEnv, TABLES } from '#test/support/lambda.ts';
import { INTERVAL, logEntries, logItem, nodeItem, puts, STREAM } from './support.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const context = lambdaContext('MicrobatchSync-Applier-AbC123');
const BATCH_SIZE = 5;

/** Twelve updates whose chain verifies: keys key-1 … key-12, one put each. */
const LOG = logEntries(puts(12));

function entry(seq: number, log: readonly LogEntry[] = LOG): LogEntry {
  const found = log[seq - 1];
  if (found?.seq !== seq) throw new Error(`the test log has no seq ${seq}`);
  return found;
}

function body(microbatch: Pick<Microbatch, 'nodeId' | 'from' | 'target'> & Omit<Partial<Microbatch>, 'v'> & { readonly v?: number }): string {
  return serializeMicrobatch({ v: 2, stream: STREAM, interval: INTERVAL, index: 0, count: 1, plannedAt: '2026-11-27T10:18:00.000Z', ...microbatch } as Microbatch);
}

/** A token of schema v1 (`from`, `to`), retired: what an earlier deploy may have left in the queue. */
const V1_BODY = JSON.stringify({ v: 1, stream: STREAM, nodeId: 'n-1', interval: INTERVAL, from: 0, to: 3, index: 0, count: 1, plannedAt: '2026-11-27T10:18:00.000Z' });

/** A token for `nodeId` of a plan from `from` to `target`. */
function record(messageId: string, nodeId: string, from: number, target: number): ReturnType<typeof sqsRecord> {
  return sqsRecord({ messageId, groupId: nodeId, body: body({ nodeId, from, target }) });
}

/** Serves the Log table's range queries from `log`, as stored items. */
function serveLog(log: readonly LogEntry[], stored: (entry: LogEntry) => Record<string, unknown> = logItem): void {
  ddb.on(QueryCommand, { TableName: TABLES.log }).callsFake((input: QueryCommandInput) => {
    const lo = Number(input.ExpressionAttributeValues?.[':lo']);
    const hi = Number(input.ExpressionAttributeValues?.[':hi']);
    return { Items: log.filter((e) => e.seq >= lo && e.seq <= hi).map(stored) };
  });
}

function serveNode(node: Partial<NodeState> & Pick<NodeState, 'nodeId'>): void {
  ddb.on(GetCommand, { TableName: TABLES.nodes, Key: { nodeId: node.nodeId } }).resolves({ Item: nodeItem(node) });
}

function replicaPuts(nodeId?: string): PutCommandInput[] {
  return ddb
    .commandCalls(PutCommand)
    .map((call) => call.args[0].input)
    .filter((input) => nodeId === undefined || input.Item?.nodeId === nodeId);
}

function cursorUpdates(nodeId: string): unknown[] {
  return ddb.commandCalls(UpdateCommand).filter((call) => call.args[0].input.Key?.nodeId === nodeId);
}

/** One structured line the handler logged. */
type LogLine = Readonly<Record<string, unknown>>;

/**
 * Collects the lines the handler logs (Powertools writes them to stdout and stderr) instead of
 * printing them, until the spies are restored; `onLine` sees each as it is written.
 */
function captureLogs(onLine: (line: LogLine) => void = () => undefined): LogLine[] {
  const lines: LogLine[] = [];
  const capture = (chunk: string | Uint8Array): boolean => {
    for (const text of String(chunk).split('\n').filter((part) => part.startsWith('{'))) {
      const line = JSON.parse(text) as LogLine;
      lines.push(line);
      onLine(line);
    }
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  return lines;
}

describe('applier handler', () => {
  let apply: (event: SQSEvent) => Promise<SQSBatchResponse>;

  beforeAll(async () => {
    // At DEBUG, so that a test can read every line; each test's lines are captured, never printed.
    stubEnv(functionEnv({ BATCH_SIZE: String(BATCH_SIZE), POWERTOOLS_LOG_LEVEL: 'DEBUG' }));
    // The handler reads its configuration at import: only now is the environment in place.
    const { handler } = await import('#functions/applier/handler.ts');
    apply = (event) => handler(event, context);
  });

  beforeEach(() => {
    ddb.reset();
    ddb.on(GetCommand, { TableName: TABLES.nodes }).resolves({});
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    serveLog(LOG);
    captureLogs();
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('applies a microbatch: reads the node, queries the range, writes each key under a seq guard, then advances the cursor it read', async () => {
    // Prepare
    serveNode({ nodeId: 'n-1' });

    // Act
    const response = await apply(sqsEvent([record('m-1', 'n-1', 0, 5)]));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { TableName: TABLES.nodes, Key: { nodeId: 'n-1' }, ConsistentRead: true });
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      TableName: TABLES.log,
      KeyConditionExpression: '#stream = :stream AND #seq BETWEEN :lo AND :hi',
      ExpressionAttributeValues: { ':stream': STREAM, ':lo': 1, ':hi': 5 },
      ConsistentRead: true,
    });
    const written = replicaPuts().sort((a, b) => Number(a.Item?.seq) - Number(b.Item?.seq));
    expect(written).toEqual(
      [1, 2, 3, 4, 5].map((seq) => ({
        TableName: TABLES.replica,
        Item: { nodeId: 'n-1', key: `key-${seq}`, value: JSON.stringify({ n: seq }), seq, updatedAt: entry(seq).producedAt },
        ConditionExpression: 'attribute_not_exists(#seq) OR #seq < :seq',
        ExpressionAttributeNames: { '#seq': 'seq' },
        ExpressionAttributeValues: { ':seq': seq },
      })),
    );
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: TABLES.nodes,
      Key: { nodeId: 'n-1' },
      ConditionExpression: '#appliedSeq = :expected',
      ExpressionAttributeValues: {
        ':expected': 0,
        ':appliedSeq': 5,
        ':appliedChain': entry(5).chain,
        ':appliedAt': expect.any(String) as unknown,
        ':lastProducedAt': entry(5).producedAt,
      },
    });
    const cursor = ddb.commandCalls(UpdateCommand)[0];
    for (const put of ddb.commandCalls(PutCommand)) expect(cursor && put.calledBefore(cursor)).toBe(true);
  });

  it('collapses a key repeated within the microbatch to one write of its last op', async () => {
    // Prepare
    const updates: NewUpdate[] = [
      { key: 'a', op: 'put', value: 1 },
      { key: 'b', op: 'put', value: 'first' },
      { key: 'a', op: 'put', value: 2 },
      { key: 'b', op: 'delete' },
      { key: 'a', op: 'put', value: { final: true } },
    ];
    const log = logEntries(updates);
    serveLog(log);
    serveNode({ nodeId: 'n-1' });

    // Act
    const response = await apply(sqsEvent([record('m-1', 'n-1', 0, 5)]));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(ddb).toHaveReceivedCommandTimes(PutCommand, 2);
    expect(replicaPuts().map((input) => input.Item)).toEqual(
      expect.arrayContaining([
        { nodeId: 'n-1', key: 'b', deleted: true, seq: 4, updatedAt: entry(4, log).producedAt },
        { nodeId: 'n-1', key: 'a', value: '{"final":true}', seq: 5, updatedAt: entry(5, log).producedAt },
      ]),
    );
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, { ExpressionAttributeValues: expect.objectContaining({ ':appliedSeq': 5, ':appliedChain': entry(5, log).chain }) as Record<string, unknown> });
  });

  it('acknowledges a microbatch the node has already applied without reading the log or writing', async () => {
    // Prepare
    serveNode({ nodeId: 'n-1', appliedSeq: 10, appliedChain: entry(10).chain, plannedSeq: 10 });

    // Act
    const response = await apply(sqsEvent([record('m-1', 'n-1', 0, 5), record('m-2', 'n-1', 5, 10)]));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 0);
    expect(ddb).toHaveReceivedCommandTimes(PutCommand, 0);
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 0);
  });

  it('heals a gap from its own cursor: a microbatch ahead of the node applies from appliedSeq + 1, at most b updates', async () => {
    // Prepare: the microbatch 0 → 5 was dead-lettered; the node is at 3 and the next one says 5 → 10.
    serveNode({ nodeId: 'n-1', appliedSeq: 3, appliedChain: entry(3).chain, plannedSeq: 10 });

    // Act
    const response = await apply(sqsEvent([record('m-2', 'n-1', 5, 10)]));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, { ExpressionAttributeValues: { ':stream': STREAM, ':lo': 4, ':hi': 3 + BATCH_SIZE } });
    expect(replicaPuts().map((input) => input.Item?.seq as unknown).sort()).toEqual([4, 5, 6, 7, 8]);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { nodeId: 'n-1' },
      ExpressionAttributeValues: expect.objectContaining({ ':expected': 3, ':appliedSeq': 8, ':appliedChain': entry(8).chain }) as Record<string, unknown>,
    });
  });

  it.each([
    ['a body that is not JSON', '{"v":1,"nodeId":'],
    ['a body of an unknown schema version', body({ nodeId: 'n-1', from: 0, target: 5, v: 3 })],
    ['a body whose target is below its from', body({ nodeId: 'n-1', from: 5, target: 4 })],
    ['a body whose node id SQS would refuse', body({ nodeId: 'n 1', from: 0, target: 5 })],
    ['a body of the retired schema v1, left in the queue by an earlier deploy', V1_BODY],
  ])('fails only the record with %s while another node in the same batch goes on', async (_what, malformed) => {
    // Prepare
    serveNode({ nodeId: 'n-1' });
    serveNode({ nodeId: 'n-2' });

    // Act
    const response = await apply(sqsEvent([sqsRecord({ messageId: 'm-bad', groupId: 'n-1', body: malformed }), record('m-good', 'n-2', 0, 5)]));

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-bad' }] });
    expect(replicaPuts('n-1')).toEqual([]);
    expect(cursorUpdates('n-1')).toEqual([]);
    expect(replicaPuts('n-2')).toHaveLength(5);
    expect(cursorUpdates('n-2')).toHaveLength(1);
  });

  it('logs with its message id why a schema v1 body failed: the schema is retired', async () => {
    // Prepare: beside a good record, so that the batch is not a full failure.
    const lines = captureLogs();
    serveNode({ nodeId: 'n-2' });

    // Act
    await apply(sqsEvent([sqsRecord({ messageId: 'm-v1', groupId: 'n-1', body: V1_BODY }), record('m-good', 'n-2', 0, 5)]));

    // Assess
    expect(lines.find((line) => line.messageId === 'm-v1')).toMatchObject({
      message: 'microbatch failed: it will be retried, then dead-lettered',
      error: { name: 'ValidationError', message: expect.stringContaining('microbatch schema v1 was retired on 2026-12-04') as unknown },
    });
  });

  it('fails a record whose log chain breaks, writing nothing to the replica or the cursor, and counts it as an integrity failure', async () => {
    // Prepare: seq 3 holds another value than the one its chain was computed over.
    const { metrics } = await import('#shared/observability.ts');
    const emitted = vi.spyOn(metrics, 'addMetric');
    serveLog(LOG, (e) => (e.seq === 3 ? { ...logItem(e), value: JSON.stringify({ n: 'tampered' }) } : logItem(e)));
    serveNode({ nodeId: 'n-1' });
    serveNode({ nodeId: 'n-2', appliedSeq: 5, appliedChain: entry(5).chain, plannedSeq: 5 });

    // Act
    const response = await apply(sqsEvent([record('m-1', 'n-1', 0, 5), record('m-2', 'n-2', 5, 10)]));

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
    expect(replicaPuts('n-1')).toEqual([]);
    expect(cursorUpdates('n-1')).toEqual([]);
    expect(cursorUpdates('n-2')).toHaveLength(1);
    expect(emitted).toHaveBeenCalledWith(METRIC.MicrobatchesFailed, 'Count', 1);
    expect(emitted).toHaveBeenCalledWith(METRIC.MicrobatchIntegrityFailures, 'Count', 1);
    emitted.mockRestore();
  });

  it('fails a record whose log entries are not all visible yet', async () => {
    // Prepare
    serveLog(LOG.slice(0, 3));
    serveNode({ nodeId: 'n-1' });

    // Act: beside a record for an unknown node, so that the batch is not a full failure.
    const response = await apply(sqsEvent([record('m-1', 'n-1', 0, 5), record('m-other', 'n-other', 0, 5)]));

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
    expect(replicaPuts('n-1')).toEqual([]);
    expect(cursorUpdates('n-1')).toEqual([]);
  });

  it('succeeds when another delivery moved the cursor past its range first', async () => {
    // Prepare: the first read finds the node at 0; the cursor update then loses to a delivery that reached 5.
    ddb
      .on(GetCommand, { TableName: TABLES.nodes, Key: { nodeId: 'n-1' } })
      .resolvesOnce({ Item: nodeItem({ nodeId: 'n-1' }) })
      .resolves({ Item: nodeItem({ nodeId: 'n-1', appliedSeq: 5, appliedChain: entry(5).chain, plannedSeq: 5 }) });
    ddb.on(UpdateCommand, { Key: { nodeId: 'n-1' } }).rejects(conditionFailed());

    // Act
    const response = await apply(sqsEvent([record('m-1', 'n-1', 0, 5)]));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 2);
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 1);
  });

  it('acknowledges a microbatch for a node that no longer exists without writing', async () => {
    // Act
    const response = await apply(sqsEvent([record('m-1', 'n-gone', 0, 5)]));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ddb).toHaveReceivedCommandTimes(PutCommand, 0);
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 0);
  });

  it("fails a node's later records once its first one fails, while other nodes' records succeed", async () => {
    // Prepare: n-1's first microbatch finds its log entries missing; n-1's second would go on from there.
    serveLog(LOG.slice(0, 3));
    serveNode({ nodeId: 'n-1' });
    serveNode({ nodeId: 'n-2', appliedSeq: 0 });

    // Act
    const response = await apply(sqsEvent([record('m-1', 'n-1', 0, 5), record('m-2', 'n-2', 0, 3), record('m-3', 'n-1', 5, 10)]));

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }, { itemIdentifier: 'm-3' }] });
    // m-3 was never attempted: the node was read once, for m-1.
    expect(ddb.commandCalls(GetCommand).filter((call) => call.args[0].input.Key?.nodeId === 'n-1')).toHaveLength(1);
    expect(replicaPuts('n-2')).toHaveLength(3);
    expect(cursorUpdates('n-2')).toHaveLength(1);
  });

  it("applies different nodes' records concurrently: one node's record completes while another's read is still pending", async () => {
    // Prepare: n-1's node read answers only once n-2's cursor has moved. Applied one record after
    // another, n-1 (first in the batch) would wait for n-2 forever.
    const n2Advanced = Promise.withResolvers<undefined>();
    const events: string[] = [];
    ddb.on(GetCommand, { TableName: TABLES.nodes, Key: { nodeId: 'n-1' } }).callsFake(async () => {
      events.push('n-1 read asked');
      await n2Advanced.promise;
      return { Item: nodeItem({ nodeId: 'n-1' }) };
    });
    serveNode({ nodeId: 'n-2' });
    ddb.on(UpdateCommand).callsFake((input: { Key: { nodeId: string } }) => {
      events.push(`${input.Key.nodeId} advanced`);
      if (input.Key.nodeId === 'n-2') n2Advanced.resolve(undefined);
      return {};
    });

    // Act
    const response = await apply(sqsEvent([record('m-1', 'n-1', 0, 5), record('m-2', 'n-2', 0, 5)]));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(events).toEqual(['n-1 read asked', 'n-2 advanced', 'n-1 advanced']);
    expect(replicaPuts('n-1')).toHaveLength(5);
    expect(replicaPuts('n-2')).toHaveLength(5);
  }, 5_000);

  it("applies one node's records in batch order, each after the one before it is done, while other nodes go on", async () => {
    // Prepare: n-1's second read sees the cursor its first record advanced.
    ddb
      .on(GetCommand, { TableName: TABLES.nodes, Key: { nodeId: 'n-1' } })
      .resolvesOnce({ Item: nodeItem({ nodeId: 'n-1', plannedSeq: 10 }) })
      .resolves({ Item: nodeItem({ nodeId: 'n-1', appliedSeq: 5, appliedChain: entry(5).chain, plannedSeq: 10 }) });
    serveNode({ nodeId: 'n-2' });

    // Act
    const response = await apply(sqsEvent([record('m-1', 'n-1', 0, 5), record('m-2', 'n-2', 0, 3), record('m-3', 'n-1', 5, 10)]));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const reads = ddb.commandCalls(GetCommand).filter((call) => call.args[0].input.Key?.nodeId === 'n-1');
    const advances = ddb.commandCalls(UpdateCommand).filter((call) => call.args[0].input.Key?.nodeId === 'n-1');
    expect(advances.map((call) => call.args[0].input.ExpressionAttributeValues?.[':appliedSeq'] as unknown)).toEqual([5, 10]);
    const [firstAdvance] = advances;
    const [, secondRead] = reads;
    expect(firstAdvance && secondRead && firstAdvance.calledBefore(secondRead)).toBe(true);
    expect(cursorUpdates('n-2')).toHaveLength(1);
  });

  it("puts each record's node and interval on its own log lines only, never on a record's that runs beside it", async () => {
    // Prepare: n-1's record stays in flight, its node and interval known, until the other two
    // records have logged: a malformed one in n-3's group and one for n-2, a node that is gone.
    // (Applied one record after another, n-1's would wait for them forever.)
    const othersLogged = Promise.withResolvers<undefined>();
    const lines = captureLogs((line) => {
      if (line.messageId === 'm-2') othersLogged.resolve(undefined);
    });
    ddb.on(GetCommand, { TableName: TABLES.nodes, Key: { nodeId: 'n-1' } }).callsFake(async () => {
      await othersLogged.promise;
      return { Item: nodeItem({ nodeId: 'n-1' }) };
    });
    const later = INTERVAL + 1;
    const event = sqsEvent([
      record('m-1', 'n-1', 0, 5),
      sqsRecord({ messageId: 'm-bad', groupId: 'n-3', body: 'not json' }),
      sqsRecord({ messageId: 'm-2', groupId: 'n-2', body: body({ nodeId: 'n-2', from: 0, target: 5, interval: later }) }),
    ]);

    // Act
    const response = await apply(event);

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-bad' }] });
    const keysOf = (messageId: string): { message: unknown; nodeId: unknown; interval: unknown }[] =>
      lines.filter((line) => line.messageId === messageId).map(({ message, nodeId, interval }) => ({ message, nodeId, interval }));
    expect(keysOf('m-1')).toEqual([{ message: 'microbatch done', nodeId: 'n-1', interval: INTERVAL }]);
    expect(keysOf('m-bad')).toEqual([{ message: 'microbatch failed: it will be retried, then dead-lettered', nodeId: undefined, interval: undefined }]);
    expect(keysOf('m-2')).toEqual([
      { message: 'microbatch done', nodeId: 'n-2', interval: later },
      { message: 'microbatch for a node that is not active: acknowledged', nodeId: 'n-2', interval: later },
    ]);
  }, 5_000);

  it('counts the outcomes of records applied concurrently into one value per metric', async () => {
    // Prepare
    const { metrics } = await import('#shared/observability.ts');
    const emitted = vi.spyOn(metrics, 'addMetric');
    serveNode({ nodeId: 'n-1' });
    serveNode({ nodeId: 'n-2' });
    serveNode({ nodeId: 'n-3', appliedSeq: 5, appliedChain: entry(5).chain, plannedSeq: 5 });

    // Act
    await apply(
      sqsEvent([
        record('m-1', 'n-1', 0, 5),
        record('m-2', 'n-2', 0, 3),
        record('m-3', 'n-3', 0, 5),
        record('m-4', 'n-gone', 0, 5),
        sqsRecord({ messageId: 'm-bad', groupId: 'n-5', body: 'not json' }),
      ]),
    );

    // Assess
    const counted = (name: string): unknown[] => emitted.mock.calls.filter(([metric]) => metric === name).map(([, , value]) => value);
    expect(counted(METRIC.MicrobatchesApplied)).toEqual([2]);
    expect(counted(METRIC.UpdatesApplied)).toEqual([8]);
    expect(counted(METRIC.ReplicaWrites)).toEqual([8]);
    expect(counted(METRIC.DuplicatesSkipped)).toEqual([1]);
    expect(counted(METRIC.InactiveNodeMicrobatches)).toEqual([1]);
    expect(counted(METRIC.MicrobatchesFailed)).toEqual([1]);
    expect(counted(METRIC.MicrobatchIntegrityFailures)).toEqual([0]);
  });

  it('throws FullBatchFailureError when every record fails, so that Lambda retries the whole batch', async () => {
    // Prepare
    const event = sqsEvent([
      sqsRecord({ messageId: 'm-1', groupId: 'n-1', body: 'not json' }),
      sqsRecord({ messageId: 'm-2', groupId: 'n-2', body: JSON.stringify({ v: 1 }) }),
    ]);

    // Act
    const invocation = apply(event);

    // Assess
    await expect(invocation).rejects.toThrow(FullBatchFailureError);
    expect(ddb.calls()).toHaveLength(0);
  });
});
