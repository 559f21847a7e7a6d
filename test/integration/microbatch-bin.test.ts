/**
 * The `microbatch` bin as `npx microbatch` starts it: `cli/bin.js` (package.json `bin`) in a process
 * of its own, on the Node that runs the tests — the project's Node 24, the `node` dev dependency npm
 * puts first on the PATH — loading the TypeScript through tsx. The other command line tests call
 * `main` in process; this one checks what only a real process shows: the exit code, what reaches
 * stdout and stderr, and `up` stopping cleanly on Ctrl-C.
 */
import { execFile, spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'cli', 'bin.js');

interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment of a person's shell: none of the endpoints a test may have set for the handlers. */
function shellEnvironment(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.AWS_ENDPOINT_URL_DYNAMODB;
  delete env.AWS_ENDPOINT_URL_SQS;
  return env;
}

/** `microbatch …args` to its end (SIGTERM after `timeoutMs`: a command that should have been refused stops). */
function microbatchBin(args: readonly string[], timeoutMs = 60_000, env: NodeJS.ProcessEnv = shellEnvironment()): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env, timeout: timeoutMs }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

/** A long-running `microbatch …args` (as `up`), its output kept as it arrives. */
class RunningBin {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>;

  constructor(args: readonly string[]) {
    this.child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: shellEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString('utf8');
    });
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        resolve({ code, signal });
      });
    });
  }

  /** Resolves once `done` holds of the output so far; rejects if the process exits first or the time is up. */
  async until(done: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`exited early (${this.child.exitCode ?? this.child.signalCode})\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms; stdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/**
 * `up --interval 1` on its own emulators, its state file in a new folder, from its first status line
 * (an interval planned: a convergence record to show) through `body`; then stopped if it still runs,
 * and the folder removed.
 */
async function withRunningUp(body: (up: RunningBin, stateFile: string) => Promise<void>): Promise<void> {
  const folder = await mkdtemp(join(tmpdir(), 'microbatch-bin-'));
  const stateFile = join(folder, 'state.json');
  const up = new RunningBin(['--state-file', stateFile, 'up', '--interval', '1']);
  try {
    await up.until(() => / interval \d+ {2}head \d+ /.test(up.stdout), 90_000);
    await body(up, stateFile);
  } finally {
    // A failed assertion must not leave `up` (and its Java) running: SIGTERM stops it as Ctrl-C does.
    if (up.child.exitCode === null && up.child.signalCode === null) up.child.kill('SIGTERM');
    await up.exited;
    await rm(folder, { recursive: true, force: true });
  }
}

describe('the microbatch bin', () => {
  it('prints its usage on stdout and exits 0 with --help', async () => {
    // Act
    const { code, stdout, stderr } = await microbatchBin(['--help']);

    // Assess
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^Usage: microbatch \[options\] \[command\]/);
    expect(stdout).toContain('--state-file <file>');
    expect(stderr).toBe('');
  });

  it.each([
    [['--stak', 'Prod', 'status'], "unknown option '--stak'"],
    [['--local', 'status', '--limit', 'none'], "option '--limit <n>' argument 'none' is invalid. must be a whole number ≥ 1"],
  ])('exits 2 for %j, naming the bad option on stderr and printing nothing on stdout', async (args, message) => {
    // Act
    const { code, stdout, stderr } = await microbatchBin(args);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain(`error: ${message}`);
    expect(stdout).toBe('');
  });

  describe('--stack on a machine without AWS configured', () => {
    let folder: string;
    let bare: NodeJS.ProcessEnv;

    beforeEach(async () => {
      // No AWS_* variable, empty config and credentials files, and no instance metadata to ask (there is no network).
      folder = await mkdtemp(join(tmpdir(), 'microbatch-bin-aws-'));
      await writeFile(join(folder, 'config'), '');
      await writeFile(join(folder, 'credentials'), '');
      bare = Object.fromEntries(Object.entries(shellEnvironment()).filter(([name]) => !name.startsWith('AWS_')));
      Object.assign(bare, { AWS_CONFIG_FILE: join(folder, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(folder, 'credentials'), AWS_EC2_METADATA_DISABLED: 'true' });
    });

    afterEach(async () => {
      await rm(folder, { recursive: true, force: true });
    });

    it('says in one line that no region is set and where one comes from, and exits 3', async () => {
      // Act
      const { code, stdout, stderr } = await microbatchBin(['--stack', 'Sync', 'status'], 60_000, bare);

      // Assess
      expect(code, stderr).toBe(3);
      expect(stderr).toBe(`error: no AWS region for --stack Sync: give --region REGION, or set AWS_REGION, or a region in the profile AWS_PROFILE (else default) of ${join(folder, 'config')}\n`);
      expect(stdout).toBe('');
    });

    it("says in one line that no credentials were found, naming the credential chain's sources, and exits 3", async () => {
      // Act
      const { code, stdout, stderr } = await microbatchBin(['--stack', 'Sync', '--region', 'eu-west-1', 'status'], 60_000, bare);

      // Assess
      expect(code, stderr).toBe(3);
      expect(stderr).toBe(
        "error: no AWS credentials for --stack Sync (Could not load credentials from any providers): the SDK's credential chain looks in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, " +
          `the profile AWS_PROFILE (else default) of ${join(folder, 'credentials')} and ${join(folder, 'config')} (keys, SSO after \`aws sso login\`, credential_process, a role to assume), ` +
          'a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE), the ECS task role and the EC2 instance role\n',
      );
      expect(stdout).toBe('');
    });
  });

  it('shows the convergence table of a running `up` through its --state-file, and `up` exits 0 on Ctrl-C, removing the file', async () => {
    await withRunningUp(async (up, stateFile) => {
      // Prepare
      expect(existsSync(stateFile)).toBe(true);

      // Act
      const status = await microbatchBin(['--state-file', stateFile, 'status']);
      up.child.kill('SIGINT');
      const exit = await up.exited;

      // Assess
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/│ interval\s+│ starts\s+│ head\s+│ shards planned\s+│ consistent\/active\s+│ max lag\s+│ max staleness\s+│ laggards\s+│ converged at\s+│/);
      expect(status.stdout).toContain('alarms: none locally');
      expect(exit, up.stderr).toEqual({ code: 0, signal: null });
      expect(up.stderr).toContain('SIGINT: stopping');
      expect(up.stderr).toContain(`stopped: emulators down, ${stateFile} removed`);
      expect(existsSync(stateFile)).toBe(false);
    });
  });

  it("refuses a second `up` on the state file of a running one with exit 2, naming the first one's pid, and leaves it running", async () => {
    await withRunningUp(async (up, stateFile) => {
      // Act
      const second = await microbatchBin(['--state-file', stateFile, 'up'], 20_000);

      // Assess
      expect(second.code, second.stderr).toBe(2);
      expect(second.stderr).toContain(`error: another microbatch up (pid ${up.child.pid}) is running with the state file ${stateFile}: reach it with \`npx microbatch --state-file ${stateFile} …\``);
      expect(second.stdout).toBe('');
      // Refused before it starts anything.
      expect(second.stderr).not.toContain('starting DynamoDB Local');
      const status = await microbatchBin(['--state-file', stateFile, 'status']);
      expect(status.code, status.stderr).toBe(0);
    });
  });

  it('stops the emulators and removes the state file when its stdout pipe has closed before Ctrl-C (`up | tee`, tee gone first), exiting 0 without a crash', async () => {
    await withRunningUp(async (up, stateFile) => {
      // Prepare: its stdout read by nobody from now on.
      up.child.stdout.destroy();

      // Act: two more ticks write to the closed pipe, then Ctrl-C (if it has not stopped by itself).
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      up.child.kill('SIGINT');
      const exit = await up.exited;

      // Assess
      expect(exit, up.stderr).toEqual({ code: 0, signal: null });
      // The first write to the closed pipe stops it, before the Ctrl-C comes.
      expect(up.stderr).toContain('stdout closed (EPIPE): stopping');
      expect(up.stderr).toContain(`stopped: emulators down, ${stateFile} removed`);
      expect(up.stderr).not.toContain('    at ');
      expect(existsSync(stateFile)).toBe(false);
    });
  });

  it('ends `status --watch` with exit 0 and no stack trace once its stdout pipe has closed (`status --watch | head`)', async () => {
    await withRunningUp(async (_up, stateFile) => {
      // Prepare
      const watch = new RunningBin(['--state-file', stateFile, 'status', '--watch', '1']);
      await watch.until(() => watch.stdout.includes('alarms: none locally'), 30_000);

      // Act: its reader goes, as head does after its lines; the next refresh writes to the closed pipe.
      watch.child.stdout.destroy();
      const exit = await watch.exited;

      // Assess
      expect(exit, watch.stderr).toEqual({ code: 0, signal: null });
      expect(watch.stderr).toBe('');
    });
  });

  it("stops cleanly when Ctrl-C reaches it twice, as under npx (the terminal's signal and the one npm forwards)", async () => {
    await withRunningUp(async (up, stateFile) => {
      // Act
      up.child.kill('SIGINT');
      await new Promise((resolve) => setTimeout(resolve, 100));
      up.child.kill('SIGINT');
      const exit = await up.exited;

      // Assess
      expect(exit, up.stderr).toEqual({ code: 0, signal: null });
      expect(up.stderr).toContain(`stopped: emulators down, ${stateFile} removed`);
      expect(existsSync(stateFile)).toBe(false);
    });
  });
});
