/**
 * The local runtime and the command line import each other's modules one way: no module reaches
 * itself again through its imports (type imports count — a cycle of types is still two modules that
 * cannot be read, moved or tested apart). Read with the TypeScript compiler's import scanner.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const ROOMS = ['local', 'cli'];

/** Every module of the rooms, by its path from the root, and the modules of the rooms it imports. */
function importGraph(rooms: readonly string[]): Map<string, string[]> {
  const modules = rooms.flatMap((room) =>
    readdirSync(join(ROOT, room), { recursive: true, encoding: 'utf8' })
      .filter((file) => /\.(ts|js)$/.test(file))
      .map((file) => join(room, file)),
  );
  const known = new Set(modules);
  return new Map(
    modules.map((module) => {
      const { importedFiles } = ts.preProcessFile(readFileSync(join(ROOT, module), 'utf8'), true, true);
      const targets = importedFiles
        .map(({ fileName }) => (fileName.startsWith('.') ? normalize(join(dirname(module), fileName)) : fileName.startsWith('#') ? fileName.slice(1) : ''))
        .filter((target) => known.has(target));
      return [module, targets];
    }),
  );
}

/** The import cycles of a graph, each as the path that closes it (a → b → a), by depth-first search. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (module: string): void => {
    const open = path.indexOf(module);
    if (open >= 0) {
      found.push([...path.slice(open), module]);
      return;
    }
    if (done.has(module)) return;
    path.push(module);
    for (const target of graph.get(module) ?? []) visit(target);
    path.pop();
    done.add(module);
  };
  for (const module of graph.keys()) visit(module);
  return found;
}

describe('the imports of local/ and cli/', () => {
  it('finds a cycle that runs through several modules, as the path that closes it', () => {
    // Prepare
    const graph = new Map([
      ['local/scenario.ts', ['local/bounds.ts']],
      ['local/bounds.ts', ['local/summary.ts']],
      ['local/summary.ts', ['local/scenario.ts']],
    ]);

    // Act
    const found = cycles(graph);

    // Assess
    expect(found).toEqual([['local/scenario.ts', 'local/bounds.ts', 'local/summary.ts', 'local/scenario.ts']]);
  });

  it('go one way: no module reaches itself again through its imports, type imports and the import map included', () => {
    // Prepare
    const graph = importGraph(ROOMS);

    // Act
    const found = cycles(graph);

    // Assess
    expect(graph.get('cli/up/start-up.ts'), 'an import through the import map').toContain('local/emulators.ts');
    expect(graph.get('local/summary.ts'), 'a type import').toContain('local/scenario.ts');
    expect(found.map((cycle) => cycle.join(' → '))).toEqual([]);
  });
});
