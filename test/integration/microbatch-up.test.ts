/**
 * `microbatch up` in real time (a 1-second interval) on the integration emulators, driven and
 * watched through the other commands as a person would: nodes added, updates ingested, `status`
 * until the checker records convergence.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { appendUpdates } from '#shared/usecases/append-updates.ts';
import type { LocalState } from '#cli/deployment.ts';
import type { DryRun } from '#cli/plan/dry-run.ts';
import type { StatusReport } from '#cli/status/read-status.ts';
import { startUp, type UpIntervalStatus, type UpRun } from '#cli/up/start-up.ts';
import { localDocumentClient } from '#local/emulators.ts';
import { emulatorClients, type EmulatorClients } from './support.ts';
import { microbatch } from './microbatch-ops-support.ts';

describe('microbatch up', () => {
  let clients: EmulatorClients;
  let folder: string;
  let stateFile: string;
  let run: UpRun;
  const ticks: UpIntervalStatus[] = [];
  const errors: unknown[] = [];
  const cli = (...args: string[]): ReturnType<typeof microbatch> => microbatch('--state-file', stateFile, ...args);

  beforeAll(async () => {
    clients = emulatorClients();
    folder = await mkdtemp(join(tmpdir(), 'microbatch-up-'));
    stateFile = join(folder, 'state.json');
    // Three shards whatever the fleet: the cloud's sharded path, planner and checker, in real time.
    run = await startUp({ endpoints: clients.endpoints, intervalSeconds: 1, batchSize: 5, shards: 3, stateFile, onInterval: (tick) => ticks.push(tick), onError: (error) => errors.push(error) });
  });

  afterAll(async () => {
    await run.stop();
    await rm(folder, { recursive: true, force: true });
    clients.destroy();
  });

  /** `status --json` until `done` holds (or 30 s pass). */
  async function statusUntil(done: (report: StatusReport) => boolean): Promise<StatusReport> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { code, stdout, stderr } = await cli('--json', 'status', '--limit', '3');
      expect(code, stderr).toBe(0);
      const report = JSON.parse(stdout) as StatusReport;
      if (done(report) || Date.now() > deadline) return report;
      await sleep(250);
    }
  }

  it('writes the state file --local reads, ticks every interval, and converges the nodes on what was ingested', async () => {
    // Prepare
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as LocalState;
    expect(state).toMatchObject({ version: 1, endpoints: clients.endpoints, settings: { intervalSeconds: 1, batchSize: 5, stream: 'main', shards: 3 } });
    for (const [nodeId, rate] of [['n-1', '20'], ['n-2', '7']] as const) expect((await cli('nodes', 'add', nodeId, '--rate', rate)).code).toBe(0);
    const doc = localDocumentClient(clients.endpoints.dynamodb);
    const log = new DynamoLogStore(doc, state.resources.logTable, { ingestRequestsTable: state.resources.ingestRequestsTable });

    // Act: 30 updates; n-2 takes ceil(7 · 1) = 7 a tick, in microbatches of 5.
    await appendUpdates(
      { updates: Array.from({ length: 30 }, (_, index) => ({ key: `k-${index % 12}`, op: 'put', value: index })), idempotencyKey: 'up-test' },
      { stream: 'main', log, now: () => new Date(), sleep: () => Promise.resolve(), random: () => 0 },
    );
    const report = await statusUntil((status) => status.convergence.some((row) => row.head === 30 && row.converged));
    doc.destroy();

    // Assess
    const converged = report.convergence.find((row) => row.head === 30 && row.converged);
    expect(converged, JSON.stringify(report)).toMatchObject({ consistentNodes: 2, activeNodes: 2, maxLagUpdates: 0, laggards: [] });
    expect(report.alarmsInAlarm).toBeNull();
    expect(report.deadLetterQueue).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    expect(errors).toEqual([]);
    expect(ticks.length).toBeGreaterThan(2);
    expect(ticks.reduce((sum, tick) => sum + tick.microbatchesApplied, 0)).toBeGreaterThanOrEqual(7);
    expect(ticks.every((tick) => tick.shards === 3 && tick.shardsReported === 3)).toBe(true);
    const listed = await cli('--json', 'nodes', 'list');
    expect(JSON.parse(listed.stdout)).toMatchObject({ head: 30, nodes: [{ nodeId: 'n-1', appliedSeq: 30, lag: 0 }, { nodeId: 'n-2', appliedSeq: 30, lag: 0 }] });
    const table = await cli('status');
    expect(table.stdout).toMatch(/│ 30\s+│ 3\/3\s+│ 2\/2\s+│ 0\s+│/);
    expect(table.stdout).toContain('alarms: none locally');
    const plan = JSON.parse((await cli('--json', 'plan', '--dry-run')).stdout) as DryRun;
    expect(plan).toMatchObject({ head: 30, totals: { microbatches: 0, nodesPlanned: 0 } });
  });

  it.each([
    [['up', '--interval', '0'], /--interval: must be between 1 and 86400/],
    [['up', '--interval', 'soon'], /--interval.*must be a whole number/],
    [['up', '--batch-size', '20000'], /--batch-size: must be between 1 and 10000/],
    [['up', '--shards', '2000'], /--shards: must be between 0 and 1000/],
    [['up', '--faults', 'poison=1,throttle=0.1'], /--faults: throttle strikes through the fault proxy npm start puts in front of DynamoDB Local, which up does not run/],
    [['up', '--faults', 'poison=2'], /--faults: the probability of poison must be a number in \[0, 1\]/],
    [['up', '--keep', '--data-dir', 'out/other'], /--keep is --data-dir out\/up-data: give one of --keep and --data-dir out\/other/],
    [['status', '--limit', '0'], /--limit.*must be a whole number ≥ 1/],
    [['status', '--watch', 'often'], /--watch.*must be a whole number ≥ 1/],
    [['plan'], /plan runs only with --dry-run: the schedule plans every interval/],
  ])('exits 2 with a clear message for %j, and starts or sends nothing', async (args, message) => {
    // Prepare
    const before = JSON.parse((await cli('--json', 'status', '--limit', '1')).stdout) as StatusReport;

    // Act
    const { code, stdout, stderr } = await cli(...args);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stdout).toBe('');
    const after = JSON.parse((await cli('--json', 'status', '--limit', '1')).stdout) as StatusReport;
    expect(after.queue).toEqual(before.queue);
  });

  it('stops cleanly: no tick after stop, and the state file is gone', async () => {
    // Act
    await run.stop();
    const ticksAtStop = ticks.length;
    await sleep(1_500);

    // Assess
    expect(existsSync(stateFile)).toBe(false);
    expect(ticks).toHaveLength(ticksAtStop);
    expect((await cli('status')).code).toBe(2);
  });
});
