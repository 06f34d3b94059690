import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { realRunner } from '../system/runner.js';
import {
  hostKeyAlias,
  keepOnlyPins,
  keyOf,
  pinHostKey,
  pinnedKey,
  readKnownHosts,
  unpinHostKey,
} from './known-hosts.js';

let dir: string;
before(async () => (dir = await mkdtemp(join(tmpdir(), 'bgr-kh-'))));
after(() => rm(dir, { recursive: true, force: true }));

/** A public key line as ssh-keygen writes it: type, base64, comment. */
const pub = (n: number) =>
  `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${String(n).padStart(4, '0')}${'A'.repeat(39)} banger-vm box\n`;

test('a pinned key is one line under the alias, without the comment', async () => {
  const file = join(dir, 'one', 'known_hosts');
  await pinHostKey(file, hostKeyAlias('box'), pub(1));
  assert.equal(await readFile(file, 'utf8'), `box.vm ${keyOf(pub(1))}\n`);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.equal((await stat(join(dir, 'one'))).mode & 0o777, 0o700);
  assert.equal(pinnedKey(await readKnownHosts(file), 'box.vm'), keyOf(pub(1)));
  assert.equal(pinnedKey(await readKnownHosts(file), 'other.vm'), undefined);
});

test('pinning again replaces the line; unpinning removes only that alias', async () => {
  const file = join(dir, 'replace', 'known_hosts');
  await pinHostKey(file, 'a.vm', pub(1));
  await pinHostKey(file, 'b.vm', pub(2));
  await pinHostKey(file, 'a.vm', pub(3));
  assert.equal(await readFile(file, 'utf8'), `b.vm ${keyOf(pub(2))}\na.vm ${keyOf(pub(3))}\n`);
  await unpinHostKey(file, 'a.vm');
  assert.equal(await readFile(file, 'utf8'), `b.vm ${keyOf(pub(2))}\n`);
  await unpinHostKey(file, 'never.vm');
  await unpinHostKey(file, 'b.vm');
  assert.equal(await readFile(file, 'utf8'), '');
  await unpinHostKey(join(dir, 'missing', 'known_hosts'), 'a.vm');
  // Written by rename: no temp file is left beside it.
  assert.deepEqual(await readdir(join(dir, 'replace')), ['known_hosts']);
});

test('lines banger did not write are kept; gone VMs are dropped at reconcile', async () => {
  const file = join(dir, 'prune', 'known_hosts');
  await pinHostKey(file, 'keep.vm', pub(1));
  await writeFile(file, `# a note\n${await readFile(file, 'utf8')}[host]:22 ${keyOf(pub(9))}\n`);
  await pinHostKey(file, 'gone.vm', pub(2));
  await keepOnlyPins(file, new Set(['keep.vm']));
  assert.equal(
    await readFile(file, 'utf8'),
    `# a note\nkeep.vm ${keyOf(pub(1))}\n[host]:22 ${keyOf(pub(9))}\n`,
  );
});

test('parallel pins and unpins lose no line', async () => {
  const file = join(dir, 'parallel', 'known_hosts');
  const names = Array.from({ length: 40 }, (_, i) => `vm-${i}`);
  await Promise.all(names.map((n, i) => pinHostKey(file, hostKeyAlias(n), pub(i))));
  const text = await readKnownHosts(file);
  for (const [i, n] of names.entries()) assert.equal(pinnedKey(text, `${n}.vm`), keyOf(pub(i)));
  // Half go while the other half are pinned again with new keys.
  await Promise.all(
    names.map((n, i) =>
      i % 2 ? unpinHostKey(file, `${n}.vm`) : pinHostKey(file, `${n}.vm`, pub(i + 100)),
    ),
  );
  const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
  assert.equal(lines.length, 20);
  for (const [i, n] of names.entries())
    assert.equal(pinnedKey(lines.join('\n'), `${n}.vm`), i % 2 ? undefined : keyOf(pub(i + 100)));
});

test('ssh-keygen finds the pinned key by its alias', async () => {
  const file = join(dir, 'real', 'known_hosts');
  const key = join(dir, 'hostkey');
  await realRunner.run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'x', '-f', key]);
  await pinHostKey(file, 'box.vm', await readFile(`${key}.pub`, 'utf8'));
  const found = await realRunner.run('ssh-keygen', ['-F', 'box.vm', '-f', file]);
  assert.match(found.stdout, /^box\.vm ssh-ed25519 /m);
});

test('something that is not a public key is refused', () => {
  for (const bad of ['', 'ssh-ed25519', 'ssh-ed25519 not*base64', '-----BEGIN OPENSSH'])
    assert.throws(() => keyOf(bad), /not an ssh public key/);
});
