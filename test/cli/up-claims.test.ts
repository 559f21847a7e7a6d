/** The files one `microbatch up` holds: who holds one, claiming it exclusively, giving it back. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { processRunning } from '#cli/deployment.ts';
import { claimFile, FileHeldError, releaseFile, type HeldFile } from '#cli/up/claims.ts';
import { UsageError } from '#local/errors.ts';

const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid;

describe('processRunning', () => {
  it('knows this process runs and one that has exited does not', () => {
    expect(processRunning(process.pid)).toBe(true);
    expect(processRunning(deadPid())).toBe(false);
  });
});

describe('claimFile and releaseFile', () => {
  let folder: string;
  let file: HeldFile;

  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'up-claims-'));
    const path = join(folder, 'sub', 'held.json');
    file = { path, label: path, instead: 'state file', refusal: ({ pid }) => `held by ${pid}` };
  });

  afterEach(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it('creates a file no one holds, folder and all, and reports no stale holder', () => {
    // Act
    const stale = claimFile(file, '{"pid": 1}');

    // Assess
    expect(stale).toBeUndefined();
    expect(readFileSync(file.path, 'utf8')).toBe('{"pid": 1}');
  });

  it('refuses a file a running process holds, with the refusal naming it, and leaves the file as it was', () => {
    // Prepare
    claimFile(file, JSON.stringify({ pid: process.ppid }));

    // Act
    const claim = (): unknown => claimFile(file, JSON.stringify({ pid: process.pid }));

    // Assess
    expect(claim).toThrow(FileHeldError);
    expect(claim).toThrow(`held by ${process.ppid}`);
    expect(JSON.parse(readFileSync(file.path, 'utf8'))).toEqual({ pid: process.ppid });
  });

  it('replaces a file whose holder has exited, and reports that holder', () => {
    // Prepare
    const gone = deadPid();
    claimFile(file, JSON.stringify({ pid: gone, startedAt: '2026-01-01T00:00:00.000Z' }));

    // Act
    const stale = claimFile(file, JSON.stringify({ pid: process.pid }));

    // Assess
    expect(stale).toEqual({ pid: gone, startedAt: '2026-01-01T00:00:00.000Z' });
    expect(JSON.parse(readFileSync(file.path, 'utf8'))).toEqual({ pid: process.pid });
  });

  it('refuses a file that names no pid, as a bad input, and leaves it alone', () => {
    // Prepare
    claimFile(file, 'not json');

    // Act
    const claim = (): unknown => claimFile(file, JSON.stringify({ pid: process.pid }));

    // Assess
    expect(claim).toThrow(new UsageError(`${file.path} exists and is not a file microbatch up wrote (it names no pid): remove it, or give up another state file`));
    expect(readFileSync(file.path, 'utf8')).toBe('not json');
  });

  it('gives back a file this process holds and leaves one another process holds, or one rewritten by hand', () => {
    // Prepare
    const other = join(folder, 'other.json');
    const byHand = join(folder, 'by-hand.json');
    claimFile(file, JSON.stringify({ pid: process.pid }));
    writeFileSync(other, JSON.stringify({ pid: process.ppid }));
    writeFileSync(byHand, 'notes');

    // Act
    for (const path of [file.path, other, byHand, join(folder, 'missing.json')]) releaseFile(path);

    // Assess
    expect(existsSync(file.path)).toBe(false);
    expect(existsSync(other)).toBe(true);
    expect(existsSync(byHand)).toBe(true);
  });
});
