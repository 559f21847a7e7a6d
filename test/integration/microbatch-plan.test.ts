/** `microbatch plan --dry-run` against the emulators: the planner's decisions, nothing sent or claimed. */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { appendUpdates } from '#shared/usecases/append-updates.ts';
import type { DryRun } from '#cli/plan/dry-run.ts';
import type { StatusReport } from '#cli/status/read-status.ts';
import { emulatorClients, type EmulatorClients } from './support.ts';
import { localFixture, microbatch, type LocalFixture } from './microbatch-ops-support.ts';

describe('microbatch plan --dry-run', () => {
  let clients: EmulatorClients;
  let fixture: LocalFixture;

  beforeAll(async () => {
    clients = emulatorClients();
    // t = 60 s, b = 10.
    fixture = await localFixture(clients, 'cli-plan');
  });

  afterAll(async () => {
    await fixture.remove();
    clients.destroy();
  });

  it("shows each active node's q_i, b_i tokens and target at the next tick, each paused node as skipped, and sends and claims nothing", async () => {
    // Prepare: 100 updates; n-fast takes ceil(1 · 60) = 60 of them, n-slow ceil(0.25 · 60) = 15.
    const cli = (...args: string[]): ReturnType<typeof microbatch> => microbatch('--state-file', fixture.stateFile, ...args);
    await cli('nodes', 'add', 'n-fast', '--rate', '1');
    await cli('nodes', 'add', 'n-slow', '--rate', '0.25');
    await cli('nodes', 'add', 'n-off', '--rate', '1', '--paused');
    const log = new DynamoLogStore(clients.doc, fixture.resources.tables.log, { ingestRequestsTable: fixture.resources.tables.ingestRequests });
    await appendUpdates(
      { updates: Array.from({ length: 100 }, (_, index) => ({ key: `k-${index}`, op: 'put', value: index })) },
      { stream: 'main', log, now: () => new Date(), sleep: () => Promise.resolve(), random: () => 0 },
    );
    const nodesBefore = await clients.doc.send(new ScanCommand({ TableName: fixture.resources.tables.nodes, ConsistentRead: true }));

    // Act
    const { code, stdout, stderr } = await cli('--json', 'plan', '--dry-run');
    const human = await cli('plan', '--dry-run');

    // Assess
    expect(code, stderr).toBe(0);
    const run = JSON.parse(stdout) as DryRun;
    expect(run).toMatchObject({ stream: 'main', head: 100, settings: { intervalSeconds: 60, batchSize: 10 }, totals: { nodesPlanned: 2, nodesSkipped: 1, microbatches: 8, updatesPlanned: 75, resends: 0 } });
    expect(run.totals.skipped).toEqual({ paused: 1 });
    expect(run.interval * 60 * 1000).toBe(Date.parse(run.scheduledTime));
    expect(run.nodes).toEqual([
      { nodeId: 'n-fast', rate: 1, appliedSeq: 0, plannedSeq: 0, decision: 'new-work', skipped: false, updates: 60, microbatches: 6, target: 60, resend: false },
      { nodeId: 'n-off', rate: 1, appliedSeq: 0, plannedSeq: 0, decision: 'paused', skipped: true, updates: 0, microbatches: 0, resend: false },
      { nodeId: 'n-slow', rate: 0.25, appliedSeq: 0, plannedSeq: 0, decision: 'new-work', skipped: false, updates: 15, microbatches: 2, target: 15, resend: false },
    ]);
    expect(human.stdout).toMatch(/│ n-fast\s+│ 1\s+│ 0\s+│ 0\s+│ new-work\s+│ 60\s+│ 6\s+│ 60\s+│ no\s+│/);
    expect(human.stdout).toMatch(/│ n-off\s+│ 1\s+│ 0\s+│ 0\s+│ skipped: paused\s+│ 0\s+│ 0\s+│\s+│ no\s+│/);
    expect(human.stdout).toContain('would send 8 microbatches to 2 nodes (75 new updates, 0 resends); skipped 1 node (1 paused); nothing was sent or claimed');
    const nodesAfter = await clients.doc.send(new ScanCommand({ TableName: fixture.resources.tables.nodes, ConsistentRead: true }));
    expect(nodesAfter.Items).toEqual(nodesBefore.Items);
    const status = JSON.parse((await cli('--json', 'status')).stdout) as StatusReport;
    expect(status.convergence).toEqual([]);
    expect(status.queue).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });
});
