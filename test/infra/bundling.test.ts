/**
 * The one test that bundles for real, as `cdk synth` does: the local esbuild (never Docker), the
 * built-in CloudFormation validator and cdk-nag all run once in `beforeAll`, and the assertions
 * read the four assets it wrote.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '#infra/app.ts';
import { FUNCTION_NAMES, type FunctionName } from '#infra/definitions.ts';
import { cdkJsonContext } from './support.ts';

const outdir = mkdtempSync(join(tmpdir(), 'microbatch-bundle-'));
const assetDirs = new Map<FunctionName, string>();
let report: { pluginReports: unknown[] };

beforeAll(() => {
  const { app, stack } = createApp({ context: cdkJsonContext(), outdir }, {});
  app.synth();
  report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as typeof report;
  const manifest = JSON.parse(readFileSync(join(outdir, `${stack.artifactId}.assets.json`), 'utf8')) as {
    files: Record<string, { displayName: string; source: { path: string } }>;
  };
  for (const asset of Object.values(manifest.files)) {
    const name = /^(\w+)\/Function\/Code$/.exec(asset.displayName)?.[1]?.toLowerCase() as FunctionName | undefined;
    if (name !== undefined) assetDirs.set(name, join(outdir, asset.source.path));
  }
}, 60_000);

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

function bundle(name: FunctionName): string {
  return readFileSync(join(assetDirs.get(name) ?? '', 'index.mjs'), 'utf8');
}

describe('a real synth', () => {
  it('passes the CloudFormation validator and cdk-nag with an empty report', () => {
    expect(report.pluginReports).toEqual([]);
  });

  it('bundles one asset per function', () => {
    expect([...assetDirs.keys()].sort()).toEqual([...FUNCTION_NAMES].sort());
  });
});

describe.each(FUNCTION_NAMES)('the %s bundle', (name) => {
  it('is minified ESM under 1 MB with an external source map and no copy of the sources', () => {
    const code = bundle(name);
    // Minified: a few very long lines (the rest are license comments and multi-line template literals).
    expect(code.length / code.split('\n').length).toBeGreaterThan(5_000);
    expect(code).toMatch(/export\s*\{[^}]*\bas handler\b|export\s*\{[^}]*\bhandler\b/);
    expect(code).not.toContain('module.exports');
    expect(code.trimEnd().endsWith('//# sourceMappingURL=index.mjs.map')).toBe(true);
    expect(statSync(join(assetDirs.get(name) ?? '', 'index.mjs')).size).toBeLessThan(1024 * 1024);
    const map = JSON.parse(readFileSync(join(assetDirs.get(name) ?? '', 'index.mjs.map'), 'utf8')) as { sourcesContent?: unknown };
    expect(map.sourcesContent).toBeUndefined();
  });

  it('bundles the AWS SDK and needs no require at run time', () => {
    const code = bundle(name);
    expect(code).not.toMatch(/from\s*["']@aws-sdk\//);
    // esbuild's fallback for a CommonJS require it could not bundle; it throws in an ES module.
    expect(code).not.toContain('Dynamic require of');
  });

  it('loads on this Node 24 and exports the handler', () => {
    const url = pathToFileURL(join(assetDirs.get(name) ?? '', 'index.mjs')).href;
    const script = `const m = await import(${JSON.stringify(url)}); process.stdout.write(typeof m.handler);`;
    const env = {
      ...process.env,
      AWS_REGION: 'us-east-1',
      STREAM_NAME: 'main',
      INTERVAL_SECONDS: '60',
      BATCH_SIZE: '100',
      LOG_TABLE_NAME: 'log',
      NODES_TABLE_NAME: 'nodes',
      REPLICA_TABLE_NAME: 'replica',
      CONVERGENCE_TABLE_NAME: 'convergence',
      INGEST_REQUESTS_TABLE_NAME: 'ingest-requests',
      QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/q.fifo',
    };
    expect(execFileSync(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', script], { env, encoding: 'utf8' })).toBe('function');
  });
});
