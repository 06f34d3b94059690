import assert from 'node:assert/strict';
import { lchown, link, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GiB, MiB } from '../config/size.js';
import { flattenTar } from '../image/flatten-tar.js';
import { realRunner } from '../system/runner.js';
import { debugfsStat } from './debugfs.js';
import { tarOf } from '../../test/helpers/tar.js';
import {
  applyOwnership,
  buildExt4,
  ext4SizeFor,
  ownershipScript,
  treeBytes,
  type TreeMetadata,
} from './ext4.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banger-ext4-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('ext4SizeFor leaves half again the content, at least 1 GiB, in whole MiB', () => {
  assert.equal(ext4SizeFor(0), GiB);
  assert.equal(ext4SizeFor(600 * MiB), GiB);
  assert.equal(ext4SizeFor(800 * MiB), 1200 * MiB);
  assert.equal(ext4SizeFor(1000 * MiB + 1), 1501 * MiB);
});

test('treeBytes counts file sizes once per inode and 4 KiB per inode', async () => {
  const tree = join(dir, 'count');
  await mkdir(join(tree, 'sub'), { recursive: true });
  await writeFile(join(tree, 'sub/a'), Buffer.alloc(10_000));
  await link(join(tree, 'sub/a'), join(tree, 'b'));
  await symlink('/nowhere/very/large', join(tree, 'c'));
  // root, sub, a (once), c
  assert.equal(await treeBytes(tree), 4 * 4096 + 10_000);
});

test('buildExt4 fills the whole file it was asked for', async () => {
  const tree = join(dir, 'small');
  await mkdir(tree);
  await writeFile(join(tree, 'f'), 'x');
  const img = join(dir, 'size.ext4');
  await writeFile(img, Buffer.alloc(4096, 1)); // an old file there is replaced
  await buildExt4(tree, img, 256 * MiB, realRunner);
  assert.equal((await stat(img)).size, 256 * MiB);
  const { stdout } = await realRunner.run('dumpe2fs', ['-h', img]);
  const blocks = Number(/^Block count:\s+(\d+)/m.exec(stdout)?.[1]);
  const blockSize = Number(/^Block size:\s+(\d+)/m.exec(stdout)?.[1]);
  // The positional-size bug made this 25%.
  assert.ok(blocks * blockSize >= 0.95 * 256 * MiB, `${blocks} × ${blockSize}`);
  await assert.rejects(buildExt4(tree, img, 1 * MiB, realRunner), /too small/);
});

test('the ownership script is sorted, keeps type bits and skips hardlinks', () => {
  const metadata: TreeMetadata = new Map([
    ['usr/bin/sudoedit', { type: 'hardlink', uid: 0, gid: 0, mode: 0o4755 }],
    ['usr/bin/sudo', { type: 'file', uid: 0, gid: 0, mode: 0o4755 }],
    ['home/u', { type: 'directory', uid: 1000, gid: 1000, mode: 0o700 }],
    ['etc/alternatives/awk', { type: 'symlink', uid: 0, gid: 0, mode: 0o755 }],
    ['home/u/my file', { type: 'file', uid: 1000, gid: 1000, mode: 0o644 }],
  ]);
  assert.equal(
    ownershipScript(metadata).text(),
    [
      'sif /etc/alternatives/awk uid 0',
      'sif /etc/alternatives/awk gid 0',
      'sif /etc/alternatives/awk mode 0120777',
      'sif /home/u uid 1000',
      'sif /home/u gid 1000',
      'sif /home/u mode 040700',
      'sif "/home/u/my file" uid 1000',
      'sif "/home/u/my file" gid 1000',
      'sif "/home/u/my file" mode 0100644',
      'sif /usr/bin/sudo uid 0',
      'sif /usr/bin/sudo gid 0',
      'sif /usr/bin/sudo mode 0104755',
      '',
    ].join('\n'),
  );
  assert.equal(
    ownershipScript(metadata, (p) => p.startsWith('usr/'))
      .text()
      .split('\n').length,
    4,
  );
});

test('owners and setuid survive tar → tree → ext4 even when the tree is not owned right', async () => {
  const tree = join(dir, 'rootfs');
  await mkdir(tree);
  const metadata = await flattenTar(
    await tarOf([
      { name: './usr/bin/', type: 'directory', mode: 0o755 },
      { name: './usr/bin/sudo', mode: 0o4755, body: 'sudo' },
      { name: './home/u/', type: 'directory', mode: 0o750, uid: 1000, gid: 1000 },
      { name: './home/u/f', mode: 0o640, uid: 1000, gid: 1000, body: 'f' },
    ]),
    tree,
  );
  // An unprivileged extraction leaves the builder's uid on everything: make that true here.
  if (process.getuid?.() === 0) {
    for (const p of ['usr', 'usr/bin', 'usr/bin/sudo', 'home', 'home/u', 'home/u/f']) {
      await lchown(join(tree, p), 12345, 12345);
    }
  }
  const img = join(dir, 'rootfs.ext4');
  await buildExt4(tree, img, ext4SizeFor(await treeBytes(tree)), realRunner);
  assert.notEqual((await debugfsStat(img, '/usr/bin/sudo', realRunner))?.uid, 0);

  await applyOwnership(img, metadata, realRunner);
  const at = (path: string) => debugfsStat(img, path, realRunner);
  assert.deepEqual(await at('/usr/bin/sudo'), { uid: 0, gid: 0, mode: 0o104755, type: 'file' });
  assert.deepEqual(await at('/usr/bin'), { uid: 0, gid: 0, mode: 0o40755, type: 'directory' });
  assert.deepEqual(await at('/home/u'), {
    uid: 1000,
    gid: 1000,
    mode: 0o40750,
    type: 'directory',
  });
  assert.deepEqual(await at('/home/u/f'), {
    uid: 1000,
    gid: 1000,
    mode: 0o100640,
    type: 'file',
  });
  assert.equal((await at('/'))?.uid, 0);
});
