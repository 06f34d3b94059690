import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileSyncDigest, TEMPLATE_FORMAT, templateKey, type TemplateShape } from './shape.js';

const shape: TemplateShape = {
  format: TEMPLATE_FORMAT,
  imageId: 'aaaaaaaaaaaaaaaa',
  kernelId: 'bbbbbbbbbbbbbbbb',
  vcpu: 2,
  memoryMiB: 1024,
  diskBytes: 8 * 2 ** 30,
  network: 'user',
  vmm: 'qemu/tcg QEMU emulator version 7.2.22',
  sshKey: 'ssh-ed25519 AAAA banger',
  fileSync: 'none',
};

test('template key: 16 hex digits, the same for the same shape in any key order, another for any change', () => {
  const key = templateKey(shape);
  assert.match(key, /^[0-9a-f]{16}$/);
  const reordered = Object.fromEntries(Object.entries(shape).reverse()) as unknown as TemplateShape;
  assert.equal(templateKey(reordered), key);
  const changes: Partial<TemplateShape>[] = [
    { imageId: 'cccccccccccccccc' },
    { kernelId: 'dddddddddddddddd' },
    { vcpu: 4 },
    { memoryMiB: 2048 },
    { diskBytes: 2 ** 30 },
    { vmm: 'qemu/tcg QEMU emulator version 8.0.0' },
    { sshKey: 'ssh-ed25519 BBBB banger' },
    { fileSync: 'other' },
    { format: TEMPLATE_FORMAT + 1 },
  ];
  const keys = new Set(changes.map((c) => templateKey({ ...shape, ...c })));
  assert.equal(keys.size, changes.length);
  assert.ok(!keys.has(key));
});

test('file sync digest: follows the entry, walks a directory, changes with any file', async () => {
  const home = await mkdtemp(join(tmpdir(), 'shape-'));
  try {
    await writeFile(join(home, '.gitconfig'), '[user]\n');
    await mkdir(join(home, 'dir'));
    await writeFile(join(home, 'dir', 'a'), 'a');
    await symlink('a', join(home, 'dir', 'link'));
    await symlink('.gitconfig', join(home, 'gitconfig-link'));
    const entries = [
      { host: '~/gitconfig-link', guest: '~/.gitconfig', mode: undefined },
      { host: '~/dir', guest: '~/dir', mode: undefined },
      { host: '~/missing', guest: '~/missing', mode: 0o600 },
    ];
    const first = await fileSyncDigest(entries, home);
    assert.equal(await fileSyncDigest(entries, home), first, 'stable');
    assert.notEqual(await fileSyncDigest([], home), first);
    // The entry is a symlink: its target's change counts (the copy follows it).
    const later = new Date(Date.now() + 5000);
    await utimes(join(home, '.gitconfig'), later, later);
    const second = await fileSyncDigest(entries, home);
    assert.notEqual(second, first);
    await writeFile(join(home, 'dir', 'b'), 'b');
    const third = await fileSyncDigest(entries, home);
    assert.notEqual(third, second, 'a new file in a synced directory');
    await writeFile(join(home, 'missing'), 'now here');
    assert.notEqual(await fileSyncDigest(entries, home), third, 'a missing source appearing');
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});
