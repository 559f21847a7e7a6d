/**
 * `microbatch up --faults` in real time (a 1-second interval) on the integration emulators: a poison
 * message put on the queue every tick is failed by the applier, received maxReceiveCount times and
 * dead-lettered, and `dlq list` shows it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetter } from '#cli/dead-letters.ts';
import { startUp, upFaults, type UpIntervalStatus, type UpRun } from '#cli/up/start-up.ts';
import { emulatorClients, type EmulatorClients } from './support.ts';
import { microbatch } from './microbatch-ops-support.ts';

interface DlqList {
  readonly depth: number;
  readonly letters: readonly DeadLetter[];
}

describe('microbatch up --faults poison=1', () => {
  let clients: EmulatorClients;
  let folder: string;
  let stateFile: string;
  let run: UpRun;
  const ticks: UpIntervalStatus[] = [];
  const cli = (...args: string[]): ReturnType<typeof microbatch> => microbatch('--state-file', stateFile, ...args);

  beforeAll(async () => {
    clients = emulatorClients();
    folder = await mkdtemp(join(tmpdir(), 'microbatch-up-faults-'));
    stateFile = join(folder, 'state.json');
    run = await startUp({ endpoints: clients.endpoints, intervalSeconds: 1, batchSize: 5, stateFile, faults: upFaults('poison=1'), onInterval: (tick) => ticks.push(tick) });
  });

  afterAll(async () => {
    await run.stop();
    await rm(folder, { recursive: true, force: true });
    clients.destroy();
  });

  it('dead-letters the poison messages it puts on the queue, and dlq list shows them as malformed', async () => {
    // Prepare: a node whose message group the poison joins.
    expect((await cli('nodes', 'add', 'n-1', '--rate', '5')).code).toBe(0);

    // Act: list the dead-letter queue until something is there (or 20 s pass).
    const deadline = Date.now() + 20_000;
    let listed: DlqList;
    for (;;) {
      const { code, stdout, stderr } = await cli('--json', 'dlq', 'list');
      expect(code, stderr).toBe(0);
      listed = JSON.parse(stdout) as DlqList;
      if (listed.depth > 0 || Date.now() > deadline) break;
      await sleep(250);
    }

    // Assess
    expect(listed.depth).toBeGreaterThan(0);
    expect(listed.letters.some((letter) => letter.parseError !== undefined), JSON.stringify(listed)).toBe(true);
    expect(listed.letters.every((letter) => (letter.receiveCount ?? 0) >= 5)).toBe(true);
    expect(ticks.some((tick) => tick.faults.poison > 0)).toBe(true);
  });
});
