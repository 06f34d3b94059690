#!/usr/bin/env node
// Builds dist/ (the integration and e2e tests run the real CLI and daemon from it), then runs
// every test file through node:test with tsx. Files are listed explicitly: `tsx --test`
// without paths finds none on Node 20. `--coverage` wraps the run in c8 and prints the total.
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const coverage = args.includes('--coverage');
const filters = args.filter((a) => !a.startsWith('--'));

function find(dir) {
  let out = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out = out.concat(find(path));
    else if (entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

function run(cmd, cmdArgs) {
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit', env: process.env });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

run(process.execPath, [join(root, 'scripts/build.mjs')]);

const files = ['src', 'test']
  .flatMap((d) => find(d))
  .filter((f) => filters.length === 0 || filters.some((p) => f.includes(p)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
console.log(`running ${files.length} test files`);
// e2e files share artefacts built once per run (the golden image) under this run's name.
process.env.BANGER_TEST_RUN = `${Date.now()}-${process.pid}`;
const runDir = join(tmpdir(), `banger-e2e-${process.env.BANGER_TEST_RUN}`);
process.on('exit', () => rmSync(runDir, { recursive: true, force: true }));
const nodeTest = [
  process.execPath,
  '--import',
  'tsx',
  '--test',
  '--test-concurrency=2',
  ...files.map((f) => relative(root, join(root, f))),
];
if (coverage) {
  // dist/ is mapped back to src/ through its source maps; node_modules stays out.
  run(process.execPath, [
    join(root, 'node_modules/c8/bin/c8.js'),
    '--all',
    '--exclude-after-remap',
    '--src',
    'src',
    '--include',
    'src/**',
    '--exclude',
    '**/*.test.ts',
    '--reporter',
    'text-summary',
    '--reporter',
    'html',
    ...nodeTest,
  ]);
} else {
  run(nodeTest[0], nodeTest.slice(1));
}
