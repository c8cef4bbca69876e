import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/** The live view: client/web → dist/web, served by the server at / (see src/server/static.ts). */
export default defineConfig({
  root: here('.'),
  base: '/',
  publicDir: here('public'),
  logLevel: 'warn',
  // React's automatic JSX runtime, compiled by Vite's own transform: no React plugin needed for a build.
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: here('../../dist/web'),
    emptyOutDir: true,
    target: 'es2022',
    // React, the canvas and GraphQL make one ~600 kB script (~190 kB gzipped), served from disk.
    chunkSizeWarningLimit: 1_000,
    rollupOptions: {
      onwarn(warning, warn) {
        // @xyflow/react starts with "use client" (for React Server Components), which means nothing here.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
});
