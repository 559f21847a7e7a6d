/** `microbatch nodes …` against the emulators: the Nodes table changes exactly as asked, or not at all. */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { appendUpdates } from '#shared/usecases/append-updates.ts';
import type { NodeListing } from '#cli/nodes/node-admin.ts';
import { emulatorClients, type EmulatorClients } from './support.ts';
import { localFixture, microbatch, type LocalFixture } from './microbatch-ops-support.ts';

describe('microbatch nodes', () => {
  let clients: EmulatorClients;
  let fixture: LocalFixture;
  let nodes: (...args: string[]) => ReturnType<typeof microbatch>;

  beforeAll(async () => {
    clients = emulatorClients();
    fixture = await localFixture(clients, 'cli-nodes');
    nodes = (...args) => microbatch('--state-file', fixture.stateFile, 'nodes', ...args);
  });

  afterAll(async () => {
    await fixture.remove();
    clients.destroy();
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
