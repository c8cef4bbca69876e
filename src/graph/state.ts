import type { JsonObject, JsonValue } from '../common/json.ts';
import { isPlainObject } from '../common/json.ts';
import type { CompiledGraph, Reducer } from './types.ts';

/** Combines one key's current value with an update, by the key's reducer. Pure. */
export function reduce(reducer: Reducer, current: JsonValue | undefined, update: JsonValue): JsonValue {
  switch (reducer) {
    case 'REPLACE':
      return update;
    case 'APPEND': {
      const base = current === undefined || current === null ? [] : Array.isArray(current) ? current : [current];
      return Array.isArray(update) ? [...base, ...update] : [...base, update];
    }
    case 'MERGE':
      if (isPlainObject(current) && isPlainObject(update)) return { ...current, ...update };
      return update;
  }
}

/** The state a run starts with: the keys' defaults, then the input's values through the reducers. */
export function initialState(graph: CompiledGraph, input: JsonObject): JsonObject {
  const state: JsonObject = {};
  for (const [key, spec] of graph.stateKeys) {
    if (spec.default !== undefined) state[key] = structuredClone(spec.default);
  }
  return applyUpdate(graph, state, input);
}

/** Applies one partial update to the state with each key's reducer; returns a new object. */
export function applyUpdate(graph: CompiledGraph, state: JsonObject, update: JsonObject): JsonObject {
  const next: JsonObject = { ...state };
  for (const key of Object.keys(update)) {
    const value = update[key];
    if (value === undefined) continue;
    const reducer = graph.stateKeys.get(key)?.reducer ?? 'REPLACE';
    next[key] = reduce(reducer, next[key], value);
  }
  return next;
}
