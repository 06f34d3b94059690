import assert from 'node:assert/strict';
import { execa } from 'execa';
import { copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { libraryClosure, resolveInRoot } from './closure.js';
import { isElf, parseElf, readElf } from './elf.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banger-elf-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("parseElf reads /usr/bin/ssh's interpreter and DT_NEEDED as readelf does", async () => {
  const elf = await readElf('/usr/bin/ssh');
  assert.equal(elf.interpreter, '/lib64/ld-linux-x86-64.so.2');
  assert.ok(elf.needed.includes('libc.so.6'));
  const readelf = await execa('readelf', ['-d', '/usr/bin/ssh'], { reject: false });
  if (readelf.exitCode === 0) {
    const needed = [...readelf.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)];
    assert.deepEqual(
      elf.needed,
      needed.map((m) => m[1]),
    );
  }
  const libc = await readElf('/lib/x86_64-linux-gnu/libc.so.6');
  assert.equal(libc.soname, 'libc.so.6');
  // glibc's libc.so.6 is a program too (it prints its version): it has an interpreter.
  assert.equal(libc.interpreter, '/lib64/ld-linux-x86-64.so.2');
  assert.ok(libc.needed.includes('ld-linux-x86-64.so.2'));
});

test('parseElf and isElf refuse what is not a 64-bit ELF', async () => {
  assert.throws(() => parseElf(Buffer.from('#!/bin/sh\necho hi\n'.padEnd(80))), /not an ELF/);
  const elf32 = Buffer.alloc(64);
  elf32.writeUInt32BE(0x7f454c46, 0);
  elf32[4] = 1;
  assert.throws(() => parseElf(elf32), /64-bit/);
  assert.equal(await isElf('/usr/bin/ssh'), true);
  assert.equal(await isElf('/etc/passwd'), false);
});

test("the closure of /usr/bin/ssh is what the host's loader lists", async () => {
  const closure = await libraryClosure('/', ['/usr/bin/ssh']);
  assert.deepEqual([...closure.interpreters], ['/lib64/ld-linux-x86-64.so.2']);
  const listed = await execa('/lib64/ld-linux-x86-64.so.2', ['--list', '/usr/bin/ssh']);
  const names = [...listed.stdout.matchAll(/^\s*(\S+) => /gm)].map((m) => m[1]);
  // libc.so.6 names the loader in DT_NEEDED; --list prints it as the interpreter line.
  assert.deepEqual([...closure.libraries.keys()].sort(), [...names, 'ld-linux-x86-64.so.2'].sort());
  assert.ok(closure.libraries.get('libcrypto.so.3')?.file.startsWith('/'));
});

test('resolveInRoot follows absolute and relative symlinks without leaving the root', async () => {
  const root = join(dir, 'root');
  await mkdir(join(root, 'lib/x86_64-linux-gnu'), { recursive: true });
  await mkdir(join(root, 'lib64'));
  await copyFile('/etc/hostname', join(root, 'lib/x86_64-linux-gnu/ld.so')).catch(() =>
    copyFile('/etc/passwd', join(root, 'lib/x86_64-linux-gnu/ld.so')),
  );
  await symlink('/lib/x86_64-linux-gnu/ld.so', join(root, 'lib64/ld'));
  await symlink('../../../../../lib64/ld', join(root, 'lib/escape'));
  await symlink('/etc/nothing-here', join(root, 'lib/dangling'));
  const target = join(root, 'lib/x86_64-linux-gnu/ld.so');
  assert.equal(await resolveInRoot(root, '/lib64/ld'), target);
  assert.equal(await resolveInRoot(root, '/lib/escape'), target);
  assert.equal(await resolveInRoot(root, '/lib/dangling'), undefined);
  await symlink('loop', join(root, 'loop'));
  await assert.rejects(resolveInRoot(root, '/loop'), /too many levels/);
});

test('a library missing from the tree is named with the program that needs it', async () => {
  const root = join(dir, 'bare');
  await mkdir(join(root, 'usr/bin'), { recursive: true });
  await copyFile('/usr/bin/ssh', join(root, 'usr/bin/ssh'));
  await assert.rejects(libraryClosure(root, ['/usr/bin/ssh']), /\/usr\/bin\/ssh needs lib\S+\.so/);
  await assert.rejects(libraryClosure(root, ['/usr/bin/nothing']), /not in/);
});
