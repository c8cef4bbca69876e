// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'dist/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    // Layering (DESIGN.md): common <- graph <- events <- store <- engine <- queue <- schema <- server <- cli.
    files: ['src/common/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['../graph/*', '../events/*', '../store/*', '../engine/*', '../cli/*'] }] },
  },
  {
    files: ['src/graph/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['../events/*', '../store/*', '../engine/*', '../cli/*'] }] },
  },
  {
    files: ['src/events/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['../store/*', '../engine/*', '../cli/*'] }] },
  },
  {
    files: ['src/store/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['../engine/*', '../cli/*'] }] },
  },
  {
    files: ['src/engine/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['../cli/*'] }] },
  },
);
