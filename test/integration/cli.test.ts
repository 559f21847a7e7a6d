/**
 * The command line as a person or a script runs it: a child process that starts its own emulators.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunSummary } from '#local/summary.ts';

const ROOT = join(import.meta.dirname, '..', '..');

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `node --import tsx local/cli.ts …` on the Node running the tests, without the test's emulator settings. */
function cli(args: readonly string[]): Promise<Outcome> {
  const env = { ...process.env };
  delete env.AWS_ENDPOINT_URL_DYNAMODB;
  delete env.AWS_ENDPOINT_URL_SQS;
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'local/cli.ts', ...args], { cwd: ROOT, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

describe('the command line', () => {
  it('prints only the run summary on stdout with --json, and exits 0 after a converged run with a clean audit', async () => {
    // Prepare
    const out = await mkdtemp(join(tmpdir(), 'microbatch-cli-'));

    try {
      // Act
      const { code, stdout, stderr } = await cli(['--json', '--nodes', '2', '--ingest-rate', '2', '--quiet-after', '1', '--keys', '20', '--out', out]);

      // Assess
      expect(code, stderr).toBe(0);
      const summary = JSON.parse(stdout) as RunSummary;
      expect(summary).toMatchObject({ converged: true, updatesIngested: 120, audit: { nodesChecked: 2, mismatched: 0, missing: 0, extra: 0 } });
      expect(summary.convergedAtInterval).toBe(summary.theoreticalMinIntervals);
      expect(JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'))).toEqual(summary);
      expect(await readFile(join(out, 'report.html'), 'utf8')).toMatch(/^<!doctype html>/);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it.each([
    [['--nodes', 'zero'], '--nodes'],
    [['--interval-seconds', '1.5'], '--interval-seconds'],
    [['--faults', 'crash=2'], '--faults'],
    [['--faults', 'meteor=0.1'], 'meteor'],
  ])('exits 2 and names the option for %j', async (args, named) => {
    // Act
    const { code, stdout, stderr } = await cli(args);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain(named);
    expect(stdout).toBe('');
  });
});
