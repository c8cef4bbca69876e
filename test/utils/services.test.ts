import { afterEach, describe, expect, it, vi } from 'vitest';
import { requireService } from './services.ts';

describe('requireService', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('gives the URL of a configured service, trimmed', () => {
    expect(requireService('DATABASE_URL', 'these tests', { DATABASE_URL: ' postgres://db/x ', FLOWCAST_REQUIRE_SERVICES: '1' })).toBe('postgres://db/x');
  });

  it('says why it skips when the service is not configured', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(requireService('REDIS_URL', 'the Redis pub/sub tests', { REDIS_URL: '  ' })).toBeUndefined();
    expect(warn).toHaveBeenCalledWith('skipping the Redis pub/sub tests: Redis is not configured: set REDIS_URL, e.g. redis://127.0.0.1:6379');
  });

  it('fails instead when FLOWCAST_REQUIRE_SERVICES=1', () => {
    expect(() => requireService('DATABASE_URL', 'the PostgreSQL store tests', { FLOWCAST_REQUIRE_SERVICES: '1' })).toThrow(
      'cannot run the PostgreSQL store tests: PostgreSQL is not configured: set DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/test (FLOWCAST_REQUIRE_SERVICES=1 makes a missing service an error instead of a skip)',
    );
  });
});
