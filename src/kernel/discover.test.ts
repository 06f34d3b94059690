import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { discoverKernel } from './discover.js';

async function tree(files: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bgr-kdisc-'));
  for (const f of files) {
    await mkdir(join(dir, f, '..'), { recursive: true });
    if (!f.endsWith('/')) await writeFile(join(dir, f), f);
    else await mkdir(join(dir, f), { recursive: true });
  }
  return dir;
}

test('metadata.json is preferred and stays inside the directory', async () => {
  const dir = await tree(['k/bzImage', 'k/initrd', 'boot/vmlinuz-9.9', 'mods/']);
  try {
    await writeFile(
      join(dir, 'metadata.json'),
      JSON.stringify({
        kernel: 'k/bzImage',
        initrd: 'k/initrd',
        modules: 'mods',
        version: '6.12.1',
      }),
    );
    assert.deepEqual(await discoverKernel(dir), {
      kernel: join(dir, 'k/bzImage'),
      initrd: join(dir, 'k/initrd'),
      modulesDir: join(dir, 'mods'),
      version: '6.12.1',
    });
    await writeFile(join(dir, 'metadata.json'), JSON.stringify({ kernel: '../../etc/passwd' }));
    await assert.rejects(discoverKernel(dir), /points outside/);
    await writeFile(join(dir, 'metadata.json'), JSON.stringify({ kernel: 'k/missing' }));
    await assert.rejects(discoverKernel(dir), /not a file/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('without metadata.json the usual names are found; vmlinux beats vmlinuz', async () => {
  const dir = await tree([
    'boot/vmlinuz-6.1.0-9',
    'boot/vmlinux-6.1.0-9',
    'boot/initrd.img-6.1.0-9',
    'lib/modules/6.1.0-8/',
    'lib/modules/6.1.0-9/',
  ]);
  try {
    assert.deepEqual(await discoverKernel(dir), {
      kernel: join(dir, 'boot/vmlinux-6.1.0-9'),
      initrd: join(dir, 'boot/initrd.img-6.1.0-9'),
      modulesDir: join(dir, 'lib/modules/6.1.0-9'),
      version: '6.1.0-9',
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const alpine = await tree(['vmlinuz-lts', 'initramfs-lts']);
  try {
    const found = await discoverKernel(alpine);
    assert.equal(found.kernel, join(alpine, 'vmlinuz-lts'));
    assert.equal(found.initrd, join(alpine, 'initramfs-lts'));
  } finally {
    await rm(alpine, { recursive: true, force: true });
  }
  const empty = await tree(['README']);
  try {
    await assert.rejects(discoverKernel(empty), /no kernel in .*: expected vmlinux or vmlinuz/);
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
});
