/** `microbatch up`'s pure parts: its settings, its clock and what its data directory remembers. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KEPT_DATA_DIR, reachLine, resumedNote, statusLine, upDataDir } from '#cli/commands/up.ts';
import { nextTick, readUpData, upFaults, upSettings, type UpIntervalStatus } from '#cli/up/start-up.ts';
import { NO_FAULTS } from '#local/faults.ts';
import { UsageError } from '#local/errors.ts';

describe('upSettings', () => {
  it('takes t = 10 s and b = 100 by default and the other settings from the shared defaults', () => {
    expect(upSettings({})).toMatchObject({ intervalSeconds: 10, batchSize: 100, stream: 'main', maxInFlightIntervals: 2, staleAfterIntervals: 3, openIntervals: 60 });
  });

  it('allows any whole number of seconds locally, under the 60-second minimum of the cloud', () => {
    expect(upSettings({ intervalSeconds: 1, batchSize: 5 })).toMatchObject({ intervalSeconds: 1, batchSize: 5 });
  });

  it.each([
    [{ intervalSeconds: 0 }, '--interval: must be between 1 and 86400 (got 0)'],
    [{ batchSize: 0 }, '--batch-size: must be between 1 and 10000 (got 0)'],
  ])('names the option of a bad value %j', (options, message) => {
    expect(() => upSettings(options)).toThrow(new UsageError(message));
  });
});

describe('nextTick', () => {
  it('fires on the next multiple of t, as Scheduler rate(t) does, never at the present instant', () => {
    expect(nextTick(Date.parse('2026-11-30T07:00:03.250Z'), 5).toISOString()).toBe('2026-11-30T07:00:05.000Z');
    expect(nextTick(Date.parse('2026-11-30T07:00:05.000Z'), 5).toISOString()).toBe('2026-11-30T07:00:10.000Z');
    expect(nextTick(Date.parse('2026-11-30T07:00:59.999Z'), 60).toISOString()).toBe('2026-11-30T07:01:00.000Z');
  });
});

describe('readUpData and the resumed note', () => {
  it('reads nothing from a new data directory, the record an earlier run wrote, and refuses a file that is not one', () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'up-data-'));
    const fresh = readUpData(dir);
    writeFileSync(join(dir, 'up.json'), JSON.stringify({ version: 1, base: 'msync-up-abc', settings: { intervalSeconds: 2, batchSize: 5 } }));
    const written = readUpData(dir);
    writeFileSync(join(dir, 'up.json'), '{"version": 7}');

    // Act + Assess
    expect(fresh).toBeUndefined();
    expect(written).toEqual({ version: 1, base: 'msync-up-abc', settings: { intervalSeconds: 2, batchSize: 5 } });
    expect(() => readUpData(dir)).toThrow(UsageError);
    expect(() => readUpData(dir)).toThrow(/--data-dir .*up\.json is unreadable \(not a record of microbatch up\); remove the directory to start afresh/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('says what a restart under new settings changes', () => {
    expect(resumedNote({ intervalSeconds: 2, batchSize: 5 }, { intervalSeconds: 8, batchSize: 10 })).toBe(
      '  resumed the tables of the last run (queues start empty: what was queued is re-sent); t 2 → 8 s (the interval clock starts a new epoch at the next tick), b 5 → 10',
    );
    expect(resumedNote({ intervalSeconds: 2, batchSize: 5 }, { intervalSeconds: 2, batchSize: 5 })).toBe('  resumed the tables of the last run (queues start empty: what was queued is re-sent)');
  });
});

describe('upDataDir', () => {
  it('keeps the tables in out/up-data for --keep, in the named directory for --data-dir, nowhere without either', () => {
    expect(upDataDir({ keep: true })).toBe(KEPT_DATA_DIR);
    expect(KEPT_DATA_DIR).toBe('out/up-data');
    expect(upDataDir({ dataDir: '/tmp/tables' })).toBe('/tmp/tables');
    expect(upDataDir({})).toBeUndefined();
  });

  it('refuses --keep beside --data-dir, as the two name different directories', () => {
    expect(() => upDataDir({ keep: true, dataDir: '/tmp/tables' })).toThrow(new UsageError('--keep is --data-dir out/up-data: give one of --keep and --data-dir /tmp/tables'));
  });
});

describe('reachLine', () => {
  it('tells how the other commands reach up: --local for the default state file, --state-file for another', () => {
    expect(reachLine('out/microbatch-local.json')).toBe(
      '  state file out/microbatch-local.json: in another terminal, `npx microbatch --local nodes add n-1 --rate 5`, `npx microbatch --local status`',
    );
    expect(reachLine('/tmp/up/state.json')).toBe(
      '  state file /tmp/up/state.json: in another terminal, `npx microbatch --state-file /tmp/up/state.json nodes add n-1 --rate 5`, `npx microbatch --state-file /tmp/up/state.json status`',
    );
  });
});

describe('upFaults', () => {
  it('takes the kinds of the fault catalogue that strike in real time, each with its probability', () => {
    expect(upFaults('poison=1,lose=0.1,duplicate=0.2,crash=0.05,reorder,planner-duplicate=0.5')).toEqual({
      ...NO_FAULTS,
      poison: 1,
      lose: 0.1,
      duplicate: 0.2,
      crash: 0.05,
      reorder: 1,
      plannerDuplicate: 0.5,
    });
  });

  it('refuses throttle, which strikes through a proxy up does not run, naming the kinds it injects', () => {
    expect(() => upFaults('poison=1,throttle=0.1')).toThrow(
      new UsageError('--faults: throttle strikes through the fault proxy npm start puts in front of DynamoDB Local, which up does not run (up injects duplicate, crash, poison, planner-duplicate, reorder, lose)'),
    );
  });

  it("refuses an unknown kind with the catalogue's message", () => {
    expect(() => upFaults('nope=1')).toThrow(/^--faults: unknown fault kind "nope" \(known: duplicate, crash, throttle, poison, planner-duplicate, reorder, lose\)$/);
  });
});

describe('statusLine', () => {
  const status: UpIntervalStatus = {
    interval: 7,
    scheduledTime: '2026-11-30T07:00:05.000Z',
    head: 30,
    consistentNodes: 1,
    activeNodes: 2,
    maxLagUpdates: 4,
    microbatchesApplied: 3,
    microbatchesPlanned: 2,
    shardsReported: 1,
    shards: 1,
    latest: { interval: 6, converged: false },
    faults: NO_FAULTS,
  };

  it('says what a tick did, and nothing of faults when none struck', () => {
    expect(statusLine(status)).toBe(
      '2026-11-30T07:00:05.000Z  interval 7  head 30  consistent 1/2  max lag 4  microbatches applied 3 (planned 2, shards 1/1)  interval 6 not converged',
    );
  });

  it('counts the faults that struck since the last tick, by their --faults names', () => {
    expect(statusLine({ ...status, faults: { ...NO_FAULTS, poison: 2, lose: 1 } })).toBe(
      '2026-11-30T07:00:05.000Z  interval 7  head 30  consistent 1/2  max lag 4  microbatches applied 3 (planned 2, shards 1/1)  interval 6 not converged  faults: poison 2, lose 1',
    );
  });
});
