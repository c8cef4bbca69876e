import { sleep } from '../common/async.ts';
import { AppError, type Problem } from '../common/errors.ts';
import { isPlainObject, type JsonObject, type JsonValue } from '../common/json.ts';
import { parseExpression } from './expression.ts';
import type { NodeHandler, NodeKind } from './types.ts';

/** Turns a code handler into a node kind; the kind takes no config. */
export function defineNode(definition: { kind: string; description?: string; run: NodeHandler }): NodeKind {
  return {
    kind: definition.kind,
    description: definition.description ?? '',
    create: () => definition.run,
  };
}

/** The kinds a graph may name. Lookups are by exact name. */
export class NodeKindRegistry {
  readonly #kinds = new Map<string, NodeKind>();

  constructor(kinds: Iterable<NodeKind> = []) {
    for (const kind of kinds) this.register(kind);
  }

  /** Adds a kind; throws INVALID_CONFIG when the name is taken. */
  register(kind: NodeKind): this {
    if (this.#kinds.has(kind.kind)) throw new AppError('INVALID_CONFIG', `node kind "${kind.kind}" is already registered`);
    this.#kinds.set(kind.kind, kind);
    return this;
  }

  get(kind: string): NodeKind | undefined {
    return this.#kinds.get(kind);
  }

  list(): NodeKind[] {
    return [...this.#kinds.values()].sort((a, b) => a.kind.localeCompare(b.kind));
  }
}

export interface BuiltinKindOptions {
  /** Hosts (`example.com`, `127.0.0.1:8080`) the http kind may call. Empty: the http kind is off. */
  httpAllowlist?: readonly string[];
}

export function builtinKinds(options: BuiltinKindOptions = {}): NodeKind[] {
  return [noopKind, delayKind, failKind, transformKind, interruptKind, httpKind(options.httpAllowlist ?? [])];
}

/** A registry with the built-in kinds. */
export function defaultKindRegistry(options: BuiltinKindOptions = {}): NodeKindRegistry {
  return new NodeKindRegistry(builtinKinds(options));
}

const noopKind: NodeKind = {
  kind: 'noop',
  description: 'Does nothing and returns no update.',
  validate: (config) => expectObjectOrNothing(config),
  create: () => function noop() {},
};

const delayKind: NodeKind = {
  kind: 'delay',
  description: 'Waits config.ms milliseconds (honours cancel), then returns config.update if given.',
  validate(config) {
    const problems = expectObject(config);
    if (problems.length > 0) return problems;
    const c = config as JsonObject;
    if (!isIntIn(c['ms'], 0, 3_600_000)) problems.push({ path: 'config.ms', message: 'must be an integer number of milliseconds from 0 to 3600000' });
    if (c['update'] !== undefined && !isPlainObject(c['update'])) problems.push({ path: 'config.update', message: 'must be an object (the state update to return)' });
    return problems;
  },
  create(config) {
    const c = config as JsonObject;
    const ms = c['ms'] as number;
    const update = c['update'] as JsonObject | undefined;
    return async function delay(_state, ctx) {
      await sleep(ms, ctx.signal);
      return update;
    };
  },
};

const failKind: NodeKind = {
  kind: 'fail',
  description: 'Fails with config.message. With config.times, fails only the first `times` attempts, then succeeds.',
  validate(config) {
    const problems = expectObjectOrNothing(config);
    if (problems.length > 0 || config === undefined) return problems;
    const c = config as JsonObject;
    if (c['message'] !== undefined && typeof c['message'] !== 'string') problems.push({ path: 'config.message', message: 'must be a string' });
    if (c['times'] !== undefined && !isIntIn(c['times'], 1, 1000)) problems.push({ path: 'config.times', message: 'must be an integer from 1 to 1000' });
    return problems;
  },
  create(config) {
    const c = (config ?? {}) as JsonObject;
    const message = typeof c['message'] === 'string' ? c['message'] : 'node failed (fail kind)';
    const times = typeof c['times'] === 'number' ? c['times'] : Number.POSITIVE_INFINITY;
    return function fail(_state, ctx) {
      if (ctx.attempt <= times) throw new AppError('NODE_FAILED', message);
    };
  },
};

const transformKind: NodeKind = {
  kind: 'transform',
  description: 'Evaluates config.expression (JSONata) over the state; its object result is the update.',
  validate(config) {
    const problems = expectObject(config);
    if (problems.length > 0) return problems;
    const source = (config as JsonObject)['expression'];
    if (typeof source !== 'string') return [{ path: 'config.expression', message: 'must be a JSONata expression string, e.g. "{ \\"total\\": $sum(items) }"' }];
    const parsed = parseExpression(source);
    return parsed.ok ? [] : [{ path: 'config.expression', message: parsed.error }];
  },
  create(config) {
    const parsed = parseExpression((config as JsonObject)['expression'] as string);
    if (!parsed.ok) throw new AppError('INVALID_GRAPH', parsed.error);
    const expression = parsed.expression;
    return async function transform(state) {
      const result = await expression.evaluate(state);
      if (result === undefined) return undefined;
      if (!isPlainObject(result)) {
        throw new AppError('EXPRESSION_FAILED', `transform expression must produce an object (the state update), got ${Array.isArray(result) ? 'an array' : typeof result}`);
      }
      return result;
    };
  },
};

const interruptKind: NodeKind = {
  kind: 'interrupt',
  description: 'Asks for input (human in the loop): the run pauses with config.payload (default null) until it is resumed; the resume value goes into the state under config.resultKey (default "answer").',
  validate(config) {
    const problems = expectObjectOrNothing(config);
    if (problems.length > 0 || !isPlainObject(config)) return problems;
    const key = config['resultKey'];
    if (key !== undefined && (typeof key !== 'string' || key === '')) problems.push({ path: 'config.resultKey', message: 'must be the name of the state key that gets the answer' });
    return problems;
  },
  create(config) {
    const c = isPlainObject(config) ? config : {};
    const payload = c['payload'] ?? null;
    const resultKey = typeof c['resultKey'] === 'string' ? c['resultKey'] : 'answer';
    return function interrupt(_state, ctx) {
      return { [resultKey]: ctx.interrupt(payload) };
    };
  },
};

function httpKind(allowlist: readonly string[]): NodeKind {
  const allowed = new Set(allowlist.map((h) => h.toLowerCase()));
  return {
    kind: 'http',
    description: 'Calls config.url (GET, or POST with the state as body) on an allowlisted host and stores the JSON response under config.resultKey.',
    validate(config) {
      if (allowed.size === 0) return [{ path: 'kind', message: 'http nodes are off; set FLOWCAST_HTTP_ALLOWLIST to a comma-separated list of hosts to allow them' }];
      const problems = expectObject(config);
      if (problems.length > 0) return problems;
      const c = config as JsonObject;
      let url: URL | undefined;
      try {
        url = new URL(String(c['url']));
      } catch {
        problems.push({ path: 'config.url', message: 'must be an absolute http(s) URL' });
      }
      if (url && !/^https?:$/.test(url.protocol)) problems.push({ path: 'config.url', message: 'must use http or https' });
      if (url && !allowed.has(url.host.toLowerCase())) problems.push({ path: 'config.url', message: `host ${url.host} is not in the http allowlist (${[...allowed].join(', ')})` });
      if (c['method'] !== undefined && c['method'] !== 'GET' && c['method'] !== 'POST') problems.push({ path: 'config.method', message: 'must be GET or POST' });
      if (c['resultKey'] !== undefined && typeof c['resultKey'] !== 'string') problems.push({ path: 'config.resultKey', message: 'must be a state key name' });
      return problems;
    },
    create(config) {
      const c = config as JsonObject;
      const url = String(c['url']);
      const method = c['method'] === 'POST' ? 'POST' : 'GET';
      const resultKey = typeof c['resultKey'] === 'string' ? c['resultKey'] : 'response';
      return async function http(state, ctx) {
        const response = await fetch(url, {
          method,
          signal: ctx.signal,
          ...(method === 'POST' ? { body: JSON.stringify(state), headers: { 'content-type': 'application/json' } } : {}),
        });
        if (!response.ok) throw new AppError('NODE_FAILED', `${method} ${url} answered ${response.status}`);
        const text = await response.text();
        let body: JsonValue;
        try {
          body = JSON.parse(text) as JsonValue;
        } catch {
          body = text;
        }
        return { [resultKey]: body };
      };
    },
  };
}

function expectObject(config: JsonValue | undefined): Problem[] {
  return isPlainObject(config) ? [] : [{ path: 'config', message: 'must be an object' }];
}

function expectObjectOrNothing(config: JsonValue | undefined): Problem[] {
  return config === undefined || config === null || isPlainObject(config) ? [] : [{ path: 'config', message: 'must be an object or omitted' }];
}

function isIntIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}
