import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const ROOT = here('../../');

/** Where the built live view goes; the server serves it (Config.webDir). */
export const WEB_OUT = join(ROOT, 'dist', 'web');
/** Written last into WEB_OUT: the hash of what it was built from. The server serves no dotfiles. */
const STAMP = '.build-stamp';
/** What the build depends on: the view, the typed client it uses, and the locked dependency versions. */
const INPUTS = ['client/web/index.html', 'client/web/vite.config.ts', 'client/web/public', 'client/web/src', 'client/sdk', 'package-lock.json'];

function files(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => (entry.isDirectory() ? files(join(path, entry.name)) : [join(path, entry.name)]));
}

/** A hash of every input file's path and content. */
export function sourceHash(): string {
  const hash = createHash('sha256');
  for (const file of INPUTS.flatMap((input) => files(join(ROOT, input)))) {
    hash.update(relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

/** Whether dist/web was built from the sources as they are now. */
export function isWebBuildFresh(hash = sourceHash()): boolean {
  try {
    return readFileSync(join(WEB_OUT, STAMP), 'utf8') === hash;
  } catch {
    return false;
  }
}

/**
 * Builds client/web into dist/web with Vite, unless dist/web was built from the same sources
 * (`force` builds anyway). The build goes to a directory of its own and replaces dist/web at the end,
 * so a server (or a second build running at once) never sees half a build. Resolves with what it
 * did; rejects when the build fails.
 */
export async function ensureWebBuilt(options: { force?: boolean; log?: (line: string) => void } = {}): Promise<'built' | 'fresh'> {
  const log = options.log ?? (() => undefined);
  const hash = sourceHash();
  if (!options.force && isWebBuildFresh(hash)) return 'fresh';
  const started = performance.now();
  const temp = join(ROOT, 'dist', `.web-${process.pid}-${Date.now().toString(36)}`);
  const { build } = await import('vite');
  try {
    await build({ configFile: here('vite.config.ts'), logLevel: 'warn', build: { outDir: temp, emptyOutDir: true } });
    writeFileSync(join(temp, STAMP), hash);
    const old = `${temp}-old`;
    if (existsSync(WEB_OUT)) renameSync(WEB_OUT, old);
    renameSync(temp, WEB_OUT);
    rmSync(old, { recursive: true, force: true });
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    // Another build that finished first from the same sources is as good as this one.
    if (isWebBuildFresh(hash)) return 'built';
    throw error;
  }
  log(`flowcast: built the live view into ${relative(process.cwd(), WEB_OUT) || WEB_OUT} in ${Math.round(performance.now() - started)} ms`);
  return 'built';
}

// `tsx client/web/build.ts [--force]`: npm's prepare and prestart scripts, and npm run build:web.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  ensureWebBuilt({ force: process.argv.includes('--force'), log: console.log }).catch((error: unknown) => {
    console.error('flowcast: building the live view failed:', error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
