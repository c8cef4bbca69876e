import type { CodegenConfig } from '@graphql-codegen/cli';
import { fileURLToPath } from 'node:url';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/**
 * GraphQL Code Generator, client preset: types every operation in operations.ts against the
 * checked-in SDL (the SDK sees the server only through schema/schema.graphql) and writes them to
 * gql/. `npm run generate` runs it after printing the SDL; test/client/codegen.test.ts fails when
 * gql/ is out of date.
 */
const config: CodegenConfig = {
  schema: here('../../schema/schema.graphql'),
  documents: [here('./operations.ts')],
  ignoreNoDocuments: false,
  silent: true,
  generates: {
    [here('./gql/')]: {
      preset: 'client',
      // Events and runs are plain objects: no fragment masking to unwrap.
      presetConfig: { fragmentMasking: false },
      config: {
        enumsAsTypes: true,
        // Types for what the operations use, not the whole schema.
        onlyOperationTypes: true,
        strictScalars: true,
        scalars: { JSON: 'unknown' },
        useTypeImports: true,
        // Nullable fields are present and null rather than optional.
        avoidOptionals: { field: true, inputValue: false, object: true, defaultValue: false },
        importExtension: '.ts',
        // Enum values stay as the server spells them (RunCompleted, not Runcompleted).
        namingConvention: { enumValues: 'keep' },
      },
    },
  },
};

export default config;
