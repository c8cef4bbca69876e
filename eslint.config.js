// @ts-check
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // client/sdk/gql and client/web/src/gql are written by GraphQL Code Generator (npm run generate) and drift-tested.
  { ignores: ['node_modules/', 'data/', 'dist/', 'coverage/', 'test-artifacts/', 'client/sdk/gql/', 'client/web/src/gql/'] },
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
  // A part imports only parts to its left. src/cli may also import client/sdk: with --server it is a
  // client of a running server, and the typed client is the one way to be that. No other part may:
  // the server side knows nothing of its clients.
  ...layers(['common', 'graph', 'events', 'store', 'engine', 'queue', 'schema', 'server', 'cli'], { mayImportClient: ['cli'] }),
  // The live view: React's rules of hooks and effect dependencies.
  {
    files: ['client/web/src/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: reactHooks.configs.recommended.rules,
  },
  // client/ knows the server only through schema/schema.graphql.
  {
    files: ['client/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/src/*', '**/src/**', '**/test/*', '**/test/**'], message: 'client/ may not import src/ or test/: it knows the server only through schema/schema.graphql' }] }],
    },
  },
);

/** @param {string[]} order @param {{ mayImportClient: string[] }} options */
function layers(order, { mayImportClient }) {
  return order.map((part, i) => {
    const patterns = order.slice(i + 1).map((later) => ({ group: [`../${later}/*`], message: `src/${part} may not import src/${later} (imports go one way: ${order.join(' <- ')})` }));
    if (!mayImportClient.includes(part)) patterns.push({ group: ['../../client/*', '../../../client/*'], message: `src/${part} may not import client/ (only ${mayImportClient.join(', ')} may: the server side knows nothing of its clients)` });
    return { files: [`src/${part}/**`], rules: { 'no-restricted-imports': ['error', { patterns }] } };
  });
}
