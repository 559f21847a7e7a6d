/**
 * The one test that bundles for real, as `cdk synth` does: the local esbuild (never Docker), the
 * built-in CloudFormation validator and cdk-nag all run once in `beforeAll`, and the assertions
 * read the asset it wrote for each function of FUNCTIONS.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESOURCE_ENV } from '#shared/config.ts';
import { createApp } from '#infra/app.ts';
import { FUNCTION_NAMES, FUNCTIONS, handlerPath, type FunctionName } from '#infra/definitions.ts';
import { cdkJsonContext, logicalId, PROJECT_ROOT, type CfnTemplate } from './support.ts';

const outdir = mkdtempSync(join(tmpdir(), 'microbatch-bundle-'));
const assetDirs = new Map<FunctionName, string>();
const environments = new Map<FunctionName, Record<string, unknown>>();
let report: { pluginReports: unknown[] };

beforeAll(() => {
  const { app, stack } = createApp({ context: cdkJsonContext(), outdir }, {});
  app.synth();
  report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as typeof report;
  const template = JSON.parse(readFileSync(join(outdir, stack.templateFile), 'utf8')) as CfnTemplate;
  for (const name of FUNCTION_NAMES) {
    const props = template.Resources[logicalId(stack.functions[name].function)]?.Properties as { Environment: { Variables: Record<string, unknown> } };
    environments.set(name, props.Environment.Variables);
  }
  const manifest = JSON.parse(readFileSync(join(outdir, `${stack.artifactId}.assets.json`), 'utf8')) as {
    files: Record<string, { displayName: string; source: { path: string } }>;
  };
  // An asset is named after its construct: `<constructId>/Function/Code`.
  const byConstructId = new Map<string, FunctionName>(FUNCTION_NAMES.map((name) => [FUNCTIONS[name].constructId, name]));
  for (const asset of Object.values(manifest.files)) {
    const constructId = /^(\w+)\/Function\/Code$/.exec(asset.displayName)?.[1];
    const name = constructId === undefined ? undefined : byConstructId.get(constructId);
    if (name !== undefined) assetDirs.set(name, join(outdir, asset.source.path));
  }
}, 60_000);

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

function bundle(name: FunctionName): string {
  return readFileSync(join(assetDirs.get(name) ?? '', 'index.mjs'), 'utf8');
}

/** The files a bundle's source map names, from the repository root. */
function bundledSources(name: FunctionName): string[] {
  const dir = assetDirs.get(name) ?? '';
  const map = JSON.parse(readFileSync(join(dir, 'index.mjs.map'), 'utf8')) as { sources: string[] };
  const root = fileURLToPath(PROJECT_ROOT);
  return map.sources.map((source) => join(dir, source)).filter((path) => path.startsWith(root)).map((path) => path.slice(root.length));
}

/**
 * The environment the template gives a function, its tokens (a table's or queue's Ref) replaced by
 * a name or URL of the same shape: the handler's cold start reads exactly what the stack sets.
 */
function coldStartEnvironment(name: FunctionName): Record<string, string> {
  const variables = environments.get(name) ?? {};
  return Object.fromEntries(
    Object.entries(variables).map(([variable, value]) => [
      variable,
      typeof value === 'string' ? value : variable.endsWith('_URL') ? `https://sqs.us-east-1.amazonaws.com/123456789012/${variable.toLowerCase()}` : variable.toLowerCase(),
    ]),
  );
}

describe('a real synth', () => {
  it('passes the CloudFormation validator and cdk-nag with an empty report', () => {
    expect(report.pluginReports).toEqual([]);
  });

  it('bundles one asset per function of FUNCTIONS', () => {
    expect([...assetDirs.keys()].sort()).toEqual([...FUNCTION_NAMES].sort());
    expect(assetDirs.size).toBe(6);
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

  it("is built from its definition's handler and no other function's", () => {
    const handlers = bundledSources(name).filter((path) => /^functions\/[^/]+\/handler\.ts$/.test(path));
    expect(handlers).toEqual([handlerPath(name)]);
  });

  it('holds only functions/, shared/ and packages: nothing of the command line, the local runtime, the stack, the tests or the benchmarks', () => {
    const ours = bundledSources(name).filter((path) => !path.startsWith('node_modules/'));
    expect(ours.length).toBeGreaterThan(0);
    expect(ours.filter((path) => !/^(functions|shared)\//.test(path))).toEqual([]);
  });

  it('bundles a schema library only where ingest requests are validated: the others check their inputs by hand', () => {
    const zod = bundledSources(name).some((path) => path.startsWith('node_modules/zod/'));
    expect(zod).toBe(name === 'ingest');
  });

  it('bundles the AWS SDK and needs no require at run time', () => {
    const code = bundle(name);
    expect(code).not.toMatch(/from\s*["']@aws-sdk\//);
    // esbuild's fallback for a CommonJS require it could not bundle; it throws in an ES module.
    expect(code).not.toContain('Dynamic require of');
  });

  it('loads on this Node 24 with the environment the stack gives it, and exports the handler', () => {
    // The resource variables come from the template, not from a list kept here.
    expect(Object.keys(coldStartEnvironment(name)).filter((variable) => (Object.values(RESOURCE_ENV) as string[]).includes(variable)).length).toBeGreaterThan(0);
    const url = pathToFileURL(join(assetDirs.get(name) ?? '', 'index.mjs')).href;
    const script = `const m = await import(${JSON.stringify(url)}); process.stdout.write(typeof m.handler);`;
    const env = { ...process.env, AWS_REGION: 'us-east-1', ...coldStartEnvironment(name) };
    expect(execFileSync(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', script], { env, encoding: 'utf8' })).toBe('function');
  });
});
