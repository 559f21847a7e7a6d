/**
 * `microbatch audit` against a local deployment: nodes that applied the log through the real
 * planner and applier, then Replica items edited, deleted and added by hand with raw DynamoDB calls —
 * which only this audit catches.
 */
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewUpdate } from '#shared/domain/types.ts';
import { registerNode } from '#shared/usecases/register-node.ts';
import type { ReplicaAudit } from '#local/audit.ts';
import { localDeploymentFixture, type LocalDeploymentFixture } from './microbatch-local.ts';
import { microbatch } from '#test/support/microbatch-cli.ts';
import { emulatorClients } from './support.ts';

const clients = emulatorClients();
let local: LocalDeploymentFixture;

function updates(count: number): NewUpdate[] {
  return Array.from({ length: count }, (_, index): NewUpdate => (index % 10 === 9 ? { key: `key-${index - 3}`, op: 'delete' } : { key: `key-${index}`, op: 'put', value: { n: index } }));
}

beforeAll(async () => {
  local = await localDeploymentFixture(clients, 'cli-audit');
  await Promise.all(['n-a', 'n-b'].map((nodeId) => registerNode({ nodeId, rate: 100 }, { nodes: local.nodes })));
  await local.host.invoke('ingest', { updates: updates(120) });
  await local.converge();
});

afterAll(async () => {
  await local.remove();
  clients.destroy();
});

describe('microbatch audit on a local deployment', () => {
  it('exits 0 and reports every node clean when each replica is the replay of the log', async () => {
    // Act
    const { code, stdout, stderr } = await microbatch(...['--state-file', local.stateFile, 'audit']);

    // Assess
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('clean: every replica is the replay of the log up to its cursor (120 log entries read)');
    expect(stdout).toMatch(/n-a\s*│\s*120\s*│\s*108\s*│\s*0\s*│\s*0\s*│\s*0/);
  });

  it('exits 1 and names the key of a value edited by hand, a deleted item and an added one', async () => {
    // Prepare: raw writes to the Replica table, as a person with the console would make them.
    const table = local.resources.tables.replica;
    const edited = (await local.replica.list('n-b')).find((item) => item.key === 'key-4');
    await clients.doc.send(new PutCommand({ TableName: table, Item: { nodeId: 'n-b', key: 'key-4', value: '{"n":999}', seq: edited?.seq, updatedAt: edited?.updatedAt } }));
    await clients.doc.send(new DeleteCommand({ TableName: table, Key: { nodeId: 'n-b', key: 'key-7' } }));
    await clients.doc.send(new PutCommand({ TableName: table, Item: { nodeId: 'n-b', key: 'stray', value: '1', seq: 1, updatedAt: new Date().toISOString() } }));

    // Act
    const human = await microbatch(...['--state-file', local.stateFile, 'audit']);
    const json = await microbatch(...['--state-file', local.stateFile, '--json', 'audit', '--node', 'n-b']);

    // Assess
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('DIFFERENT: 1 mismatched, 1 missing, 1 extra');
    expect(human.stdout).toContain('n-b key-4: replica has value {"n":999}');
    expect(human.stdout).toMatch(/n-b key-4: replica has value \{"n":999\} \(written at seq \d+, [^)]+\); the log replayed to seq 120 has value \{"n":4\} \(written at seq \d+, /);
    expect(human.stdout).toMatch(/n-b key-7: replica has no item; the log replayed to seq 120 has value \{"n":7\} \(written at seq \d+, /);
    expect(human.stdout).toMatch(/n-b stray: replica has value 1 \(written at seq 1, [^)]+\); the log replayed to seq 120 never wrote the key/);
    expect(json.code).toBe(1);
    const audit = JSON.parse(json.stdout) as ReplicaAudit;
    expect(audit.nodes).toEqual([{ nodeId: 'n-b', appliedSeq: 120, itemsCompared: 108, mismatched: 1, missing: 1, extra: 1 }]);
    expect(audit.differences.map(({ key, kind }) => [key, kind])).toEqual([
      ['key-4', 'mismatched'],
      ['stray', 'extra'],
      ['key-7', 'missing'],
    ]);
  });

  it.each([
    [['--node', 'n-zzz'], 'no node n-zzz'],
    [['--node', 'bad id'], 'a node id must be'],
    [['--examples', 'many'], '--examples must be a whole number'],
  ])('exits 2 with a clear message for audit %j', async (args, message) => {
    // Act
    const { code, stdout, stderr } = await microbatch(...['--state-file', local.stateFile, 'audit', ...args]);

    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(message);
  });
});
