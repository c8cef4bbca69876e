import { afterEach, describe, expect, it, vi } from 'vitest';
import { CHROMIUM, requireChromium } from './browser.ts';

describe('requireChromium', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('gives the path of the machine\'s Chromium', () => {
    expect(requireChromium('these tests', { FLOWCAST_REQUIRE_SERVICES: '1' }, (path) => path === CHROMIUM)).toBe(CHROMIUM);
  });

  it('says why it skips when there is none', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(requireChromium('the browser tests', {}, () => false)).toBeUndefined();
    expect(warn).toHaveBeenCalledWith('skipping the browser tests: Chromium is not installed at /usr/bin/chromium: install it with apt-get install -y chromium');
  });

  it('fails instead when FLOWCAST_REQUIRE_SERVICES=1', () => {
    expect(() => requireChromium('the browser tests', { FLOWCAST_REQUIRE_SERVICES: '1' }, () => false)).toThrow(
      'cannot run the browser tests: Chromium is not installed at /usr/bin/chromium: install it with apt-get install -y chromium (FLOWCAST_REQUIRE_SERVICES=1 makes a missing service an error instead of a skip)',
    );
  });
});
