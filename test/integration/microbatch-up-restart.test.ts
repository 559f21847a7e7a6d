/**
 * Day two, locally: `microbatch up --data-dir` stopped and started again on the same tables with a
 * new t — 2 s, then 8 s, then 2 s again, as `cdk deploy -c …:intervalSeconds=…` changes a stack —
 * converges again after each restart, and never numbers a tick below one already planned. Each run
 * starts its own emulators on the data directory, as a person's would.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { appendUpdates } from '#shared/usecases/append-updates.ts';
import type { StatusReport } from '#cli/status/read-status.ts';
import { startUp, type UpIntervalStatus, type UpRun } from '#cli/up/start-up.ts';
import { localDocumentClient } from '#local/emulators.ts';
import { microbatch } from './microbatch-ops-support.ts';

describe('microbatch up, restarted on its data directory with another t', () => {
  let folder: string;
  let dataDir: string;
  let stateFile: string;
  let run: UpRun | undefined;
  const ticks: UpIntervalStatus[] = [];
  const errors: unknown[] = [];
  const cli = (...args: string[]): ReturnType<typeof microbatch> => microbatch('--state-file', stateFile, ...args);

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'microbatch-up-restart-'));
    dataDir = join(folder, 'data');
    stateFile = join(folder, 'state.json');
  });

  afterAll(async () => {
    await run?.stop();
    await rm(folder, { recursive: true, force: true });
  });

  async function up(intervalSeconds: number): Promise<UpRun> {
    run = await startUp({ dataDir, intervalSeconds, batchSize: 5, stateFile, onInterval: (tick) => ticks.push(tick), onError: (error) => errors.push(error) });
    return run;
  }

  /** Appends `count` updates through the ingest use case on the run's own tables. */
  async function ingest(current: UpRun, count: number, key: string): Promise<void> {
    const doc = localDocumentClient(current.state.endpoints.dynamodb);
    try {
      const log = new DynamoLogStore(doc, current.state.resources.logTable, { ingestRequestsTable: current.state.resources.ingestRequestsTable });
      await appendUpdates(
        { updates: Array.from({ length: count }, (_, index) => ({ key: `k-${index % 6}`, op: 'put', value: index })), idempotencyKey: key },
        { stream: 'main', log, now: () => new Date(), sleep: () => Promise.resolve(), random: () => 0 },
      );
    } finally {
      doc.destroy();
    }
  }

  /** `status --json` until an interval with this head is judged converged (or `seconds` pass). */
  async function convergedOn(head: number, seconds: number): Promise<StatusReport> {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
      const { code, stdout, stderr } = await cli('--json', 'status', '--limit', '5');
      expect(code, stderr).toBe(0);
      const report = JSON.parse(stdout) as StatusReport;
      if (report.convergence.some((row) => row.head === head && row.converged) || Date.now() > deadline) return report;
      await sleep(250);
    }
  }

  it('converges at t = 2 s, again after a restart at t = 8 s on the same tables, and again back at 2 s, numbering every tick above the last', { timeout: 120_000 }, async () => {
    // Prepare: the first run registers the nodes and converges on 20 updates at t = 2 s.
    const first = await up(2);
    expect(first.resumed).toBeUndefined();
    for (const [nodeId, rate] of [['n-1', '10'], ['n-2', '5']] as const) expect((await cli('nodes', 'add', nodeId, '--rate', rate)).code).toBe(0);
    await ingest(first, 20, 'first');
    const atTwo = await convergedOn(20, 40);
    expect(atTwo.convergence.some((row) => row.head === 20 && row.converged), JSON.stringify(atTwo)).toBe(true);
    await first.stop();
    const beforeRestart = ticks.length;

    // Act: the same tables at t = 8 s; 12 more updates; then back to t = 2 s with 12 more.
    const second = await up(8);
    await ingest(second, 12, 'second');
    const atEight = await convergedOn(32, 60);
    await second.stop();
    const beforeReturn = ticks.length;
    const third = await up(2);
    await ingest(third, 12, 'third');
    const backAtTwo = await convergedOn(44, 40);
    await third.stop();
    run = undefined;

    // Assess: the data survived both restarts, each run converged on the new head.
    expect(second.resumed).toEqual({ intervalSeconds: 2, batchSize: 5 });
    expect(third.resumed).toEqual({ intervalSeconds: 8, batchSize: 5 });
    expect(atEight.convergence.some((row) => row.head === 32 && row.converged), JSON.stringify(atEight)).toBe(true);
    expect(backAtTwo.convergence.some((row) => row.head === 44 && row.converged), JSON.stringify(backAtTwo)).toBe(true);
    expect(errors).toEqual([]);
    // floor(time / 8) would number the ticks at 8 s about a quarter of those at 2 s; the clock numbers on.
    const numbers = ticks.map((tick) => tick.interval);
    const told = ticks.map((tick) => `${tick.scheduledTime} ${tick.interval}`).join(', ');
    expect(numbers.every((number, index) => index === 0 || number > (numbers[index - 1] ?? 0)), told).toBe(true);
    const eight = ticks.slice(beforeRestart, beforeReturn);
    expect(eight.length).toBeGreaterThan(0);
    expect(eight.every((tick, index) => index === 0 || tick.interval === (eight[index - 1]?.interval ?? 0) + 1)).toBe(true);
    expect(ticks.at(-1)?.head).toBe(44);
  });
});
