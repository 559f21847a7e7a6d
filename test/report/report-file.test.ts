import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderReport } from '#local/report/index.ts';
import { writeReport } from '#local/report-file.ts';
import { syntheticSummary } from './fixture.ts';

describe('writeReport', () => {
  let workDir: string;

  beforeEach(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'report-file-'));
  });

  afterEach(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it('creates the directory and writes report.html and a pretty summary.json into it', async () => {
    // Prepare
    const summary = syntheticSummary();
    const dir = join(workDir, 'nested', 'out');

    // Act
    const files = await writeReport(dir, summary);

    // Assess
    expect(files).toEqual({ html: join(dir, 'report.html'), summary: join(dir, 'summary.json') });
    await expect(readFile(files.html, 'utf8')).resolves.toBe(renderReport(summary));
    const json = await readFile(files.summary, 'utf8');
    expect(JSON.parse(json)).toEqual(summary);
    expect(json).toContain('\n  "converged": true,\n');
    expect(json.endsWith('}\n')).toBe(true);
  });

  it('overwrites the files of an earlier run in the same directory', async () => {
    // Prepare
    await writeReport(workDir, syntheticSummary({ intervals: 3 }));

    // Act
    const files = await writeReport(workDir, syntheticSummary());

    // Assess
    expect(JSON.parse(await readFile(files.summary, 'utf8'))).toMatchObject({ intervalsRun: 10 });
  });
});
