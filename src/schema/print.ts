import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printSdl } from './index.ts';

/** schema/schema.graphql, the checked-in SDL that clients and codegen read. */
export const SDL_PATH = fileURLToPath(new URL('../../schema/schema.graphql', import.meta.url));

/** `tsx src/schema/print.ts` writes it; `--check` exits 1 when the file is out of date. */
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const sdl = printSdl();
  if (process.argv.includes('--check')) {
    const current = readFileSync(SDL_PATH, 'utf8');
    if (current !== sdl) {
      console.error('schema/schema.graphql is out of date; run npm run generate');
      process.exitCode = 1;
    }
  } else {
    writeFileSync(SDL_PATH, sdl);
    console.log(`wrote ${SDL_PATH}`);
  }
}
