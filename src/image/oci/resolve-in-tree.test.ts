import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resolveInTree } from './resolve-in-tree.js';

let base: string;
let n = 0;
before(async () => {
  base = await mkdtemp(join(tmpdir(), 'bgr-rit-'));
});
after(async () => {
  await rm(base, { recursive: true, force: true });
});

/** An image tree: a path ending in `/` is a directory, `-> target` a symlink, else a file. */
async function tree(entries: Record<string, string>): Promise<string> {
  const root = join(base, String(++n));
  await mkdir(root);
  for (const [path, what] of Object.entries(entries)) {
    const at = join(root, path);
    await mkdir(path.endsWith('/') ? at : dirname(at), { recursive: true });
    if (what.startsWith('-> ')) await symlink(what.slice(3), at);
    else if (!path.endsWith('/')) await writeFile(at, what);
  }
  return root;
}

describe('resolveInTree: /bin/sh as the booted guest would find it', () => {
  test('a regular file', async () => {
    assert.equal(await resolveInTree(await tree({ 'bin/sh': 'sh' }), '/bin/sh'), '/bin/sh');
  });

  test('/bin a relative symlink to usr/bin (merged /usr)', async () => {
    const root = await tree({ bin: '-> usr/bin', 'usr/bin/sh': 'sh' });
    assert.equal(await resolveInTree(root, '/bin/sh'), '/usr/bin/sh');
  });

  test('/bin/sh an absolute symlink to /bin/busybox, through a symlinked /bin', async () => {
    const root = await tree({ bin: '-> /usr/bin', 'usr/bin/sh': '-> /bin/busybox' });
    assert.equal(await resolveInTree(root, '/bin/sh'), undefined, 'busybox is not there yet');
    await writeFile(join(root, 'usr/bin/busybox'), 'bb');
    assert.equal(await resolveInTree(root, '/bin/sh'), '/usr/bin/busybox');
  });

  test('/bin/sh a relative symlink to dash, and a chain of them', async () => {
    assert.equal(
      await resolveInTree(await tree({ 'bin/sh': '-> dash', 'bin/dash': 'dash' }), '/bin/sh'),
      '/bin/dash',
    );
    const chain = await tree({
      'bin/sh': '-> ../usr/lib/sh',
      'usr/lib/sh': '-> ./alt/sh',
      'usr/lib/alt/sh': '-> /usr/bin/dash',
      'usr/bin/dash': 'dash',
    });
    assert.equal(await resolveInTree(chain, '/bin/sh'), '/usr/bin/dash');
  });

  test('a dangling symlink counts as missing, as does no /bin/sh at all', async () => {
    assert.equal(await resolveInTree(await tree({ 'bin/sh': '-> busybox' }), '/bin/sh'), undefined);
    assert.equal(await resolveInTree(await tree({ bin: '-> usr/bin' }), '/bin/sh'), undefined);
    assert.equal(await resolveInTree(await tree({ 'usr/bin/sh': 'sh' }), '/bin/sh'), undefined);
  });

  test('absolute targets start at the image root, never the host: /bin/sh -> /bin/bash', async () => {
    // The host has /bin/bash (and /bin/sh); the image only has the link.
    const root = await tree({ 'bin/sh': '-> /bin/bash' });
    assert.equal(await resolveInTree(root, '/bin/sh'), undefined);
    const hostDir = await tree({ 'bin/sh': 'host sh' });
    const viaHost = await tree({ bin: `-> ${join(hostDir, 'bin')}` });
    assert.equal(await resolveInTree(viaHost, '/bin/sh'), undefined, 'a host path is not followed');
  });

  test('.. stops at the image root', async () => {
    const root = await tree({ 'bin/sh': '-> ../../../../../../bin/busybox', 'bin/busybox': 'bb' });
    assert.equal(await resolveInTree(root, '/bin/sh'), '/bin/busybox');
  });

  test('a loop, a directory, or a file in the middle of the path is no shell', async () => {
    const loop = await tree({ 'bin/sh': '-> sh2', 'bin/sh2': '-> sh' });
    assert.equal(await resolveInTree(loop, '/bin/sh'), undefined);
    assert.equal(await resolveInTree(await tree({ 'bin/sh/': '' }), '/bin/sh'), undefined);
    assert.equal(
      await resolveInTree(await tree({ 'bin/sh': '-> /usr/', 'usr/': '' }), '/bin/sh'),
      undefined,
    );
    assert.equal(await resolveInTree(await tree({ bin: 'a file' }), '/bin/sh'), undefined);
  });
});
