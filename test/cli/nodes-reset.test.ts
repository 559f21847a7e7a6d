/**
 * `microbatch nodes reset`: in process against mocked DynamoDB (a local state file, and a stack
 * found through a mocked CloudFormation), and the plan the planner makes of a reset node, decided by
 * the domain's own `withPlanHistory` and `planNode`.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand, type BatchWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GENESIS_CHAIN } from '#shared/domain/chain.ts';
import { DEFAULT_SETTINGS } from '#shared/domain/config.ts';
import { planNode } from '#shared/domain/plan.ts';
import { entryOf, withPlanHistory, type PlanHistory } from '#shared/domain/segment-plan.ts';
import type { NodeState } from '#shared/domain/types.ts';
import { localDeployment } from '#cli/deployment.ts';
import { ReplicaDeleteError, resetNode, resetPlanInterval, type NodeReset } from '#cli/nodes/reset.ts';
import { microbatch } from '#test/support/microbatch-cli.ts';
import { terminal } from '#test/support/terminal.ts';
import { LOCAL_RESOURCES, mockedLocalStateFile, STACK_OUTPUTS, stackWith } from '#test/support/mocked-deployment.ts';

vi.mock('node:readline/promises', () => import('#test/support/terminal.ts'));

const RULES = { ...DEFAULT_SETTINGS, stream: 'main', intervalSeconds: 60, batchSize: 10 };
const N = 29_447_716;

/** n-1 at rate 1/s (a share of 60 an interval) after it converged on a head of 120. */
const CONVERGED = {
  nodeId: 'n-1',
  rate: 1,
  status: 'active',
  appliedSeq: 120,
  appliedChain: 'c'.repeat(64),
  appliedAt: '2026-11-27T10:15:30Z',
  lastProducedAt: '2026-11-27T10:14:00Z',
  plannedSeq: 0,
} as const satisfies NodeState;

/** The reset item as the planner reads it. */
function resetItem(fields: Partial<NodeState> = {}): NodeState {
  return { nodeId: 'n-1', rate: 1, status: 'active', appliedSeq: 0, appliedChain: GENESIS_CHAIN, plannedSeq: 0, ...fields };
}

describe('the plan of a reset node', () => {
  it('is made from 0 at the next tick when the newest plan record saw the cursor of its earlier life', () => {
    // Prepare: planned twice, its cursor seen at 60.
    const history: PlanHistory = { entry: { nodeId: 'n-1', plannedSeq: 120, progressSeq: 60, progressInterval: N - 3 }, interval: N };

    // Act
    const skips = resetPlanInterval(CONVERGED, history, N);
    const next = planNode(withPlanHistory(resetItem(), history), 150, N + 1, '2026-11-27T10:17:00Z', RULES);

    // Assess
    expect(skips).toBeUndefined();
    expect(next).toMatchObject({ kind: 'plan', purpose: 'new-work', from: 0, target: 60 });
  });

  it("skips one tick, then is made from 0, when the record cannot be told from the reset node's own plan", () => {
    // Prepare: its first plan took the whole log (cursor 0, plannedSeq 60, one interval ago); caught up since.
    const history: PlanHistory = { entry: { nodeId: 'n-1', plannedSeq: 60, progressSeq: 0, progressInterval: N - 1 }, interval: N };
    const asRecorded = planNode(withPlanHistory(resetItem(), history), 60, N + 1, '2026-11-27T10:17:00Z', RULES);

    // Act
    const skips = resetPlanInterval({ ...CONVERGED, appliedSeq: 60 }, history, N);
    const item = resetItem({ plannedInterval: skips ?? 0 });
    const first = withPlanHistory(item, history);
    const skipped = planNode(first, 60, N + 1, '2026-11-27T10:17:00Z', RULES);
    const carried: PlanHistory = { entry: entryOf(first), interval: N + 1 };
    const second = planNode(withPlanHistory(item, carried), 60, N + 2, '2026-11-27T10:18:00Z', RULES);

    // Assess: left to the record, the planner would wait for its tokens.
    expect(asRecorded).toEqual({ kind: 'skip', nodeId: 'n-1', reason: 'awaiting-outstanding' });
    expect(skips).toBe(N + 1);
    expect(skipped).toEqual({ kind: 'skip', nodeId: 'n-1', reason: 'already-planned' });
    expect(carried.entry).toEqual({ nodeId: 'n-1', plannedSeq: 0 });
    expect(second).toMatchObject({ kind: 'plan', purpose: 'new-work', from: 0, target: 60, updates: 60 });
  });

  it('needs no skip for a node the planner never planned', () => {
    expect(resetPlanInterval(CONVERGED, undefined, N)).toBeUndefined();
    expect(resetPlanInterval(CONVERGED, undefined, undefined)).toBeUndefined();
  });
});

describe('microbatch nodes reset', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  const cloudFormation = mockClient(CloudFormationClient);
  const stateFile = mockedLocalStateFile();
  const isTTY = process.stdin.isTTY;
  const keys = (count: number, from = 0): { nodeId: string; key: string }[] => Array.from({ length: count }, (_, index) => ({ nodeId: 'n-1', key: `k-${from + index}` }));

  /** n-1 with a replica of 60 items in two Query pages, and no plan header yet. */
  function tables(names: { readonly nodes: string; readonly replica: string; readonly convergence: string } = { nodes: LOCAL_RESOURCES.nodesTable, replica: LOCAL_RESOURCES.replicaTable, convergence: LOCAL_RESOURCES.convergenceTable }): void {
    ddb.on(GetCommand, { TableName: names.nodes, Key: { nodeId: 'n-1' } }).resolves({ Item: { ...CONVERGED, plannedSeq: 120, plannedAt: '2026-11-27T10:14:00Z', plannedInterval: N, progressSeq: 60, progressInterval: N - 2 } });
    ddb.on(GetCommand, { TableName: names.nodes, Key: { nodeId: 'ghost' } }).resolves({});
    ddb
      .on(QueryCommand, { TableName: names.replica })
      .resolvesOnce({ Items: keys(40), LastEvaluatedKey: { nodeId: 'n-1', key: 'k-39' } })
      .resolvesOnce({ Items: keys(20, 40) });
    ddb.on(QueryCommand, { TableName: names.convergence }).resolves({ Items: [] });
    ddb.on(BatchWriteCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
  }

  /** The keys each BatchWriteItem call deleted, per call. */
  function deletedPerCall(table: string): string[][] {
    return ddb.commandCalls(BatchWriteCommand).map((call) => {
      const input: BatchWriteCommandInput = call.args[0].input;
      return (input.RequestItems?.[table] ?? []).map((request) => String(request.DeleteRequest?.Key?.key));
    });
  }

  beforeEach(() => {
    ddb.reset();
    cloudFormation.reset();
    terminal.questions.length = 0;
    process.stdin.isTTY = false;
  });

  afterEach(() => {
    process.stdin.isTTY = isTTY;
  });

  it("deletes the node's Replica items in calls of at most 25, then resets its cursor and plan as a new node's, keeping rate and status", async () => {
    // Prepare
    tables();

    // Act
    const { code, stdout, stderr } = await microbatch('--state-file', stateFile, 'nodes', 'reset', 'n-1', '--yes');

    // Assess
    expect(code, stderr).toBe(0);
    const calls = deletedPerCall(LOCAL_RESOURCES.replicaTable);
    // Page one's 40 keys in calls of 25 and 15, page two's 20 in one.
    expect(calls.map((call) => call.length).sort((a, b) => b - a)).toEqual([25, 20, 15]);
    expect(calls.flat().sort()).toEqual(keys(60).map(({ key }) => key).sort());
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, { TableName: LOCAL_RESOURCES.replicaTable, ProjectionExpression: '#nodeId, #key', ConsistentRead: true });
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: LOCAL_RESOURCES.nodesTable,
      Key: { nodeId: 'n-1' },
      UpdateExpression: 'SET #appliedSeq = :appliedSeq, #appliedChain = :appliedChain, #plannedSeq = :plannedSeq REMOVE #appliedAt, #lastProducedAt, #plannedAt, #progressSeq, #progressInterval, #plannedInterval',
      ConditionExpression: 'attribute_exists(#nodeId)',
      ExpressionAttributeValues: { ':appliedSeq': 0, ':appliedChain': GENESIS_CHAIN, ':plannedSeq': 0 },
    });
    expect(stdout).toBe('reset n-1: deleted 60 Replica items; cursor 120 → 0 (genesis chain), no plan\nthe planner plans it from seq 1 at the next tick\n');
  });

  it('leaves a paused node paused, saying how to replay the log into it', async () => {
    // Prepare
    tables();
    ddb.on(GetCommand, { TableName: LOCAL_RESOURCES.nodesTable, Key: { nodeId: 'n-1' } }).resolves({ Item: { ...CONVERGED, status: 'paused' } });

    // Act
    const { code, stdout, stderr } = await microbatch('--state-file', stateFile, 'nodes', 'reset', 'n-1', '--yes');

    // Assess
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('n-1 stays paused: `nodes resume n-1` to replay the log into it from seq 1');
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input.UpdateExpression).not.toContain('#status');
  });

  it('sends the deletes DynamoDB left unprocessed again until none are left', async () => {
    // Prepare: the first call leaves two of its deletes unprocessed.
    tables();
    ddb
      .on(BatchWriteCommand)
      .resolvesOnce({ UnprocessedItems: { [LOCAL_RESOURCES.replicaTable]: keys(2).map((Key) => ({ DeleteRequest: { Key } })) } })
      .resolves({});

    // Act
    const { code, stdout, stderr } = await microbatch('--state-file', stateFile, '--json', 'nodes', 'reset', 'n-1', '--yes');

    // Assess
    expect(code, stderr).toBe(0);
    const reset = JSON.parse(stdout) as NodeReset;
    expect(reset).toEqual({ nodeId: 'n-1', status: 'active', previousAppliedSeq: 120, replicaItemsDeleted: 60, batchWriteCalls: 4, deletesRetried: 2 });
    expect(deletedPerCall(LOCAL_RESOURCES.replicaTable).at(-1)).toEqual(['k-0', 'k-1']);
  });

  it('gives up on deletes that stay unprocessed, naming how many, and leaves the cursor where it was', async () => {
    // Prepare
    tables();
    ddb.on(BatchWriteCommand).resolves({ UnprocessedItems: { [LOCAL_RESOURCES.replicaTable]: keys(1).map((Key) => ({ DeleteRequest: { Key } })) } });
    const deployment = localDeployment(stateFile);
    const node = { ...CONVERGED };

    // Act
    const failure = await resetNode(deployment, node, { maxAttempts: 3, sleep: () => Promise.resolve(), concurrency: 1 }).catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(ReplicaDeleteError);
    expect(failure).toMatchObject({ nodeId: 'n-1', remaining: 1, message: '1 Replica item of n-1 still undeleted after 3 BatchWriteItem calls; its cursor was not moved: run `nodes reset` again' });
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
  });

  it('refuses without --yes when it cannot ask, exits 2 and changes nothing', async () => {
    // Prepare
    tables();

    // Act
    const { code, stdout, stderr } = await microbatch('--state-file', stateFile, 'nodes', 'reset', 'n-1');

    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('resetting n-1 deletes all its Replica items: add --yes to reset it without a question; nothing was changed');
    expect(ddb).not.toHaveReceivedCommand(BatchWriteCommand);
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
  });

  it('asks on a terminal, naming the cursor it sets back, and changes nothing when told no', async () => {
    // Prepare
    tables();
    process.stdin.isTTY = true;
    terminal.answer = 'n';

    // Act
    const { code, stdout, stderr } = await microbatch('--state-file', stateFile, 'nodes', 'reset', 'n-1');

    // Assess
    expect(code, stderr).toBe(0);
    expect(terminal.questions).toEqual(['reset n-1: delete all its Replica items and replay the log into it from seq 1 (its cursor 120 goes back to 0)?\n[y/N] ']);
    expect(stdout).toBe('nothing reset\n');
    expect(ddb).not.toHaveReceivedCommand(BatchWriteCommand);
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
  });

  it.each([
    [['ghost', '--yes'], 'no node ghost: add it with `nodes add ghost --rate R`'],
    [['bad id', '--yes'], 'node id "bad id": must be 1–64'],
  ])('exits 2 for %j, changing nothing', async (args, message) => {
    // Prepare
    tables();

    // Act
    const { code, stderr } = await microbatch('--state-file', stateFile, 'nodes', 'reset', ...args);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(ddb).not.toHaveReceivedCommand(BatchWriteCommand);
  });

  it("resets a node of a deployed stack in the stack's own tables, with the operator's credentials", async () => {
    // Prepare
    cloudFormation.on(DescribeStacksCommand, { StackName: 'Sync' }).resolves(stackWith(STACK_OUTPUTS));
    tables({ nodes: 'Stack-Nodes-1', replica: 'Stack-Replica-1', convergence: 'Stack-Convergence-1' });

    // Act
    const { code, stderr } = await microbatch('--stack', 'Sync', '--region', 'eu-west-1', 'nodes', 'reset', 'n-1', '--yes');

    // Assess
    expect(code, stderr).toBe(0);
    expect(deletedPerCall('Stack-Replica-1').flat()).toHaveLength(60);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, { TableName: 'Stack-Nodes-1', Key: { nodeId: 'n-1' } });
  });
});
