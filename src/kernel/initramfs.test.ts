import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildInitramfs, moduleLoadOrder } from './initramfs.js';

const DEP = `kernel/drivers/virtio/virtio.ko:
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/net/core/failover.ko:
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
`;

test('modules load dependencies first, each once; built-ins are skipped', () => {
  assert.deepEqual(
    moduleLoadOrder(DEP, 'kernel/fs/ext4/ext4.ko\n', [
      'virtio_mmio',
      'virtio_blk',
      'virtio-net',
      'ext4',
    ]),
    [
      'kernel/drivers/virtio/virtio.ko',
      'kernel/drivers/virtio/virtio_ring.ko',
      'kernel/drivers/virtio/virtio_mmio.ko',
      'kernel/drivers/block/virtio_blk.ko',
      'kernel/net/core/failover.ko',
      'kernel/drivers/net/net_failover.ko',
      'kernel/drivers/net/virtio_net.ko',
    ],
  );
});

test('a module that is neither built in nor present is an error naming it', () => {
  assert.throws(
    () => moduleLoadOrder(DEP, '', ['virtio_scsi']),
    /kernel module virtio_scsi is neither built in nor in modules\.dep/,
  );
});

test('the initramfs holds busybox, init, /dev/console and the modules in load order', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bgr-initrd-'));
  try {
    const modules = join(dir, 'lib/modules/6.1.0-test');
    for (const line of DEP.trim().split('\n')) {
      const path = join(modules, line.split(':')[0]!);
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, `module ${path}`);
    }
    await writeFile(join(modules, 'modules.dep'), DEP);
    await writeFile(join(modules, 'modules.builtin'), '');
    const out = join(dir, 'initrd.img');
    const loaded = await buildInitramfs({
      modulesDir: modules,
      busybox: '/bin/busybox',
      outFile: out,
    });
    assert.equal(loaded[0], '6.1.0-test/kernel/drivers/virtio/virtio.ko');
    const list = (await execa('cpio', ['-t', '--quiet', '-F', out])).stdout.split('\n');
    for (const entry of [
      'init',
      'bin/busybox',
      'dev/console',
      'etc/banger-modules',
      'lib/modules/6.1.0-test/kernel/drivers/block/virtio_blk.ko',
    ])
      assert.ok(list.includes(entry), entry);
    const x = join(dir, 'x');
    await mkdir(x);
    await execa('cpio', ['-i', '--quiet', '--make-directories', '-F', out, 'etc/banger-modules'], {
      cwd: x,
    });
    const { readFile } = await import('node:fs/promises');
    assert.deepEqual(
      (await readFile(join(x, 'etc/banger-modules'), 'utf8')).trim().split('\n'),
      loaded,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
