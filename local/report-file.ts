/**
 * Writes a run's report files: `report.html` for a person and `summary.json` for machines.
 * The I/O half of the report; `renderReport` stays pure.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderReport } from './report/index.ts';
import type { RunSummary } from './summary.ts';

/** Where `writeReport` put the two files. */
export interface ReportFiles {
  readonly html: string;
  readonly summary: string;
}

/** Writes `report.html` and pretty-printed `summary.json` into `dir`, creating it if needed. */
export async function writeReport(dir: string, summary: RunSummary): Promise<ReportFiles> {
  await mkdir(dir, { recursive: true });
  const files: ReportFiles = { html: join(dir, 'report.html'), summary: join(dir, 'summary.json') };
  await Promise.all([
    writeFile(files.html, renderReport(summary), 'utf8'),
    writeFile(files.summary, `${JSON.stringify(summary, null, 2)}\n`, 'utf8'),
  ]);
  return files;
}
