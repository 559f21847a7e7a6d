/**
 * `microbatch ingest` against a local deployment on the emulators: the real ingest handler in
 * process, the file cut into keyed requests, and a re-run after a failure that appends nothing twice.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { NewUpdate } from '#shared/domain/types.ts';
import { appendUpdates, type AppendResult } from '#shared/usecases/append-updates.ts';
import { localDeployment } from '#cli/deployment.ts';
import { functionInvoker } from '#cli/functions.ts';
import { contentKey, ingestRequests, parseUpdateLines, planRequests, type IngestDryRun, type IngestSummary } from '#cli/ingest.ts';
import { FaultPlan, InjectedCrash } from '#test/support/in-memory.ts';
import { localDeploymentFixture, type LocalDeploymentFixture } from './microbatch-local.ts';
import { microbatch } from '#test/support/microbatch-cli.ts';
import { emulatorClients } from './support.ts';

const clients = emulatorClients();
const fixtures: LocalDeploymentFixture[] = [];
let local: LocalDeploymentFixture;

function updatesOf(count: number, prefix: string): NewUpdate[] {
  return Array.from({ length: count }, (_, index): NewUpdate => (index % 7 === 6 ? { key: `${prefix}/${index - 1}`, op: 'delete' } : { key: `${prefix}/${index}`, op: 'put', value: { n: index } }));
}

async function jsonLinesFile(name: string, lines: readonly string[]): Promise<string> {
  const file = join(local.folder, name);
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

/** What the log holds from seq 1 to its head, as producers sent it. */
async function logged(): Promise<NewUpdate[]> {
  const { head } = await local.log.readHead('main');
  return (await local.log.readRange('main', 0, head)).map(({ key, op, value }) => ({ key, op, ...(value === undefined ? {} : { value }) }));
}

beforeEach(async () => {
  local = await localDeploymentFixture(clients, 'cli-ingest');
  fixtures.push(local);
});

afterAll(async () => {
  await Promise.all(fixtures.map((fixture) => fixture.remove()));
  clients.destroy();
});

describe('microbatch ingest on a local deployment', () => {
  it('appends every line of the file once, in order, and says where they landed', async () => {
    // Prepare
    const updates = updatesOf(250, 'small');
    const file = await jsonLinesFile('small.jsonl', updates.map((update) => JSON.stringify(update)));

    // Act
    const { code, stdout, stderr } = await microbatch(...['--state-file', local.stateFile, '--json', 'ingest', file]);

    // Assess
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ updates: 250, appended: 250, chunks: 1, replayedChunks: 0, resumedChunks: 0, head: 250, seqRanges: [{ firstSeq: 1, lastSeq: 250 }] });
    expect(await logged()).toEqual(updates);
  });

  it('says one update in one chunk in the singular', async () => {
    // Prepare
    const file = await jsonLinesFile('one.jsonl', ['{"key":"a","op":"put","value":1}']);

    // Act
    const { code, stdout, stderr } = await microbatch(...['--state-file', local.stateFile, 'ingest', file]);

    // Assess
    expect(code, stderr).toBe(0);
    expect(stdout).toContain(`${file}: 1 update in 1 chunk\n`);
  });

  it('cuts 2,500 lines into three requests, and a second run of the same file appends nothing', async () => {
    // Prepare
    const updates = updatesOf(2500, 'large');
    const file = await jsonLinesFile('large.jsonl', updates.map((update) => JSON.stringify(update)));
    const first = await microbatch(...['--state-file', local.stateFile, '--json', 'ingest', file]);

    // Act
    const again = await microbatch(...['--state-file', local.stateFile, 'ingest', file]);

    // Assess
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ updates: 2500, appended: 2500, chunks: 3, head: 2500 });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('appended 0 (an earlier run had appended the other 2500)');
    expect(again.stdout).toContain('replayed chunks 3, resumed chunks 0');
    expect(await logged()).toEqual(updates);
  });

  it('resumes after a run that failed midway: the log holds each update of the file exactly once', async () => {
    // Prepare: a run commits chunk 0, and chunk 1 commits its first transaction and then dies.
    const updates = updatesOf(2100, 'resume');
    const text = `${updates.map((update) => JSON.stringify(update)).join('\n')}\n`;
    const file = await jsonLinesFile('resume.jsonl', updates.map((update) => JSON.stringify(update)));
    const requests = planRequests(parseUpdateLines(text, file), contentKey(text));
    const deployment = localDeployment(local.stateFile);
    const invoke = functionInvoker(deployment);
    const crashing = new FaultPlan().crash('log.append', 2, 'before');
    const failedRun = ingestRequests(requests, {
      stream: 'main',
      markers: local.log,
      invoke: async (request) => {
        if (request.idempotencyKey?.endsWith('-c1') === true) {
          await appendUpdates(request, { stream: 'main', log: crashing.wrap('log', local.log), now: () => new Date(), sleep: async () => {}, random: Math.random });
        }
        return (await invoke('ingest', request)) as AppendResult;
      },
    });
    await expect(failedRun).rejects.toBeInstanceOf(InjectedCrash);
    const headAfterFailure = (await local.log.readHead('main')).head;

    // Act
    const { code, stdout, stderr } = await microbatch(...['--state-file', local.stateFile, '--json', 'ingest', file]);

    // Assess
    expect(headAfterFailure).toBe(1000 + 98);
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout) as IngestSummary;
    expect(summary).toMatchObject({ updates: 2100, appended: 2100 - 1098, chunks: 3, replayedChunks: 1, resumedChunks: 1, head: 2100 });
    expect(await logged()).toEqual(updates);
  });

  it.each([
    ['a line that is not JSON', ['{"key":"a","op":"put","value":1}', '{"key":"b","op":'], /line 2: not JSON/],
    ['an unknown op', ['{"key":"a","op":"put","value":1}', '{"key":"b","op":"increment","value":1}'], /line 2: op: /],
    ['a delete with a value', ['{"key":"a","op":"delete","value":1}'], /line 1: value: a delete carries no value/],
    ['a put without a value', ['{"key":"a","op":"put"}', ''], /line 1: value: a put needs a value/],
  ])('refuses %s with its line number, exits 2 and appends nothing', async (_, lines, reason) => {
    // Prepare
    const file = await jsonLinesFile('bad.jsonl', lines);

    // Act
    const { code, stdout, stderr } = await microbatch(...['--state-file', local.stateFile, 'ingest', file]);

    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/nothing was appended/);
    expect(stderr).toMatch(reason);
    expect((await local.log.readHead('main')).head).toBe(0);
  });

  it('with --dry-run checks the file, reports its requests and their keys, and appends nothing', async () => {
    // Prepare: 2,500 lines, as a real run cuts them into three requests.
    const updates = updatesOf(2500, 'dry');
    const file = await jsonLinesFile('dry.jsonl', updates.map((update) => JSON.stringify(update)));

    // Act
    const { code, stdout, stderr } = await microbatch(...['--state-file', local.stateFile, '--json', 'ingest', '--dry-run', file]);
    const headAfterDryRun = (await local.log.readHead('main')).head;
    const real = await microbatch(...['--state-file', local.stateFile, '--json', 'ingest', file]);

    // Assess: the dry run's keys are the ones the real run then sends.
    expect(code, stderr).toBe(0);
    const run = JSON.parse(stdout) as IngestDryRun;
    expect(run).toMatchObject({ dryRun: true, updates: 2500 });
    expect(run.requests.map((request) => request.updates)).toEqual([1000, 1000, 500]);
    expect(headAfterDryRun).toBe(0);
    expect(JSON.parse(real.stdout)).toMatchObject({ appended: 2500, idempotencyKeys: run.requests.map((request) => request.idempotencyKey) });
  });

  it('with --dry-run moves no head, and exits 2 naming a bad line', async () => {
    // Prepare
    const good = await jsonLinesFile('good.jsonl', updatesOf(30, 'good').map((update) => JSON.stringify(update)));
    const bad = await jsonLinesFile('bad.jsonl', ['{"key":"a","op":"put","value":1}', '{"key":"a","op":"put","value":1}', '{"key":"","op":"put","value":1}']);

    // Act
    const dry = await microbatch(...['--state-file', local.stateFile, 'ingest', '--dry-run', good]);
    const refused = await microbatch(...['--state-file', local.stateFile, 'ingest', '--dry-run', bad]);

    // Assess
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('would send 1 request of 30 updates to the ingest function: dry run, nothing sent, nothing appended');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/line 3: key: must not be empty/);
    expect((await local.log.readHead('main')).head).toBe(0);
  });

  it('exits 2 for a file that does not exist, naming it', async () => {
    // Act
    const { code, stderr } = await microbatch(...['--state-file', local.stateFile, 'ingest', join(local.folder, 'absent.jsonl')]);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain('no such file: ');
    expect((await local.log.readHead('main')).head).toBe(0);
  });
});
