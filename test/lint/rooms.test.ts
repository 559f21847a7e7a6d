/**
 * The lint rules that guard the rooms (eslint.config.js): which top-level folder may import which.
 * Each import is linted as if written in a file of the folder named, with the repository's own
 * config — so a rule that stops matching (as `group: ['#local/*']` did: gitignore syntax reads a
 * leading `#` as a comment) fails here instead of letting a Lambda bundle grow unnoticed.
 */
import { join } from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

let eslint: ESLint;

beforeAll(() => {
  // The import rules read no types: linting without the type checker keeps this test fast.
  eslint = new ESLint({ cwd: ROOT, overrideConfig: [tseslint.configs.disableTypeChecked] });
});

/** The messages of the room rules for one import in a file at `path` (linted as text, never written). */
async function refusals(path: string, specifier: string): Promise<string[]> {
  const [result] = await eslint.lintText(`import '${specifier}';\n`, { filePath: join(ROOT, path) });
  return (result?.messages ?? []).filter(({ ruleId }) => ruleId === 'no-restricted-imports').map(({ message }) => message);
}

/** A rule, a part of its message, and imports it refuses: a file in the folder named, the import. */
interface Refusals {
  readonly rule: string;
  readonly message: string;
  readonly imports: [path: string, specifier: string][];
}

const REFUSALS: readonly Refusals[] = [
  {
    rule: 'keeps what never reaches a Lambda bundle out of it',
    message: 'never reach a Lambda bundle',
    imports: [
      ['functions/planner/probe.ts', '#cli/deployment.ts'],
      ['functions/planner/probe.ts', '#local/errors.ts'],
      ['functions/applier/probe.ts', '#infra/definitions.ts'],
      ['functions/applier/probe.ts', '#test/support/lambda.ts'],
      ['shared/probe.ts', '#cli/main.ts'],
      ['shared/adapters/probe.ts', '#local/emulators.ts'],
      ['shared/domain/probe.ts', '#cli/output.ts'],
      ['shared/usecases/probe.ts', '#infra/definitions.ts'],
    ],
  },
  {
    rule: 'keeps the benchmarks out of the Lambda bundles',
    message: 'bench/ holds benchmarks',
    imports: [
      ['functions/ingest/probe.ts', '#bench/main.ts'],
      ['shared/probe.ts', '../bench/main.ts'],
      ['shared/domain/probe.ts', '#bench/parts/apply.ts'],
    ],
  },
  {
    rule: 'keeps the domain and the use cases pure',
    message: 'are pure',
    imports: [
      ['shared/domain/probe.ts', '@aws-sdk/client-dynamodb'],
      ['shared/usecases/probe.ts', '@middy/core'],
      ['shared/domain/probe.ts', '#shared/adapters/errors.ts'],
    ],
  },
  {
    rule: 'keeps the command line out of what it drives',
    message: 'never the other way round',
    imports: [
      ['local/probe.ts', '#cli/deployment.ts'],
      ['local/report/probe.ts', '#cli/output.ts'],
      ['infra/probe.ts', '#cli/deployment.ts'],
      ['infra/constructs/probe.ts', '#cli/main.ts'],
    ],
  },
  {
    rule: 'sends another folder through the import map',
    message: 'through the package.json import map',
    imports: [
      ['local/report/probe.ts', '../../cli/output.ts'],
      ['cli/commands/probe.ts', '../../local/errors.ts'],
      ['test/cli/probe.ts', '../../cli/main.ts'],
      ['bench/parts/probe.ts', '../../shared/domain/plan.ts'],
    ],
  },
];

describe('the lint rules that guard the rooms', () => {
  for (const { rule, message, imports } of REFUSALS) {
    it.each(imports)(`${rule}: %s may not import %s`, async (path, specifier) => {
      // Act
      const messages = await refusals(path, specifier);

      // Assess
      expect(messages).toContainEqual(expect.stringContaining(message));
    });
  }

  it.each([
    ['cli/up/probe.ts', '#local/emulators.ts'],
    ['cli/commands/probe.ts', '#infra/definitions.ts'],
    ['cli/probe.ts', '#shared/domain/config.ts'],
    ['test/cli/probe.ts', '#cli/main.ts'],
    ['bench/probe.ts', '#cli/advise/model.ts'],
    ['local/probe.ts', '#infra/definitions.ts'],
    ['functions/planner/probe.ts', '#shared/usecases/start-plan.ts'],
    ['cli/commands/probe.ts', '../output.ts'],
  ])('lets the dependencies that go the right way through: %s may import %s', async (path, specifier) => {
    // Act
    const messages = await refusals(path, specifier);

    // Assess
    expect(messages).toEqual([]);
  });
});
