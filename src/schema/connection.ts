import type { InterfaceRef, ObjectRef, SchemaTypes } from '@pothos/core';
import { AppError } from '../common/errors.ts';
import { builder } from './builder.ts';

/** Relay-style connections: `{ edges { cursor node } nodes pageInfo { hasNextPage endCursor } }`. */
export interface Connection<T> {
  items: T[];
  hasMore: boolean;
  cursorOf: (item: T) => string;
}

const PageInfo = builder.objectRef<{ hasNextPage: boolean; endCursor: string | null }>('PageInfo').implement({
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage'),
    endCursor: t.exposeString('endCursor', { nullable: true, description: 'Pass as `after` to get the next page.' }),
  }),
});

export function connectionType<Types extends SchemaTypes, T>(name: string, node: ObjectRef<Types, T> | InterfaceRef<Types, T>) {
  const Edge = builder.objectRef<{ cursor: string; node: T }>(`${name}ConnectionEdge`).implement({
    fields: (t) => ({ cursor: t.exposeString('cursor'), node: t.field({ type: node, resolve: (e) => e.node as never }) }),
  });
  return builder.objectRef<Connection<T>>(`${name}Connection`).implement({
    fields: (t) => ({
      edges: t.field({ type: [Edge], resolve: (c) => c.items.map((item) => ({ cursor: c.cursorOf(item), node: item })) }),
      nodes: t.field({ type: [node], resolve: (c) => c.items as never }),
      pageInfo: t.field({
        type: PageInfo,
        resolve: (c) => ({ hasNextPage: c.hasMore, endCursor: c.items.length > 0 ? c.cursorOf(c.items[c.items.length - 1]!) : null }),
      }),
    }),
  });
}

/** Checks a page size argument: 1–`max`. */
export function pageSize(first: number | null | undefined, fallback: number, max = 1000): number {
  const size = first ?? fallback;
  if (!Number.isInteger(size) || size < 1 || size > max) throw new AppError('INVALID_INPUT', `first must be an integer from 1 to ${max}, got ${size}`);
  return size;
}
