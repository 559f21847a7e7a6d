/**
 * The Lambda bundles against a bundle of the bare SDK clients (DynamoDBClient, its document client
 * and SQSClient, nothing else), built with the options infra/constructs/service-function.ts gives
 * esbuild (ESM, minified, node24, module-first main fields), measured in one run:
 *
 *   - size: bytes of each minified bundle, and its ratio to the bare one (budget: ≤ 1.25×);
 *   - init: the median time to import the bundle in a fresh Node process — what a cold start pays
 *     before the handler runs — and its ratio to the bare one (budget: ≤ 1.25×).
 *
 *   npm run bench:bundles [-- --runs 15 --json]
 */
import { Command, InvalidArgumentError } from 'commander';
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RESOURCE_ENV, SETTINGS_ENV } from '#shared/config.ts';

const FUNCTIONS = ['planner', 'applier', 'checker', 'ingest'] as const;
const BUDGET = 1.25;

/** What every function bundle imports of the SDK, and nothing more. */
const BARE_SDK = `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
export const clients = [DynamoDBDocumentClient.from(new DynamoDBClient({})), new SQSClient({})];
`;

/** The environment a deployed function gets: the handlers read it at import. */
const ENV: Record<string, string> = {
  ...Object.fromEntries(Object.values(RESOURCE_ENV).map((name) => [name, `bench-${name.toLowerCase()}`])),
  [SETTINGS_ENV.intervalSeconds]: '60',
  [SETTINGS_ENV.batchSize]: '100',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  POWERTOOLS_METRICS_DISABLED: 'true',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};

/** Bundles a handler file, or source text resolved from the project (the bare SDK entry). */
async function bundle(entry: { readonly file: string } | { readonly source: string }, outfile: string): Promise<number> {
  const result = await build({
    ...('file' in entry ? { entryPoints: [entry.file] } : { stdin: { contents: entry.source, resolveDir: process.cwd(), loader: 'ts' } }),
    outfile,
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    mainFields: ['module', 'main'],
    metafile: true,
    logLevel: 'warning',
  });
  return Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
}

/** Median milliseconds to import `file` in a fresh process (the module graph's load and evaluation). */
function importTime(file: string, runs: number): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(file)}); process.stdout.write(String(performance.now() - t));`;
  const times = Array.from({ length: runs }, () =>
    Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...ENV }, encoding: 'utf8' })),
  ).sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? Number.NaN;
}

export async function measure(runs: number): Promise<{ name: string; bytes: number; initMs: number; sizeRatio: number; initRatio: number }[]> {
  const dir = mkdtempSync(join(tmpdir(), 'msync-bundles-'));
  try {
    const bare = { name: 'bare SDK clients', bytes: await bundle({ source: BARE_SDK }, join(dir, 'bare.mjs')), file: join(dir, 'bare.mjs') };
    const bundles = [bare];
    for (const name of FUNCTIONS) {
      const file = join(dir, `${name}.mjs`);
      bundles.push({ name, bytes: await bundle({ file: resolve(`functions/${name}/handler.ts`) }, file), file });
    }
    // Interleaved, so that a slower moment of the machine does not fall on one bundle only.
    const times = new Map<string, number[]>(bundles.map((entry) => [entry.name, []]));
    for (let round = 0; round < runs; round += 1) for (const entry of bundles) times.get(entry.name)?.push(importTime(entry.file, 1));
    const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
    const bareMs = median(times.get(bare.name) ?? []);
    return bundles.map((entry) => {
      const initMs = median(times.get(entry.name) ?? []);
      return { name: entry.name, bytes: entry.bytes, initMs: Number(initMs.toFixed(1)), sizeRatio: Number((entry.bytes / bare.bytes).toFixed(3)), initRatio: Number((initMs / bareMs).toFixed(3)) };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const program = new Command('npm run bench:bundles --')
    .option(
      '--runs <n>',
      'fresh processes per bundle for the import time',
      (text) => {
        const value = Number(text);
        if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError('--runs must be a whole number ≥ 1');
        return value;
      },
      15,
    )
    .option('--json', 'print JSON')
    .parse();
  const options = program.opts<{ runs: number; json?: boolean }>();
  const rows = await measure(options.runs);
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  process.stdout.write(`Lambda bundles (ESM, minified) against the bare SDK clients; import time: median of ${options.runs} fresh processes\n`);
  for (const row of rows) {
    const over = row.sizeRatio > BUDGET || row.initRatio > BUDGET ? `  over the ${BUDGET}× budget` : '';
    process.stdout.write(
      `  ${row.name.padEnd(17)} ${String(row.bytes).padStart(8)} B  ×${row.sizeRatio.toFixed(3)}   import ${row.initMs.toFixed(1).padStart(6)} ms  ×${row.initRatio.toFixed(3)}${over}\n`,
    );
  }
}

await main();
