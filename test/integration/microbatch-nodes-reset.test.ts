/**
 * `microbatch nodes reset` against a local deployment: two nodes that converged through the real
 * planner and applier, their replicas edited by hand, reset — and rebuilt from the log by the next
 * ticks, each planned from 0 without waiting for a plan of its earlier life.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENESIS_CHAIN } from '#shared/domain/chain.ts';
import type { NewUpdate } from '#shared/domain/types.ts';
import type { NodeReset } from '#cli/nodes/reset.ts';
import { localDeploymentFixture, type LocalDeploymentFixture } from './microbatch-local.ts';
import { microbatch } from '#test/support/microbatch-cli.ts';
import { emulatorClients } from './support.ts';

const clients = emulatorClients();
let local: LocalDeploymentFixture;

const updates: NewUpdate[] = Array.from({ length: 300 }, (_, index): NewUpdate => (index % 10 === 9 ? { key: `key-${index - 3}`, op: 'delete' } : { key: `key-${index % 120}`, op: 'put', value: { n: index } }));

/** Each node's cursor, by id. */
async function cursors(): Promise<Record<string, number>> {
  const ids = ['n-slow', 'n-fast'];
  const entries = await Promise.all(ids.map(async (nodeId): Promise<[string, number]> => [nodeId, (await local.nodes.get(nodeId))?.appliedSeq ?? -1]));
  return Object.fromEntries(entries);
}

beforeAll(async () => {
  // t = 10 s, b = 100: n-slow takes ceil(15 · 10) = 150 updates a tick, n-fast 500.
  local = await localDeploymentFixture(clients, 'cli-reset');
  await local.host.invoke('ingest', { updates });
  await microbatch('--state-file', local.stateFile, 'nodes', 'add', 'n-slow', '--rate', '15');
  await local.tick();
  // Added a tick later, n-fast takes the whole log in its first plan: the planner never sees its cursor move.
  await microbatch('--state-file', local.stateFile, 'nodes', 'add', 'n-fast', '--rate', '50');
  await local.tick();
});

afterAll(async () => {
  await local.remove();
  clients.destroy();
});

describe('microbatch nodes reset on a local deployment', () => {
  it('empties the replicas of two converged nodes, sets their cursors back to 0, and the next two ticks rebuild both to a clean audit', async () => {
    // Prepare: both at the head; then a value edited by hand on n-slow (its seq kept) and a key the log never wrote on n-fast.
    expect(await cursors()).toEqual({ 'n-slow': 300, 'n-fast': 300 });
    const table = local.resources.tables.replica;
    const edited = (await local.replica.list('n-slow')).find((item) => item.key === 'key-4');
    await clients.doc.send(new PutCommand({ TableName: table, Item: { nodeId: 'n-slow', key: 'key-4', value: '{"n":999}', seq: edited?.seq, updatedAt: edited?.updatedAt } }));
    await clients.doc.send(new PutCommand({ TableName: table, Item: { nodeId: 'n-fast', key: 'stray', value: '1', seq: 1, updatedAt: new Date().toISOString() } }));
    const before = await microbatch('--state-file', local.stateFile, 'audit');

    // Act
    // One at a time: each call captures the process's stdout.
    const resets = [
      await microbatch('--state-file', local.stateFile, '--json', 'nodes', 'reset', 'n-slow', '--yes'),
      await microbatch('--state-file', local.stateFile, '--json', 'nodes', 'reset', 'n-fast', '--yes'),
    ];
    const items = await Promise.all(['n-slow', 'n-fast'].map((nodeId) => local.nodes.get(nodeId)));
    const replicas = await Promise.all(['n-slow', 'n-fast'].map((nodeId) => local.replica.list(nodeId)));
    await local.tick();
    const afterOne = await cursors();
    await local.tick();
    const afterTwo = await cursors();
    const after = await microbatch('--state-file', local.stateFile, 'audit');

    // Assess
    expect(before.code).toBe(1);
    for (const reset of resets) expect(reset.code, reset.stderr).toBe(0);
    const [slow, fast] = resets.map((reset) => JSON.parse(reset.stdout) as NodeReset);
    expect(slow).toEqual({ nodeId: 'n-slow', status: 'active', previousAppliedSeq: 300, replicaItemsDeleted: expect.any(Number) as number, batchWriteCalls: expect.any(Number) as number, deletesRetried: 0 });
    expect(slow?.replicaItemsDeleted).toBeGreaterThan(100);
    // n-fast's newest plan record says plannedSeq 300 seen at cursor 0, which the reset cursor cannot tell from its own: it skips one tick.
    expect(fast).toMatchObject({ nodeId: 'n-fast', previousAppliedSeq: 300, skipsInterval: expect.any(Number) as number });
    expect(replicas).toEqual([[], []]);
    expect(items.map((node) => [node?.appliedSeq, node?.appliedChain, node?.plannedSeq, node?.appliedAt, node?.progressSeq])).toEqual([
      [0, GENESIS_CHAIN, 0, undefined, undefined],
      [0, GENESIS_CHAIN, 0, undefined, undefined],
    ]);
    expect(items.map((node) => node?.rate)).toEqual([15, 50]);
    // n-slow planned from 0 at once (its share), n-fast after the one tick it skips.
    expect(afterOne).toEqual({ 'n-slow': 150, 'n-fast': 0 });
    expect(afterTwo).toEqual({ 'n-slow': 300, 'n-fast': 300 });
    expect(after.code, after.stdout).toBe(0);
    expect(after.stdout).toContain('clean: every replica is the replay of the log up to its cursor');
  });
});
