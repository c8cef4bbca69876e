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
  // Layering (DESIGN.md): common <- graph <- events <- store <- engine <- queue <- schema <- server <- cli.
  // A part imports only parts to its left.
  ...layers(['common', 'graph', 'events', 'store', 'engine', 'queue', 'schema', 'server', 'cli']),
);

function layers(order) {
  return order.map((part, i) => ({
    files: [`src/${part}/**`],
    rules: {
      'no-restricted-imports': ['error', { patterns: order.slice(i + 1).map((later) => ({ group: [`../${later}/*`], message: `src/${part} may not import src/${later} (imports go one way: ${order.join(' <- ')})` })) }],
    },
  }));
}
