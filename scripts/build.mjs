#!/usr/bin/env node
// Builds dist/ with esbuild: one bundle per entry (the CLI and bangerd) plus shared chunks for
// the modules the CLI loads on demand. Node 20's ESM loader pays ~1 ms per module and the CLI
// has ~80, so bundling is what keeps `banger --help` and `banger vm ls` fast (BENCHMARKS.md).
// Type checking stays with tsc (`npm run typecheck`).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';

const root = new URL('..', import.meta.url).pathname;
await rm(`${root}dist`, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: {
    'cli/main': 'src/cli/main.ts',
    'daemon/main': 'src/daemon/main.ts',
    // The SDK (`import { Banger } from 'banger'`): package.json's exports.
    'sdk/index': 'src/sdk/index.ts',
  },
  outdir: 'dist',
  // Chunks live one level below dist/, like the entries, so `../daemon/main.js` resolves
  // from either (see cli/daemon-spawn.ts).
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  sourcemap: true,
  // The native SQLite binding must be loaded from node_modules.
  external: ['better-sqlite3'],
  // Bundled CommonJS dependencies call require(); give them a real one.
  banner: {
    js: "import { createRequire as __bangerRequire } from 'node:module'; const require = __bangerRequire(import.meta.url);",
  },
  logLevel: 'warning',
});

// The SDK's type declarations (dist/types/), from the same sources.
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', `${root}tsconfig.sdk.json`], { stdio: 'inherit' });
