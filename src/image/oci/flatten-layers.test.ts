import assert from 'node:assert/strict';
import { lchown, lstat, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { GiB, MiB } from '../../config/size.js';
import { debugfsCat, debugfsStat } from '../../disk/debugfs.js';
import { applyOwnership, buildExt4 } from '../../disk/ext4.js';
import { BangerError, ErrorCode } from '../../errors.js';
import { realRunner } from '../../system/runner.js';
import { flattenLayers, imageSizeFor, type FlattenedImage, type Layer } from './flatten-layers.js';
import { MEDIA, layerOf, listTree } from '../../../test/helpers/layers.js';
import { scratch } from '../../../test/helpers/scratch.js';

const asRoot = process.getuid?.() === 0;
const tmp = scratch('banger-layers-');
const freshDir = () => tmp.freshRoot();

/** A Debian-like lower layer, then two that whiteout, opaque, replace and link across. */
async function threeLayers(): Promise<Layer[]> {
  const lower = await layerOf(tmp.dir, [
    { name: './', type: 'directory', mode: 0o755 },
    { name: './etc/', type: 'directory', mode: 0o755 },
    { name: './etc/passwd', mode: 0o644, body: 'root:x:0:0::/root:/bin/sh\n' },
    { name: './etc/hosts', mode: 0o644, body: '127.0.0.1 localhost\n' },
    { name: './usr/bin/', type: 'directory', mode: 0o755 },
    { name: './usr/bin/sh', mode: 0o755, body: '#!sh' },
    { name: './usr/bin/sudo', mode: 0o4755, body: 'sudo' },
    { name: './usr/bin/sudoedit', type: 'link', linkname: './usr/bin/sudo' },
    { name: './usr/lib/systemd/systemd', mode: 0o755, body: 'systemd' },
    { name: './bin', type: 'symlink', linkname: 'usr/bin' },
    { name: './lib', type: 'symlink', linkname: 'usr/lib' },
    { name: './sbin/init', type: 'symlink', linkname: '/lib/systemd/systemd' },
    { name: './opt/tool/a', body: 'a' },
    { name: './opt/tool/sub/b', body: 'b' },
    { name: './var/cache/apt/', type: 'directory', mode: 0o755 },
    { name: './var/cache/apt/pkgcache.bin', body: 'old' },
    { name: './var/cache/apt/archives/partial/x.deb', body: 'old' },
    { name: './data/old', body: 'old' },
    { name: './conf', body: 'a file' },
    { name: './alias', body: 'a file' },
    { name: './.dockerenv', body: '' },
    { name: './run/.containerenv', body: '' },
    { name: './dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 },
    { name: './dev/sda', type: 'block-device', mode: 0o660, devmajor: 8, devminor: 0 },
    { name: './run/initctl', type: 'fifo', mode: 0o600 },
  ]);
  const middle = await layerOf(
    tmp.dir,
    [
      { name: 'etc/.wh.hosts', body: '' },
      { name: 'opt/.wh.tool', body: '' },
      { name: 'var/cache/apt/new.bin', body: 'new' },
      // After the layer's own member: an opaque directory keeps what its layer adds.
      { name: 'var/cache/apt/.wh..wh..opq', body: '' },
      { name: 'usr/bin/sudoedit2', type: 'link', linkname: 'usr/bin/sudoedit' },
      { name: 'home/u/', type: 'directory', mode: 0o700, uid: 1000, gid: 1000 },
      { name: 'home/u/f', mode: 0o600, uid: 1000, gid: 1000, body: 'mine' },
      { name: 'home/u/f2', type: 'link', linkname: 'home/u/f', uid: 1000, gid: 1000 },
    ],
    MEDIA.zstd,
  );
  const upper = await layerOf(
    tmp.dir,
    [
      { name: 'data', body: 'a file now' }, // a directory becomes a file
      { name: 'conf/', type: 'directory', mode: 0o755 }, // a file becomes a directory
      { name: 'conf/x', body: 'x' },
      { name: 'alias', type: 'symlink', linkname: '/etc/passwd' }, // a file becomes a symlink
      { name: 'usr/bin/.wh.sudo', body: '' }, // its hardlinks keep the inode and its owner
    ],
    MEDIA.tar,
  );
  return [lower, middle, upper];
}

test('three layers: whiteouts, an opaque directory, replacements, links and owners', async () => {
  const dest = await freshDir();
  const image = await flattenLayers(await threeLayers(), dest, { runner: realRunner });

  const tree = [
    'alias ->',
    'bin ->',
    'conf/',
    'conf/x',
    'data',
    'etc/',
    'etc/passwd',
    'home/',
    'home/u/',
    'home/u/f',
    'home/u/f2',
    'lib ->',
    'opt/',
    'run/',
    'sbin/',
    'sbin/init ->',
    'usr/',
    'usr/bin/',
    'usr/bin/sh',
    'usr/bin/sudoedit',
    'usr/bin/sudoedit2',
    'usr/lib/',
    'usr/lib/systemd/',
    'usr/lib/systemd/systemd',
    'var/',
    'var/cache/',
    'var/cache/apt/',
    'var/cache/apt/new.bin',
  ];
  assert.deepEqual(await listTree(dest), tree);
  // The metadata describes exactly the final tree: nothing deleted lingers, nothing is unowned.
  assert.deepEqual(
    [...image.metadata.keys()].sort(),
    tree.map((p) => p.replace(/\/$| ->$/, '')),
  );

  // The whiteout took sudo; its hardlinks inherit the inode's owner and setuid mode.
  const setuidRoot = { type: 'file', uid: 0, gid: 0, mode: 0o4755 };
  assert.deepEqual(image.metadata.get('usr/bin/sudoedit'), setuidRoot);
  assert.deepEqual(image.metadata.get('usr/bin/sudoedit2'), {
    type: 'hardlink',
    uid: 0,
    gid: 0,
    mode: 0o644,
    linkTarget: 'usr/bin/sudoedit',
  });
  const sudoedit = await lstat(join(dest, 'usr/bin/sudoedit'));
  assert.equal(sudoedit.mode & 0o7777, 0o4755);
  assert.equal(sudoedit.nlink, 2);
  assert.equal((await lstat(join(dest, 'usr/bin/sudoedit2'))).ino, sudoedit.ino);
  assert.equal(
    (await lstat(join(dest, 'home/u/f2'))).ino,
    (await lstat(join(dest, 'home/u/f'))).ino,
  );
  assert.deepEqual(image.metadata.get('home/u'), {
    type: 'directory',
    uid: 1000,
    gid: 1000,
    mode: 0o700,
  });
  // Parents no layer listed are root's 0755, as Docker makes them.
  assert.deepEqual(image.metadata.get('opt'), { type: 'directory', uid: 0, gid: 0, mode: 0o755 });
  if (asRoot) {
    assert.equal(sudoedit.uid, 0);
    const f = await lstat(join(dest, 'home/u/f'));
    assert.deepEqual([f.uid, f.gid], [1000, 1000]);
  }

  assert.equal(await readFile(join(dest, 'data'), 'utf8'), 'a file now');
  assert.equal(await readlink(join(dest, 'alias')), '/etc/passwd');
  assert.equal(image.metadata.get('alias')?.type, 'symlink');
  assert.equal(image.hasShell, true); // /bin -> usr/bin
  assert.deepEqual(image.init, { path: '/sbin/init', target: '/usr/lib/systemd/systemd' });
  // 4 KiB an inode (the root too, hardlinks once) and the files' bytes.
  const inodes = tree.length + 1 - 2;
  assert.ok(image.treeBytes > inodes * 4096, String(image.treeBytes));
  assert.ok(image.treeBytes < (inodes + 1) * 4096, String(image.treeBytes));
});

test('the flattened tree becomes an ext4 with owners and setuid applied by debugfs', async () => {
  const dest = await freshDir();
  const image = await flattenLayers(await threeLayers(), dest, { runner: realRunner });
  // An unprivileged flatten leaves the builder's uid on everything: make that true here.
  if (asRoot) for (const path of image.metadata.keys()) await lchown(join(dest, path), 4321, 4321);
  const img = join(dest, '..', 'rootfs.ext4');
  await buildExt4(dest, img, imageSizeFor(image.treeBytes), realRunner);
  await applyOwnership(img, image.metadata, realRunner);

  const at = (path: string) => debugfsStat(img, path, realRunner);
  assert.deepEqual(await at('/usr/bin/sudoedit2'), {
    uid: 0,
    gid: 0,
    mode: 0o104755,
    type: 'file',
  });
  assert.deepEqual(await at('/home/u/f'), { uid: 1000, gid: 1000, mode: 0o100600, type: 'file' });
  assert.equal((await at('/opt'))?.uid, 0);
  assert.equal((await at('/alias'))?.type, 'symlink');
  assert.equal(await at('/etc/hosts'), undefined);
  assert.equal(await at('/.dockerenv'), undefined);
  assert.equal(await at('/dev/null'), undefined);
  assert.equal(
    (await debugfsCat(img, '/etc/passwd', realRunner)).toString(),
    'root:x:0:0::/root:/bin/sh\n',
  );
});

test('gzip of either vendor, no shell, no init', async () => {
  const dest = await freshDir();
  const image: FlattenedImage = await flattenLayers(
    [
      await layerOf(
        tmp.dir,
        [{ name: 'usr/bin/busybox', mode: 0o755, body: 'bb' }],
        MEDIA.dockerGzip,
      ),
    ],
    dest,
    { runner: realRunner },
  );
  assert.deepEqual(await listTree(dest), ['usr/', 'usr/bin/', 'usr/bin/busybox']);
  assert.equal(image.hasShell, false);
  assert.equal(image.init, undefined);
});

test('imageSizeFor: tree × 1.5, at least 1 GiB, or what was asked if the tree fits', () => {
  assert.equal(imageSizeFor(0), GiB);
  assert.equal(imageSizeFor(1000 * MiB), 1500 * MiB);
  assert.equal(imageSizeFor(1000 * MiB, 2 * GiB), 2 * GiB);
  assert.throws(
    () => imageSizeFor(1000 * MiB, 1000 * MiB),
    (err: unknown) =>
      err instanceof BangerError &&
      err.code === ErrorCode.InvalidParams &&
      /too small for this image.*--size 1500M/.test(err.message),
  );
});

test('a link to its own former inode; a marker below a symlinked /run is left', async () => {
  const dest = await freshDir();
  const image = await flattenLayers(
    [
      await layerOf(tmp.dir, [
        { name: 'a', mode: 0o4750, body: 'x' },
        { name: 'b', type: 'link', linkname: 'a' },
        { name: 'var/run/.containerenv', body: '' },
        { name: 'run', type: 'symlink', linkname: 'var/run' },
      ]),
      await layerOf(tmp.dir, [{ name: 'a', type: 'link', linkname: 'b' }], MEDIA.zstd),
    ],
    dest,
    { runner: realRunner },
  );
  // Not looked for through the link: the extractor follows none (see flattenLayers).
  assert.deepEqual(await listTree(dest), [
    'a',
    'b',
    'run ->',
    'var/',
    'var/run/',
    'var/run/.containerenv',
  ]);
  assert.deepEqual(image.metadata.get('b'), { type: 'file', uid: 0, gid: 0, mode: 0o4750 });
  assert.equal(image.metadata.get('a')?.linkTarget, 'b');
  assert.equal((await lstat(join(dest, 'a'))).ino, (await lstat(join(dest, 'b'))).ino);
});
