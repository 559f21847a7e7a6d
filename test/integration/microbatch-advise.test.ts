/**
 * `microbatch advise --state-file FILE` reads the node rates from a local deployment's Nodes table: the
 * tables are created on the emulators and the state file written, as `microbatch up` would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { validateSettings } from '#shared/domain/config.ts';
import { registerNode } from '#shared/usecases/register-node.ts';
import { localState, writeLocalState } from '#cli/deployment.ts';
import { microbatch } from '#test/support/microbatch-cli.ts';
import { createResources } from '#local/resources.ts';
import { emulatorClients, type EmulatorClients } from './support.ts';


describe('microbatch advise --local', () => {
  let clients: EmulatorClients;
  let folder: string;
  let stateFile: string;

  beforeAll(async () => {
    // Prepare: a local deployment's tables and queues, its state file, three active nodes and a paused one.
    clients = emulatorClients();
    folder = mkdtempSync(join(tmpdir(), 'advise-local-'));
    stateFile = join(folder, 'microbatch-local.json');
    const resources = await createResources({ dynamodb: clients.dynamodb, sqs: clients.sqs }, { prefix: 'advise' });
    writeLocalState(localState({ endpoints: clients.endpoints, resources, settings: validateSettings({ stream: 'main', intervalSeconds: 10, batchSize: 100 }, 'local') }), stateFile);
    const nodes = new DynamoNodeRepository(clients.doc, resources.tables.nodes);
    for (const [nodeId, rate] of [['n-1', 2], ['n-2', 5], ['n-3', 10]] as const) await registerNode({ nodeId, rate }, { nodes });
    await registerNode({ nodeId: 'resting', rate: 50, status: 'paused' }, { nodes });
  });

  afterAll(() => {
    clients.destroy();
    rmSync(folder, { recursive: true, force: true });
  });

  it("reads the active nodes' rates from the Nodes table and advises on them", async () => {
    // Act
    const { code, stdout, stderr } = await microbatch('--json', '--state-file', stateFile, 'advise', '--ingest-rate', '4', '--target-lag', '180', '--interval', '60', '--batch-size', '100');

    // Assess: the paused node is left out, as the planner leaves it out; the numbers are the hand-computed case's.
    expect(code, stderr).toBe(0);
    const analysis = JSON.parse(stdout) as {
      input: { nodes: unknown; target: string };
      evaluated: { neverConverging: string[]; requests: { tokens: number }; monthly: { totalUsd: number } };
    };
    expect(analysis.input.nodes).toEqual([
      { nodeId: 'n-1', rate: 2 },
      { nodeId: 'n-2', rate: 5 },
      { nodeId: 'n-3', rate: 10 },
    ]);
    expect(analysis.input.target).toBe('local');
    expect(analysis.evaluated.neverConverging).toEqual(['n-1']);
    expect(analysis.evaluated.requests.tokens).toBe(8);
    expect(analysis.evaluated.monthly.totalUsd).toBeCloseTo(31.505441, 4);
  });

  it('allows t below a minute for a local deployment', async () => {
    // Act
    const { code, stdout, stderr } = await microbatch('--state-file', stateFile, 'advise', '--ingest-rate', '4', '--target-lag', '30', '--interval', '10');

    // Assess
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('As asked: t = 10 s, b = ');
    expect(stdout).toMatch(/Recommended: t = \d+ s/);
  });

  it('says how to start one when the state file is missing: exit 2, nothing read', async () => {
    // Act
    const { code, stdout, stderr } = await microbatch('--state-file', join(folder, 'none.json'), 'advise', '--ingest-rate', '4', '--target-lag', '180');

    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/no local Microbatch Sync at .*none\.json: start one with `npx microbatch up`/);
  });
});
