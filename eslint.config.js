// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** bench/ measures the code; nothing the functions bundle may import it. */
const BENCH_IMPORTS = { group: ['**/bench/**', '#bench/*'], message: 'bench/ holds benchmarks: functions/ and shared/ (the Lambda bundles) never import it.' };

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
    // Benchmarks never reach a Lambda bundle. (Listed again below: a later no-restricted-imports replaces this one.)
    files: ['shared/**/*.ts', 'functions/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [BENCH_IMPORTS] }] },
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
            BENCH_IMPORTS,
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
    files: ['eslint.config.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
