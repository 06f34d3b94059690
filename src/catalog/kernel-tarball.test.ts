import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, test } from 'node:test';
import tar from 'tar-stream';
import { BangerError } from '../errors.js';
import { realRunner } from '../system/runner.js';
import { extractKernelTarball } from './kernel-tarball.js';

let dir = '';
let n = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banger-kernel-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Member =
  | [name: string, body: string]
  | [name: string, type: 'dir' | 'link' | 'hard' | 'fifo', target?: string];

async function kernelTarball(members: Member[]): Promise<{ file: string; dest: string }> {
  n += 1;
  const file = join(dir, `k${n}.tar.zst`);
  const dest = join(dir, `staging${n}`);
  await mkdir(dest);
  const pack = tar.pack();
  for (const [name, kind, target] of members) {
    if (kind === 'dir') pack.entry({ name, type: 'directory', mode: 0o755 });
    else if (kind === 'link') pack.entry({ name, type: 'symlink', linkname: target ?? '' });
    else if (kind === 'hard') pack.entry({ name, type: 'link', linkname: target ?? '' });
    else if (kind === 'fifo') pack.entry({ name, type: 'fifo' });
    else pack.entry({ name, mode: 0o644 }, kind);
  }
  pack.finalize();
  const zstd = realRunner.stream('zstd', ['-c']);
  await Promise.all([
    pipeline(pack, zstd.stdin),
    pipeline(zstd.stdout, createWriteStream(file)),
    zstd.done,
  ]);
  return { file, dest };
}

async function rejected(members: Member[], message: RegExp): Promise<string> {
  const { file, dest } = await kernelTarball(members);
  const err = await extractKernelTarball(file, dest, realRunner).catch((e: unknown) => e);
  assert.ok(err instanceof BangerError, `expected a BangerError, got ${String(err)}`);
  assert.match(err.message, new RegExp(`^kernel tarball ${file}: `));
  assert.match(err.message, message);
  assert.deepEqual(await readdir(dest), [], 'what was written is removed');
  return dest;
}

test('a kernel tarball extracts files, dirs and absolute symlinks', async () => {
  const { file, dest } = await kernelTarball([
    ['./', 'dir'],
    ['vmlinux', 'KERNEL'],
    ['initrd.img', 'INITRD'],
    ['lib/modules/6.1.0/', 'dir'],
    ['lib/modules/6.1.0/kernel/x.ko', 'MODULE'],
    ['lib/modules/6.1.0/build', 'link', '/usr/src/x'],
    ['lib/modules/6.1.0/source', 'link', 'build'],
    ['lib/modules/6.1.0/kernel/y.ko', 'hard', 'lib/modules/6.1.0/kernel/x.ko'],
    ['lib/modules/6.1.0/pipe', 'fifo'],
  ]);
  const paths = await extractKernelTarball(file, dest, realRunner);
  assert.deepEqual(paths, {
    kernel: join(dest, 'vmlinux'),
    initrd: join(dest, 'initrd.img'),
    modulesDir: join(dest, 'lib/modules/6.1.0'),
  });
  assert.equal(await readFile(paths.kernel, 'utf8'), 'KERNEL');
  assert.equal(await readFile(join(dest, 'lib/modules/6.1.0/kernel/x.ko'), 'utf8'), 'MODULE');
  // Absolute targets resolve inside the guest, so they are kept as they are.
  assert.equal(await readlink(join(dest, 'lib/modules/6.1.0/build')), '/usr/src/x');
  assert.equal(await readlink(join(dest, 'lib/modules/6.1.0/source')), 'build');
  // Hard links and fifos are skipped.
  assert.deepEqual((await readdir(join(dest, 'lib/modules/6.1.0/kernel'))).sort(), ['x.ko']);
  assert.deepEqual((await readdir(join(dest, 'lib/modules/6.1.0'))).sort(), [
    'build',
    'kernel',
    'source',
  ]);
});

test('a Debian-style tree is found under boot/ and matched by version', async () => {
  const v = '6.1.0-28-cloud-amd64';
  const { file, dest } = await kernelTarball([
    ['vmlinuz', 'link', `boot/vmlinuz-${v}`],
    [`boot/vmlinuz-${v}`, 'KERNEL'],
    [`boot/initrd.img-${v}`, 'INITRD'],
    ['boot/initrd.img-6.1.0-9-cloud-amd64', 'OLD'],
    [`lib/modules/${v}/modules.dep`, ''],
    ['lib/modules/6.1.0-9-cloud-amd64/modules.dep', ''],
  ]);
  assert.deepEqual(await extractKernelTarball(file, dest, realRunner), {
    kernel: join(dest, `boot/vmlinuz-${v}`),
    initrd: join(dest, `boot/initrd.img-${v}`),
    modulesDir: join(dest, `lib/modules/${v}`),
  });
  assert.equal((await stat(join(dest, 'vmlinuz'))).isFile(), true, 'the symlink resolves inside');
});

test('a relative symlink escaping the root is rejected', async () => {
  await rejected(
    [
      ['vmlinux', 'KERNEL'],
      ['lib/modules/6.1.0/kernel/x.ko', 'MODULE'],
      ['lib/modules/6.1.0/evil', 'link', '../../../../etc'],
    ],
    /unsafe symlink lib\/modules\/6\.1\.0\/evil -> \.\.\/\.\.\/\.\.\/\.\.\/etc points outside/,
  );
  await rejected([['up', 'link', '..']], /unsafe symlink up -> \.\. points outside/);
});

test('nothing is written through a symlink from the archive', async () => {
  const outside = join(dir, 'outside');
  await mkdir(outside);
  await rejected(
    [
      ['vmlinux', 'KERNEL'],
      ['lib', 'link', outside],
      ['lib/modules/evil.ko', 'PWNED'],
    ],
    /lib\/modules\/evil\.ko is inside the symlink lib$/,
  );
  assert.deepEqual(await readdir(outside), []);
});

test('unsafe member paths and duplicates are rejected', async () => {
  await rejected(
    [
      ['vmlinux', 'K'],
      ['../vmlinux', 'K'],
    ],
    /unsafe member path "\.\.\/vmlinux"$/,
  );
  await rejected(
    [
      ['vmlinux', 'K'],
      ['/etc/passwd', 'x'],
    ],
    /unsafe member path "\/etc\/passwd"$/,
  );
  await rejected([['a/../../b', 'x']], /unsafe member path "a\/\.\.\/\.\.\/b"$/);
  await rejected(
    [
      ['vmlinux', 'K'],
      ['./vmlinux', 'K'],
    ],
    /"\.\/vmlinux" appears twice$/,
  );
});

test('a tarball without a kernel is rejected', async () => {
  await rejected(
    [
      ['initrd.img', 'INITRD'],
      ['lib/modules/6.1.0/kernel/x.ko', 'MODULE'],
      ['boot/config-6.1.0', 'CONFIG'],
    ],
    /no kernel: expected vmlinux or vmlinuz at the top, or boot\/vmlinuz-\*$/,
  );
});
