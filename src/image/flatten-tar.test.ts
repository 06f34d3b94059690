import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { BangerError, ErrorCode } from '../errors.js';
import { flattenTar } from './flatten-tar.js';
import { scratch } from '../../test/helpers/scratch.js';
import { tarOf, type TarMember } from '../../test/helpers/tar.js';

const asRoot = process.getuid?.() === 0;
const tmp = scratch('banger-flatten-');
const freshDir = () => tmp.freshRoot();

test('a rootfs tar is extracted with owners and modes captured', async () => {
  const dest = await freshDir();
  const metadata = await flattenTar(
    await tarOf([
      { name: './', type: 'directory', mode: 0o755 },
      { name: './etc/', type: 'directory', mode: 0o755 },
      { name: './etc/passwd', mode: 0o644, body: 'root:x:0:0::/root:/bin/sh\n' },
      { name: './usr/bin/', type: 'directory', mode: 0o755 },
      { name: './usr/bin/sudo', mode: 0o4755, body: 'sudo' },
      { name: './usr/bin/sudoedit', type: 'link', linkname: './usr/bin/sudo' },
      { name: './usr/bin/mawk', mode: 0o755, body: 'mawk' },
      { name: './etc/alternatives/awk', type: 'symlink', linkname: '/usr/bin/mawk' },
      { name: 'etc/awk', type: 'symlink', linkname: '../usr/bin/mawk' },
      { name: './home/u/', type: 'directory', mode: 0o700, uid: 1000, gid: 1000 },
      { name: './home/u/f', mode: 0o600, uid: 1000, gid: 1000, body: 'mine' },
      { name: './dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 },
      { name: './run/initctl', type: 'fifo', mode: 0o600 },
    ]),
    dest,
  );

  assert.deepEqual([...metadata.keys()].sort(), [
    'etc',
    'etc/alternatives/awk',
    'etc/awk',
    'etc/passwd',
    'home/u',
    'home/u/f',
    'usr/bin',
    'usr/bin/mawk',
    'usr/bin/sudo',
    'usr/bin/sudoedit',
  ]);
  assert.deepEqual(metadata.get('usr/bin/sudo'), { type: 'file', uid: 0, gid: 0, mode: 0o4755 });
  assert.deepEqual(metadata.get('home/u'), {
    type: 'directory',
    uid: 1000,
    gid: 1000,
    mode: 0o700,
  });
  assert.equal(metadata.get('usr/bin/sudoedit')?.type, 'hardlink');
  assert.equal(metadata.get('etc/alternatives/awk')?.linkTarget, '/usr/bin/mawk');

  assert.equal(await readFile(join(dest, 'etc/passwd'), 'utf8'), 'root:x:0:0::/root:/bin/sh\n');
  assert.equal(await readlink(join(dest, 'etc/alternatives/awk')), '/usr/bin/mawk');
  const sudo = await lstat(join(dest, 'usr/bin/sudo'));
  assert.equal(sudo.mode & 0o7777, 0o4755);
  assert.equal((await lstat(join(dest, 'usr/bin/sudoedit'))).ino, sudo.ino);
  assert.equal((await lstat(join(dest, 'home/u'))).mode & 0o7777, 0o700);
  assert.equal((await lstat(join(dest, 'etc/alternatives'))).mode & 0o7777, 0o755);
  assert.deepEqual((await readdir(dest)).sort(), ['etc', 'home', 'usr']);
  if (asRoot) {
    const f = await lstat(join(dest, 'home/u/f'));
    assert.deepEqual([f.uid, f.gid], [1000, 1000]);
  }
});

test('a read-only directory is extracted with its children', async () => {
  const dest = await freshDir();
  await flattenTar(
    await tarOf([
      { name: 'ro/', type: 'directory', mode: 0o555 },
      { name: 'ro/sub/', type: 'directory', mode: 0o555 },
      { name: 'ro/sub/f', mode: 0o444, body: 'x' },
      { name: 'ro/g', mode: 0o644, body: 'y' },
    ]),
    dest,
  );
  assert.equal((await lstat(join(dest, 'ro'))).mode & 0o7777, 0o555);
  assert.equal((await lstat(join(dest, 'ro/sub'))).mode & 0o7777, 0o555);
  assert.equal(await readFile(join(dest, 'ro/sub/f'), 'utf8'), 'x');
  await chmod(join(dest, 'ro/sub'), 0o755); // so the cleanup can remove it unprivileged
  await chmod(join(dest, 'ro'), 0o755);
});

async function rejected(members: TarMember[], message: RegExp, outside?: string): Promise<void> {
  const dest = await freshDir();
  await assert.rejects(
    flattenTar(await tarOf(members), dest),
    (err: unknown) =>
      err instanceof BangerError &&
      err.code === ErrorCode.InvalidParams &&
      message.test(err.message),
  );
  if (outside) assert.deepEqual(await readdir(outside), []);
}

test('members that would land outside the root are refused, naming the member', async () => {
  await rejected([{ name: '../x', body: 'x' }], /^unsafe tar member "\.\.\/x": path escapes/);
  await rejected(
    [{ name: './etc/../../x', body: 'x' }],
    /"\.\/etc\/\.\.\/\.\.\/x": path escapes the root/,
  );
  await rejected([{ name: '/abs', body: 'x' }], /"\/abs": absolute path/);
  await rejected(
    [{ name: 'a', type: 'symlink', linkname: '../../etc' }],
    /"a": symlink target "\.\.\/\.\.\/etc" escapes the root/,
  );
  await rejected(
    [{ name: 'd/a', type: 'symlink', linkname: '../../etc' }],
    /"d\/a": symlink target/,
  );
  await rejected(
    [{ name: 'x', type: 'link', linkname: '../../etc/passwd' }],
    /"x": hardlink target "\.\.\/\.\.\/etc\/passwd" escapes the root/,
  );
  await rejected(
    [{ name: 'x', type: 'link', linkname: '/etc/passwd' }],
    /"x": hardlink target "\/etc\/passwd" escapes the root/,
  );
  await rejected(
    [{ name: 'x', type: 'link', linkname: 'etc/passwd' }],
    /"x": hardlink target "etc\/passwd" is not a file extracted before it/,
  );
});

test('nothing is written through a symlink the tar planted', async () => {
  const outside = join(tmp.dir, 'outside');
  await mkdir(outside);
  await rejected(
    [
      { name: 'a', type: 'symlink', linkname: outside },
      { name: 'a/passwd', body: 'owned' },
    ],
    /"a\/passwd": parent "a" is a symlink/,
    outside,
  );
  await rejected(
    [
      { name: 'a', type: 'symlink', linkname: outside },
      { name: 'a/sub/', type: 'directory' },
    ],
    /"a\/sub\/": parent "a" is a symlink/,
    outside,
  );
  await rejected(
    [
      { name: 'a', type: 'symlink', linkname: outside },
      { name: 'b', type: 'symlink', linkname: 'a' },
      { name: 'b/passwd', body: 'owned' },
    ],
    /"b\/passwd": parent "b" is a symlink/,
    outside,
  );
  // A member naming the symlink itself replaces the link, it does not write through it.
  const dest = await freshDir();
  await flattenTar(
    await tarOf([
      { name: 'a', type: 'symlink', linkname: join(outside, 'f') },
      { name: 'a', mode: 0o644, body: 'inside' },
    ]),
    dest,
  );
  assert.equal(await readFile(join(dest, 'a'), 'utf8'), 'inside');
  assert.deepEqual(await readdir(outside), []);
});

test('bad input: a non-empty target, a truncated stream, cancellation', async () => {
  const dest = await freshDir();
  await flattenTar(await tarOf([{ name: 'f', body: 'x' }]), dest);
  await assert.rejects(flattenTar(await tarOf([]), dest), /is not empty/);

  const whole = await tarOf([{ name: 'big', body: 'x'.repeat(10_000) }]);
  const bytes = Buffer.concat(await whole.toArray());
  await assert.rejects(
    flattenTar(Readable.from([bytes.subarray(0, 3000)]), await freshDir()),
    (err: unknown) =>
      err instanceof BangerError &&
      err.code === ErrorCode.InvalidParams &&
      err.message === 'reading rootfs tar: Unexpected end of data',
  );

  const controller = new AbortController();
  controller.abort();
  await assert.rejects(
    flattenTar(await tarOf([{ name: 'f', body: 'x' }]), await freshDir(), {
      signal: controller.signal,
    }),
    (err: unknown) => err instanceof BangerError && err.code === ErrorCode.Cancelled,
  );
});
