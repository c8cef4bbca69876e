import type { CodegenConfig } from '@graphql-codegen/cli';
import { fileURLToPath } from 'node:url';
import sdkConfig from '../sdk/codegen.ts';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const sdkOutput = Object.values(sdkConfig.generates)[0] as { config: Record<string, unknown> };

/**
 * GraphQL Code Generator for the live view's own operations (src/operations.ts: what the SDK's
 * helpers do not cover, such as graph definitions for the canvas), with the SDK's settings, into
 * src/gql/. `npm run generate` runs it; test/web/codegen.test.ts fails when src/gql/ is out of date.
 */
const config: CodegenConfig = {
  schema: here('../../schema/schema.graphql'),
  documents: [here('./src/operations.ts')],
  ignoreNoDocuments: false,
  silent: true,
  generates: {
    [here('./src/gql/')]: {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: sdkOutput.config,
    },
  },
};

export default config;
