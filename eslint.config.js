// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** bench/ measures the code; nothing the functions bundle may import it. */
const BENCH_IMPORTS = { group: ['**/bench/**', '#bench/*'], message: 'bench/ holds benchmarks: functions/ and shared/ (the Lambda bundles) never import it.' };
/** Another top-level folder is reached through the import map, never by climbing out of this one. */
const CLIMBING_IMPORTS = {
  regex: String.raw`^(\.\./)+(local|infra|shared|functions|test|bench)/`,
  message: 'Import another top-level folder through the package.json import map (#local/…, #infra/…, #shared/…, #functions/…, #test/…, #bench/…).',
};
/** Only the command line, the local runtime and the stack use these: they never reach a Lambda bundle. */
const OFF_LAMBDA_IMPORTS = { group: ['#local/*', '#infra/*', '#test/*'], message: 'local/, infra/ and test/ never reach a Lambda bundle: functions/ and shared/ do not import them.' };

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
    // Benchmarks, the local runtime, the stack and tests never reach a Lambda bundle.
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
          patterns: [
            { group: ['@aws-sdk/*', '@aws-lambda-powertools/*', '@middy/*', '#shared/adapters/*'], message: 'shared/domain and shared/usecases are pure: depend on ports, not on SDKs.' },
            CLIMBING_IMPORTS,
            BENCH_IMPORTS,
            OFF_LAMBDA_IMPORTS,
          ],
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
