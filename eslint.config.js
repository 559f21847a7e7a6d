// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The patterns below are regexes, not `group`s: a `group` is gitignore syntax, where a leading `#`
// starts a comment, so `group: ['#local/*']` matched no import at all.

/** Import-map specifiers of these top-level folders (`#local/…`). */
const importMap = (/** @type {string[]} */ ...folders) => String.raw`^#(${folders.join('|')})/`;
/** bench/ measures the code; nothing the functions bundle may import it. */
const BENCH_IMPORTS = { regex: String.raw`${importMap('bench')}|(^|/)bench/`, message: 'bench/ holds benchmarks: functions/ and shared/ (the Lambda bundles) never import it.' };
/** Another top-level folder is reached through the import map, never by climbing out of this one. */
const CLIMBING_IMPORTS = {
  regex: String.raw`^(\.\./)+(local|cli|infra|shared|functions|test|bench)/`,
  message: 'Import another top-level folder through the package.json import map (#local/…, #cli/…, #infra/…, #shared/…, #functions/…, #test/…, #bench/…).',
};
/** Only the command line, the local runtime and the stack use these: they never reach a Lambda bundle. */
const OFF_LAMBDA_IMPORTS = {
  regex: importMap('local', 'cli', 'infra', 'test'),
  message: 'local/, cli/, infra/ and test/ never reach a Lambda bundle: functions/ and shared/ do not import them.',
};
/** The command line drives the local runtime (`up`, `--local`) and reads the stack's definitions; neither depends on it. */
const CLI_IMPORTS = { regex: importMap('cli'), message: 'cli/ is the operator command line: it imports local/ and infra/, never the other way round.' };
/** The domain and the use cases depend on ports, not on SDKs or their adapters. */
const IMPURE_IMPORTS = {
  regex: String.raw`^(@aws-sdk|@aws-lambda-powertools|@middy)/|${importMap('shared/adapters')}`,
  message: 'shared/domain and shared/usecases are pure: depend on ports, not on SDKs.',
};

export default tseslint.config(
  { ignores: ['node_modules/', 'cdk.out/', 'out/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Every file: cross-folder imports go through the import map. (Each later no-restricted-imports
    // replaces the earlier one for its files, so each lists what it keeps.)
    files: ['**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [CLIMBING_IMPORTS] }] },
  },
  {
    // The local runtime and the stack do not know the command line that drives them.
    files: ['local/**/*.ts', 'infra/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [CLIMBING_IMPORTS, CLI_IMPORTS] }] },
  },
  {
    // Benchmarks, the local runtime, the command line, the stack and tests never reach a Lambda bundle.
    files: ['shared/**/*.ts', 'functions/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [CLIMBING_IMPORTS, BENCH_IMPORTS, OFF_LAMBDA_IMPORTS] }] },
  },
  {
    // The domain stays pure: no AWS SDK, no Powertools, no clock or randomness reached by import.
    files: ['shared/domain/**/*.ts', 'shared/usecases/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [IMPURE_IMPORTS, CLIMBING_IMPORTS, BENCH_IMPORTS, OFF_LAMBDA_IMPORTS],
        },
      ],
    },
  },
  {
    // Lambda code logs through the structured logger only.
    files: ['shared/**/*.ts', 'functions/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    files: ['eslint.config.js', 'cli/bin.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
