/**
 * The modules under shared/ import one another one way only: no module reaches itself again
 * through its imports, type-only imports included (a circle of types still ties the modules into
 * one). Imports are read and resolved by the TypeScript compiler with the project's settings, so
 * `#shared/…` and relative paths resolve as they do for `tsc`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function compilerOptions(): ts.CompilerOptions {
  const file = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile.bind(ts.sys));
  return ts.parseJsonConfigFileContent(file.config, ts.sys, ROOT).options;
}

/** Every module under `dir`, as a path from the repository root, with the modules under `dir` it imports. */
function importGraph(dir: string): Map<string, string[]> {
  const options = compilerOptions();
  const modules = readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.ts'))
    .map((path) => join(dir, path));
  return new Map(
    modules.map((module) => {
      const file = join(ROOT, module);
      const imported = ts.preProcessFile(readFileSync(file, 'utf8'), true, false).importedFiles.flatMap(({ fileName }) => {
        const resolved = ts.resolveModuleName(fileName, file, options, ts.sys).resolvedModule?.resolvedFileName;
        const path = resolved === undefined ? undefined : relative(ROOT, resolved);
        return path !== undefined && path.startsWith(`${dir}/`) ? [path] : [];
      });
      return [module, imported];
    }),
  );
}

/** The first circle of imports found, as the modules along it back to its start, or undefined. */
function firstCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (module: string): string[] | undefined => {
    const start = path.indexOf(module);
    if (start >= 0) return [...path.slice(start), module];
    if (done.has(module)) return undefined;
    path.push(module);
    for (const imported of graph.get(module) ?? []) {
      const cycle = visit(imported);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    done.add(module);
    return undefined;
  };
  for (const module of graph.keys()) {
    const cycle = visit(module);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

describe('imports under shared/', () => {
  it('resolve: the check sees the imports between shared modules', () => {
    const graph = importGraph('shared');
    expect(graph.get('shared/domain/ops.ts')).toContain('shared/domain/types.ts');
    expect(graph.get('shared/usecases/append-updates.ts')).toContain('shared/domain/schemas.ts');
  });

  it('form no circle, type-only imports included', () => {
    expect(firstCycle(importGraph('shared'))).toBeUndefined();
  });

  it('finds a circle when there is one', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(firstCycle(graph)).toEqual(['a.ts', 'b.ts', 'c.ts', 'a.ts']);
  });
});
