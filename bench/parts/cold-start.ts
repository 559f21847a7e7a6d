/**
 * Cold start: each Lambda bundle as the stack builds it (esbuild with the options
 * infra/constructs/service-function.ts gives it: ESM, minified, node24, module-first main fields)
 * against a floor bundle that imports only the same SDK clients (DynamoDBClient, its document
 * client and SQSClient, nothing else), measured in one run:
 *
 *   - size: bytes of each minified bundle, and its ratio to the floor (budget: ≤ 1.25×);
 *   - init: the median CPU a fresh Node process spends importing the bundle — what a cold start
 *     pays before the handler runs — and its ratio to the floor's (budget: ≤ 1.25×); the median
 *     wall time beside it. The processes of all bundles are interleaved, so a slower moment of the
 *     machine does not fall on one only.
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RESOURCE_ENV, SETTINGS_ENV } from '#shared/config.ts';
import { FUNCTION_NAMES, handlerPath } from '#infra/definitions.ts';


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

/**
 * One import of `file` in a fresh process (the module graph's load and evaluation): its wall time,
 * and the CPU the process spent on it. On a machine whose cores other work shares, a fresh process
 * waits for a core at random moments, which only the wall time sees; the CPU is what loading the
 * modules costs, and what a Lambda init with its own share of a core pays.
 */
function importOnce(file: string): { readonly wallMs: number; readonly cpuMs: number } {
  const script = [
    'const cpu = process.cpuUsage();',
    'const started = performance.now();',
    `await import(${JSON.stringify(file)});`,
    'const wallMs = performance.now() - started;',
    'const used = process.cpuUsage(cpu);',
    'process.stdout.write(JSON.stringify({ wallMs, cpuMs: (used.user + used.system) / 1000 }));',
  ].join(' ');
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...ENV }, encoding: 'utf8' })) as { wallMs: number; cpuMs: number };
}

/** One bundle's figures; the floor's ratios are 1. */
export interface BundleFigures {
  readonly name: string;
  readonly bytes: number;
  /** Median CPU of the import in a fresh process. */
  readonly initCpuMs: number;
  /** Median wall time of the import in a fresh process. */
  readonly initWallMs: number;
  readonly sizeRatio: number;
  /** initCpuMs over the floor's. */
  readonly initRatio: number;
  /** initWallMs over the floor's: the same, with the waits for a busy machine's cores in it. */
  readonly initWallRatio: number;
}

export interface ColdStartResult {
  /** The largest size ratio of the function bundles. */
  readonly sizeRatio: number;
  /** The largest init ratio (CPU) of the functions. */
  readonly initRatio: number;
  /** The largest init ratio by wall time. */
  readonly initWallRatio: number;
  readonly runs: number;
  readonly floor: BundleFigures;
  readonly bundles: readonly BundleFigures[];
}

/** Builds the floor and every function's bundle, then imports each `runs` times in fresh processes. */
export async function measureColdStart(progress: (line: string) => void, runs = 15): Promise<ColdStartResult> {
  progress(`cold start: bundling every function and the SDK floor, then ${runs} fresh imports of each…`);
  const [floor, ...bundles] = await measure(runs);
  if (floor === undefined) throw new Error('the floor bundle was not measured');
  const largest = (pick: (bundle: BundleFigures) => number): number => Math.max(...bundles.map(pick));
  return { sizeRatio: largest((bundle) => bundle.sizeRatio), initRatio: largest((bundle) => bundle.initRatio), initWallRatio: largest((bundle) => bundle.initWallRatio), runs, floor, bundles };
}

async function measure(runs: number): Promise<BundleFigures[]> {
  const dir = mkdtempSync(join(tmpdir(), 'msync-bundles-'));
  try {
    const bare = { name: 'SDK clients only', bytes: await bundle({ source: BARE_SDK }, join(dir, 'bare.mjs')), file: join(dir, 'bare.mjs') };
    const bundles = [bare];
    for (const name of FUNCTION_NAMES) {
      const file = join(dir, `${name}.mjs`);
      bundles.push({ name, bytes: await bundle({ file: resolve(handlerPath(name)) }, file), file });
    }
    // Interleaved, so that a slower moment of the machine does not fall on one bundle only.
    const samples = new Map<string, { wallMs: number; cpuMs: number }[]>(bundles.map((entry) => [entry.name, []]));
    for (let round = 0; round < runs; round += 1) for (const entry of bundles) samples.get(entry.name)?.push(importOnce(entry.file));
    const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
    const medians = (name: string): { wallMs: number; cpuMs: number } => {
      const list = samples.get(name) ?? [];
      return { wallMs: median(list.map((sample) => sample.wallMs)), cpuMs: median(list.map((sample) => sample.cpuMs)) };
    };
    const floor = medians(bare.name);
    const ratio = (a: number, b: number): number => Number((a / b).toFixed(3));
    return bundles.map((entry) => {
      const own = medians(entry.name);
      return {
        name: entry.name,
        bytes: entry.bytes,
        initCpuMs: Number(own.cpuMs.toFixed(1)),
        initWallMs: Number(own.wallMs.toFixed(1)),
        sizeRatio: ratio(entry.bytes, bare.bytes),
        initRatio: ratio(own.cpuMs, floor.cpuMs),
        initWallRatio: ratio(own.wallMs, floor.wallMs),
      };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
