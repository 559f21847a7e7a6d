/**
 * `microbatch nodes …` against the emulators: the Nodes table changes exactly as asked, or not at all;
 * `nodes get` reads one node's plan from its segment's record after a real planner tick.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { appendUpdates } from '#shared/usecases/append-updates.ts';
import { registerNode } from '#shared/usecases/register-node.ts';
import type { NodeListing } from '#cli/nodes/node-admin.ts';
import type { NodeDetail } from '#cli/nodes/node-detail.ts';
import { emulatorClients, type EmulatorClients } from './support.ts';
import { localDeploymentFixture, type LocalDeploymentFixture } from './microbatch-local.ts';
import { localFixture, microbatch, type LocalFixture } from './microbatch-ops-support.ts';

const clients: EmulatorClients = emulatorClients();

afterAll(() => {
  clients.destroy();
});

describe('microbatch nodes', () => {
  let fixture: LocalFixture;
  let nodes: (...args: string[]) => ReturnType<typeof microbatch>;

  beforeAll(async () => {
    fixture = await localFixture(clients, 'cli-nodes');
    nodes = (...args) => microbatch('--state-file', fixture.stateFile, 'nodes', ...args);
  });

  afterAll(async () => {
    await fixture.remove();
  });

  async function items(): Promise<Record<string, unknown>[]> {
    const { Items = [] } = await clients.doc.send(new ScanCommand({ TableName: fixture.resources.tables.nodes, ConsistentRead: true }));
    return Items.sort((a, b) => String(a.nodeId).localeCompare(String(b.nodeId)));
  }

  it('adds, pauses, resumes, re-rates and removes nodes, and lists them with cursor and lag behind the head', async () => {
    // Prepare: a log of 7 updates.
    const log = new DynamoLogStore(clients.doc, fixture.resources.tables.log, { ingestRequestsTable: fixture.resources.tables.ingestRequests });
    await appendUpdates(
      { updates: Array.from({ length: 7 }, (_, index) => ({ key: `k-${index}`, op: 'put', value: index })) },
      { stream: 'main', log, now: () => new Date(), sleep: () => Promise.resolve(), random: () => 0 },
    );

    // Act
    const added = [await nodes('add', 'n-1', '--rate', '5'), await nodes('add', 'tenant:2', '--rate', '0.5', '--paused'), await nodes('add', 'n-3', '--rate', '1')];
    const paused = await nodes('pause', 'n-1');
    const resumed = await nodes('resume', 'tenant:2');
    const rerated = await nodes('set-rate', 'n-1', '12.5');
    const removed = await nodes('remove', 'n-3');
    const listed = await microbatch('--state-file', fixture.stateFile, '--json', 'nodes', 'list');
    const table = await nodes('list');

    // Assess
    for (const outcome of [...added, paused, resumed, rerated, removed, listed, table]) expect(outcome.code, outcome.stderr).toBe(0);
    expect(added[0]?.stdout).toBe('added n-1: rate 5/s, active\n');
    expect(removed.stdout).toContain('Replica items stay');
    const listing = JSON.parse(listed.stdout) as NodeListing;
    expect(listing).toMatchObject({ stream: 'main', head: 7, rejected: [] });
    expect(listing.nodes).toEqual([
      { nodeId: 'n-1', status: 'paused', rate: 12.5, appliedSeq: 0, lag: 7, plannedSeq: 0 },
      { nodeId: 'tenant:2', status: 'active', rate: 0.5, appliedSeq: 0, lag: 7, plannedSeq: 0 },
    ]);
    expect(table.stdout).toMatch(/│ n-1\s+│ paused │ 12\.5\s+│ 0\s+│ 7\s+│ 0\s+│ never\s+│/);
    expect((await items()).map((item) => item.nodeId)).toEqual(['n-1', 'tenant:2']);
  });

  it.each([
    [['add', 'tenant 4', '--rate', '5'], /node id "tenant 4": must be 1–64 letters, digits or ASCII punctuation/],
    [['add', 'n-5', '--rate', '0'], /--rate.*must be a positive number/],
    [['add', 'n-5', '--rate', 'fast'], /--rate.*must be a positive number/],
    [['add', 'n-5'], /required option '--rate/],
    [['add', 'n-1', '--rate', '3'], /node n-1 exists/],
    [['pause', 'ghost'], /no node ghost/],
    [['resume', 'a'.repeat(65)], /node id .* must be 1–64/],
    [['set-rate', 'n-1', '-2'], /must be a positive number/],
    [['set-rate', 'ghost', '2'], /no node ghost/],
    [['remove', 'ghost'], /no node ghost/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ])('exits 2 with a clear message and changes nothing for %j', async (args, message) => {
    // Prepare
    const before = await items();

    // Act
    const { code, stdout, stderr } = await nodes(...args);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stdout).toBe('');
    expect(await items()).toEqual(before);
  });

  it('says how to start a local system when there is none', async () => {
    // Act
    const { code, stderr } = await microbatch('--state-file', '/nonexistent/state.json', 'nodes', 'list');

    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain('npx microbatch up');
  });
});

describe('microbatch nodes get', () => {
  let local: LocalDeploymentFixture;

  beforeAll(async () => {
    // Prepare: t = 10 s; n-1 (2/s, share 20) planned and applied through the 7 updates of a first
    // tick, then 95 more appended: its cursor and its segment's plan record say 7, the head 102.
    local = await localDeploymentFixture(clients, 'cli-nodes-get');
    await registerNode({ nodeId: 'n-1', rate: 2 }, { nodes: local.nodes });
    const append = (count: number, from: number) =>
      appendUpdates(
        { updates: Array.from({ length: count }, (_, index) => ({ key: `k-${from + index}`, op: 'put', value: index })) },
        { stream: 'main', log: local.log, now: () => new Date(), sleep: () => Promise.resolve(), random: () => 0 },
      );
    await append(7, 0);
    await local.converge();
    await append(95, 7);
  });

  afterAll(async () => {
    await local.remove();
  });

  it("shows the node's cursor, the plan its segment's record holds, its lag and the catch-up at the deployment's t", async () => {
    // Act
    const listed = await microbatch('--state-file', local.stateFile, '--json', 'nodes', 'list');
    const got = await microbatch('--state-file', local.stateFile, '--json', 'nodes', 'get', 'n-1');
    const text = await microbatch('--state-file', local.stateFile, 'nodes', 'get', 'n-1', '--ingest-rate', '1.5');

    // Assess: the item's own plannedSeq is not what the planner wrote; the record's is, as `nodes list` shows.
    expect(got.code, got.stderr).toBe(0);
    expect((await local.nodes.get('n-1'))?.plannedSeq).toBe(0);
    const detail = JSON.parse(got.stdout) as NodeDetail;
    expect(detail).toMatchObject({ stream: 'main', head: 102, nodeId: 'n-1', status: 'active', rate: 2, appliedSeq: 7, plannedSeq: 7, lag: 95, intervalSeconds: 10, sharePerInterval: 20 });
    expect(detail.catchUp).toEqual({ ingestRate: null, ingestPerInterval: null, intervals: 5, seconds: 50 });
    expect((JSON.parse(listed.stdout) as NodeListing).nodes).toEqual([expect.objectContaining({ nodeId: 'n-1', appliedSeq: 7, plannedSeq: 7, lag: 95 })]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('cursor (appliedSeq) 7, planned (plannedSeq) 7, head 102: lag 95 updates');
    expect(text.stdout).toContain('catch-up: ≈ 19 intervals (190 s): it gains 20 − 15 = 5 a interval under 1.5/s of ingest');
  });

  it('says never while ingest continues when the share does not exceed the ingest per interval', async () => {
    // Act: 2/s of ingest is 20 a interval, n-1's whole share.
    const { code, stdout, stderr } = await microbatch('--state-file', local.stateFile, 'nodes', 'get', 'n-1', '--ingest-rate', '2');

    // Assess
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('catch-up: never while ingest continues: its share of 20 does not exceed the 20 ingested per interval (2/s)');
  });

  it('exits 2 for a node that does not exist, naming it', async () => {
    // Act
    const { code, stdout, stderr } = await microbatch('--state-file', local.stateFile, 'nodes', 'get', 'ghost');

    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe('error: no node ghost: `nodes list` shows the registered nodes\n');
  });
});
