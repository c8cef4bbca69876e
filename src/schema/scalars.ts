import { GraphQLError, Kind, type ValueNode } from 'graphql';
import type { JsonValue } from '../common/json.ts';
import { findNonJson } from '../common/json.ts';
import { builder } from './builder.ts';

/** Any JSON value: state, inputs, node configs. */
builder.scalarType('JSON', {
  description: 'Any JSON value (object, array, string, number, boolean or null).',
  serialize: (value) => value,
  parseValue(value) {
    const bad = findNonJson(value);
    if (bad) throw new GraphQLError(`JSON value is not plain JSON at ${bad}`);
    return value as JsonValue;
  },
  parseLiteral: (ast, variables) => literal(ast, variables),
});

function literal(ast: ValueNode, variables: Record<string, unknown> | null | undefined): JsonValue {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map((v) => literal(v, variables));
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literal(f.value, variables)]));
    case Kind.VARIABLE:
      return (variables?.[ast.name.value] ?? null) as JsonValue;
    case Kind.ENUM:
      return ast.value;
  }
}
