import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CacheName } from '../config/layout.js';
import { debugfsCat } from '../disk/debugfs.js';
import type { KernelRecord } from '../store/kernels.js';
import { realRunner } from '../system/runner.js';
import { ensureModulesDisk, modulesDiskPath, removeModulesDisk } from './modules-disk.js';

let dir: string;
let kernel: KernelRecord;
const stages: string[] = [];
const op = { signal: new AbortController().signal, progress: (s: string) => void stages.push(s) };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banger-modules-'));
  const tree = join(dir, 'kernel', 'modules');
  await mkdir(join(tree, 'kernel/drivers/char'), { recursive: true });
  await writeFile(join(tree, 'modules.dep'), 'kernel/drivers/char/virtio_console.ko:\n');
  await writeFile(join(tree, 'kernel/drivers/char/virtio_console.ko'), 'not really an ELF');
  kernel = {
    id: 'k1',
    name: 'cloud',
    version: '6.1.0',
    source: 'test',
    dir: join(dir, 'kernel'),
    kernelFile: join(dir, 'kernel', 'vmlinux'),
    initrdFile: null,
    modulesDir: tree,
    sha256: '0',
    managed: true,
    createdAt: new Date().toISOString(),
  };
});
after(async () => rm(dir, { recursive: true, force: true }));

test("a kernel's modules become an ext4 holding its tree, made once", async () => {
  const layout = { cacheDir: join(dir, 'cache') };
  // A killed daemon's half-made disk is cleared by the next build.
  const folder = join(layout.cacheDir, CacheName.kernelModules);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'k0.ext4.1234abcd.staging'), 'half');

  const disk = await ensureModulesDisk(layout, realRunner, kernel, op);
  assert.equal(disk, modulesDiskPath(layout, kernel));
  assert.equal(
    (await debugfsCat(disk, '/modules.dep', realRunner)).toString(),
    'kernel/drivers/char/virtio_console.ko:\n',
  );
  assert.deepEqual(await readdir(folder), ['k1.ext4']);
  assert.deepEqual(stages, ['modules']);

  const made = (await stat(disk)).mtimeMs;
  assert.equal(await ensureModulesDisk(layout, realRunner, kernel, op), disk);
  assert.equal((await stat(disk)).mtimeMs, made, 'the second call reuses it');
  assert.deepEqual(stages, ['modules']);

  await removeModulesDisk(layout, kernel);
  assert.deepEqual(await readdir(folder), []);
});

test('a kernel without a module tree has no modules disk', async () => {
  const layout = { cacheDir: join(dir, 'cache2') };
  assert.equal(
    await ensureModulesDisk(layout, realRunner, { ...kernel, modulesDir: null }, op),
    undefined,
  );
});
