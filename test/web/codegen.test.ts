import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import config from '../../client/web/codegen.ts';

const GQL_DIR = fileURLToPath(new URL('../../client/web/src/gql/', import.meta.url));

describe('client/web/src/gql (GraphQL Code Generator output)', () => {
  it('is what codegen makes of schema/schema.graphql and client/web/src/operations.ts now (run npm run generate after changing either)', async () => {
    const outputs = (await generate(config, false)) as Array<{ filename: string; content: string }>;
    const generated = Object.fromEntries(outputs.map((o) => [relative(GQL_DIR, o.filename), o.content]));
    const onDisk = Object.fromEntries(readdirSync(GQL_DIR).map((name) => [name, readFileSync(join(GQL_DIR, name), 'utf8')]));
    expect(Object.keys(generated).sort()).toEqual(Object.keys(onDisk).sort());
    for (const [name, content] of Object.entries(generated)) expect(onDisk[name], `client/web/src/gql/${name} is out of date`).toBe(content);
  });
});
