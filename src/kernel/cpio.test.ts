import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdtemp, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CpioWriter } from './cpio.js';

test('the newc archive is read back by cpio -t and extracts byte for byte', async () => {
  const data = Buffer.from(Array.from({ length: 1001 }, (_, i) => i % 251));
  const archive = new CpioWriter()
    .parents('lib/modules/6.1.0/kernel/virtio_blk.ko')
    .file('lib/modules/6.1.0/kernel/virtio_blk.ko', data, 0o644)
    .dir('bin')
    .file('bin/busybox', Buffer.from('#!fake busybox\n'), 0o755)
    .symlink('bin/sh', 'busybox')
    .file('init', Buffer.from('#!/bin/sh\nexec /bin/sh\n'), 0o755)
    .dir('dev')
    .charDevice('dev/console', 5, 1)
    .finish();
  assert.equal(archive.length % 512, 0);

  const listing = await execa('cpio', ['-t', '--quiet'], { input: archive });
  assert.deepEqual(listing.stdout.split('\n'), [
    'lib',
    'lib/modules',
    'lib/modules/6.1.0',
    'lib/modules/6.1.0/kernel',
    'lib/modules/6.1.0/kernel/virtio_blk.ko',
    'bin',
    'bin/busybox',
    'bin/sh',
    'init',
    'dev',
    'dev/console',
  ]);
  const verbose = await execa('cpio', ['-tv', '--quiet'], { input: archive });
  assert.match(verbose.stdout, /^crw------- .* 5, +1 .* dev\/console$/m);

  const dir = await mkdtemp(join(tmpdir(), 'bgr-cpio-'));
  try {
    await execa('cpio', ['-i', '--quiet', '--make-directories', '--no-absolute-filenames'], {
      input: archive,
      cwd: dir,
    });
    assert.deepEqual(await readFile(join(dir, 'lib/modules/6.1.0/kernel/virtio_blk.ko')), data);
    assert.equal((await stat(join(dir, 'init'))).mode & 0o777, 0o755);
    assert.equal(await readlink(join(dir, 'bin/sh')), 'busybox');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('bad paths and duplicates are refused', () => {
  assert.throws(() => new CpioWriter().file('../etc/passwd', Buffer.alloc(0)), /bad entry path/);
  assert.throws(() => new CpioWriter().file('a/./b', Buffer.alloc(0)), /bad entry path/);
  assert.throws(() => new CpioWriter().dir('x').dir('x'), /duplicate entry "x"/);
});
