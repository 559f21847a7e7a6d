/**
 * One `microbatch up` per state file and per data directory: a second one is refused while the
 * first runs, and a file left by an `up` that is gone is taken over with a note. Each run here is
 * `startUp` on the integration emulators; the two runs of a test share this process, so the holder
 * they name is this process's pid.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LocalState } from '#cli/deployment.ts';
import { startUp, type UpOptions, type UpRun } from '#cli/up/start-up.ts';
import { UsageError } from '#local/errors.ts';
import { emulatorClients, type EmulatorClients } from './support.ts';

/** The pid of a process that has exited (its number is not handed out again this soon). */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid;
}

function stateIn(file: string): LocalState {
  return JSON.parse(readFileSync(file, 'utf8')) as LocalState;
}

describe('microbatch up and the files it holds', () => {
  let clients: EmulatorClients;
  let folder: string;
  const runs: Promise<UpRun>[] = [];

  beforeEach(async () => {
    clients = emulatorClients();
    folder = await mkdtemp(join(tmpdir(), 'microbatch-up-claims-'));
  });

  afterEach(async () => {
    // Every run a test started, refused or not, is stopped.
    await Promise.all(runs.splice(0).map((run) => run.then((started) => started.stop(), () => undefined)));
    await rm(folder, { recursive: true, force: true });
    clients.destroy();
  });

  /** `startUp` on the integration emulators, at an interval long enough that no tick runs. */
  function up(options: UpOptions): Promise<UpRun> {
    const run = startUp({ endpoints: clients.endpoints, intervalSeconds: 3600, ...options });
    runs.push(run);
    return run;
  }

  it('refuses a second up on the state file of a running one, naming its pid, the file and the ways out, and leaves the first one its file', async () => {
    // Prepare
    const stateFile = join(folder, 'state.json');
    const first = await up({ stateFile });

    // Act
    const second = up({ stateFile });

    // Assess
    await expect(second).rejects.toThrow(UsageError);
    await expect(second).rejects.toThrow(
      `another microbatch up (pid ${process.pid}) is running with the state file ${stateFile}: reach it with \`npx microbatch --state-file ${stateFile} …\`, ` +
        `stop it (Ctrl-C in its terminal, or kill -INT ${process.pid}), or give this one another state file: \`npx microbatch --state-file OTHER.json up\` ` +
        `(if pid ${process.pid} is no microbatch up — the machine has restarted since — remove ${stateFile})`,
    );
    expect(stateIn(stateFile)).toEqual(first.state);
  });

  it('takes over a state file whose up is gone, saying so', async () => {
    // Prepare
    const stateFile = join(folder, 'state.json');
    const gone = deadPid();
    writeFileSync(stateFile, JSON.stringify({ version: 1, pid: gone, startedAt: '2026-01-01T00:00:00.000Z' }));
    const notes: string[] = [];

    // Act
    const run = await up({ stateFile, onNote: (note) => notes.push(note) });

    // Assess
    expect(notes).toEqual([`${stateFile} was left by a microbatch up (pid ${gone}, started 2026-01-01T00:00:00.000Z) that is no longer running: taking it over`]);
    expect(stateIn(stateFile)).toEqual(run.state);
    expect(run.state.pid).toBe(process.pid);
  });

  it('refuses a file at the state file path that microbatch up did not write, and leaves it alone', async () => {
    // Prepare
    const stateFile = join(folder, 'notes.json');
    writeFileSync(stateFile, '{"mine": true}\n');

    // Act
    const run = up({ stateFile });

    // Assess
    await expect(run).rejects.toThrow(new UsageError(`${stateFile} exists and is not a file microbatch up wrote (it names no pid): remove it, or give up another state file`));
    expect(readFileSync(stateFile, 'utf8')).toBe('{"mine": true}\n');
  });

  it('refuses a second up on the data directory of a running one even with another state file, naming the pid and the state file to reach it by', async () => {
    // Prepare
    const dataDir = join(folder, 'data');
    const firstFile = join(folder, 'first.json');
    await up({ stateFile: firstFile, dataDir });

    // Act
    const second = up({ stateFile: join(folder, 'second.json'), dataDir });

    // Assess
    await expect(second).rejects.toThrow(
      `--data-dir ${dataDir} is in use by another microbatch up (pid ${process.pid}, state file ${firstFile}): DynamoDB Local cannot share its files; ` +
        `reach that one with \`npx microbatch --state-file ${firstFile} …\`, stop it (Ctrl-C in its terminal, or kill -INT ${process.pid}), or give this one another --data-dir ` +
        `(if pid ${process.pid} is no microbatch up, remove ${join(dataDir, 'up.lock')})`,
    );
  });

  it('takes over the data directory of an up that is gone, saying so, and lets the next up have it once stopped', async () => {
    // Prepare
    const dataDir = join(folder, 'data');
    const first = await up({ stateFile: join(folder, 'first.json'), dataDir });
    await first.stop();
    const gone = deadPid();
    writeFileSync(join(dataDir, 'up.lock'), JSON.stringify({ pid: gone, startedAt: '2026-01-01T00:00:00.000Z', stateFile: 'out/old.json' }));
    const notes: string[] = [];

    // Act
    const second = await up({ stateFile: join(folder, 'second.json'), dataDir, onNote: (note) => notes.push(note) });
    await second.stop();
    const third = await up({ stateFile: join(folder, 'third.json'), dataDir, onNote: (note) => notes.push(note) });

    // Assess
    expect(notes).toEqual([`--data-dir ${dataDir} was left by a microbatch up (pid ${gone}, started 2026-01-01T00:00:00.000Z) that is no longer running: taking it over`]);
    expect(second.resumed).toEqual({ intervalSeconds: 3600, batchSize: 100 });
    expect(third.resumed).toEqual({ intervalSeconds: 3600, batchSize: 100 });
  });

  it('stops without removing a state file another up has written over its own', async () => {
    // Prepare
    const stateFile = join(folder, 'state.json');
    const run = await up({ stateFile });
    const other = { ...run.state, pid: process.ppid };
    writeFileSync(stateFile, JSON.stringify(other));

    // Act
    await run.stop();

    // Assess
    expect(stateIn(stateFile)).toEqual(other);
  });
});
