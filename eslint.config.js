import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/',
      '**/build/',
      '**/.svelte-kit/',
      '.data/',
      '.turbo/',
      'test-results/',
      'web/src/lib/api/schema.d.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  // The runner's use cases orchestrate the task's room (services/runner/src/tasks/) and never import
  // each other; the room imports neither (docs/tasks.md#where-the-code-is).
  ...[
    ['create', ['worker'], 'both build on tasks/, the task’s room'],
    ['worker', ['create'], 'both build on tasks/, the task’s room'],
    ['tasks', ['create', 'worker', 'routes', 'consumers'], 'the task’s room is what they build on'],
  ].map(([folder, forbidden, why]) => ({
    files: [`services/runner/src/${folder}/**`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: forbidden.map((other) => ({
            regex: `^\\.\\./${other}/`,
            message: `services/runner/src/${folder}/ must not import ${other}/: ${why}.`,
          })),
        },
      ],
    },
  })),
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] } },
  },
);
