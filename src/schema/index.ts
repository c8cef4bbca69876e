import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.ts';
import './scalars.ts';
import './errors.ts';
import './events.ts';
import './graphs.ts';
import './runs.ts';
import './export.ts';
import './live.ts';
import './visual.ts';
import './system.ts';

export type { Context, Services } from './context.ts';

let schema: GraphQLSchema | undefined;

/** The GraphQL schema; built once. */
export function buildSchema(): GraphQLSchema {
  schema ??= builder.toSchema({ sortSchema: false });
  return schema;
}

/** The SDL as checked in at schema/schema.graphql: sorted, so diffs are stable. */
export function printSdl(): string {
  return `${printSchema(lexicographicSortSchema(buildSchema()))}\n`;
}
