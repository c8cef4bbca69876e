import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (apt-get install chromium); the tests never download a browser. */
export const CHROMIUM = '/usr/bin/chromium';
/** Screenshots of the browser tests, for a person to look at (gitignored). */
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/web/', import.meta.url));

/**
 * The Chromium to drive, for `describe.skipIf(path === undefined)`. When there is none, prints why
 * `what` is skipped and returns undefined, unless FLOWCAST_REQUIRE_SERVICES=1 (CI): then it throws,
 * which fails the test file that called it.
 */
export function requireChromium(what: string, env: Record<string, string | undefined> = process.env, exists: (path: string) => boolean = existsSync): string | undefined {
  if (exists(CHROMIUM)) return CHROMIUM;
  const reason = `Chromium is not installed at ${CHROMIUM}: install it with apt-get install -y chromium`;
  if (env['FLOWCAST_REQUIRE_SERVICES'] === '1') throw new Error(`cannot run ${what}: ${reason} (FLOWCAST_REQUIRE_SERVICES=1 makes a missing service an error instead of a skip)`);
  console.warn(`skipping ${what}: ${reason}`);
  return undefined;
}

export interface Browser {
  /** A new tab of `width` × `height` (default 1280 × 800). */
  page(viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile, deleted on close. */
export async function openBrowser(executablePath: string): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'flowcast-chromium-'));
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const errors: string[] = [];
  return {
    async page(viewport = { width: 1280, height: 800 }) {
      const page = await context.newPage();
      await page.setViewportSize(viewport);
      page.on('pageerror', (error) => {
        errors.push(error.message);
        console.error(`browser page error: ${error.message}`);
      });
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a screenshot under test-artifacts/web and prints where. */
export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: options.fullPage ?? false });
  console.log(`screenshot: ${relative(process.cwd(), path)}`);
  return path;
}
