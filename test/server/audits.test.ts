import { serverAudits, type AuditResult } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../utils/server.ts';

/**
 * The GraphQL-over-HTTP conformance audits of graphql-http, each one its own test, against the
 * real server's /graphql. The URL is read lazily, so the audit list can be built before the server
 * starts (vitest collects `it.each` rows before `beforeAll` runs).
 */
let server: TestServer | undefined;
const audits = serverAudits({ url: () => server!.http });

/** Every result, by audit id, so the last test can say how the whole suite went. */
const results = new Map<string, AuditResult>();

function describeFailure(result: AuditResult): string {
  return result.status === 'ok' ? 'ok' : `${result.status}: ${result.reason}`;
}

describe('GraphQL over HTTP: graphql-http server audits against /graphql', () => {
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('has audits to run', () => {
    expect(audits.length).toBeGreaterThan(30);
    expect(new Set(audits.map((a) => a.id)).size).toBe(audits.length);
  });

  it.each(audits.map((audit) => [audit.id, audit.name, audit] as const))('%s: the server meets "%s"', async (_id, _name, audit) => {
    const result = await audit.fn();
    results.set(audit.id, result);
    // Every audit passes outright: a MUST that fails is 'error', a SHOULD that fails is 'warn' and a
    // MAY is 'notice'; none of those is accepted here.
    expect(describeFailure(result)).toBe('ok');
  });

  it('passed every audit it ran', () => {
    const failed = [...results.values()].filter((r) => r.status !== 'ok').map((r) => `${r.id} ${r.name}: ${describeFailure(r)}`);
    expect(results.size).toBe(audits.length);
    expect(failed).toEqual([]);
  });
});
