import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseConfigText } from '../config/load.js';
import { debugfsCat, debugfsStat } from '../disk/debugfs.js';
import { realRunner } from '../system/runner.js';
import { createWorkDisk, ensureAuthorizedKey } from './disks.js';
import { hostPath, syncFiles, workDiskPath } from './file-sync.js';

// [[file_sync]] onto a real ext4 work disk (mkfs.ext4 + debugfs), read back with debugfs.
let dir: string;
let home: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banger-sync-'));
  home = join(dir, 'home');
  await mkdir(join(home, '.aws', 'sso cache'), { recursive: true });
  await writeFile(join(home, '.aws', 'config'), '[default]\n');
  await chmod(join(home, '.aws', 'config'), 0o640);
  await writeFile(join(home, '.aws', 'sso cache', 'token.json'), '{}');
  await chmod(join(home, '.aws', 'sso cache', 'token.json'), 0o600);
  await symlink('config', join(home, '.aws', 'link'));
  await writeFile(join(home, 'auth.json'), 'secret');
  await chmod(join(home, 'auth.json'), 0o644);
});
after(() => rm(dir, { recursive: true, force: true }));

async function disk(name: string): Promise<string> {
  const file = join(dir, `${name}.ext4`);
  await createWorkDisk(file, 64 * 2 ** 20, realRunner);
  await ensureAuthorizedKey(file, 'ssh-ed25519 AAAA banger', realRunner);
  return file;
}

test('guest and host paths: ~ and /root are the work disk root; ~/ is the host home', () => {
  assert.equal(workDiskPath('~/.config/gh/hosts.yml'), '/.config/gh/hosts.yml');
  assert.equal(workDiskPath('/root/bin/tool'), '/bin/tool');
  assert.equal(workDiskPath('~'), '/');
  assert.equal(workDiskPath('/root/'), '/');
  assert.equal(hostPath('~/.aws', '/home/u'), '/home/u/.aws');
  assert.equal(hostPath('/etc/hosts', '/home/u'), '/etc/hosts');
});

test('a file (root-owned, the entry mode or 0600), a tree (each file its own mode), a missing path skipped', async () => {
  const file = await disk('sync');
  const warnings: string[] = [];
  const result = await syncFiles({
    disk: file,
    entries: [
      { host: '~/auth.json', guest: '~/.local/share/tool/auth.json', mode: undefined },
      { host: '~/auth.json', guest: '/root/bin/auth-755', mode: 0o755 },
      { host: '~/.aws', guest: '~/.aws', mode: 0o600 },
      { host: '~/nope', guest: '~/nope', mode: undefined },
    ],
    home,
    runner: realRunner,
    warn: (m) => warnings.push(m),
  });
  assert.deepEqual(result, {
    copied: ['~/auth.json', '~/auth.json', '~/.aws'],
    skipped: ['~/nope'],
  });
  assert.deepEqual(warnings, ['skipped ~/nope: not found on the host']);
  const st = (p: string) => debugfsStat(file, p, realRunner);
  assert.deepEqual(await st('/.local/share/tool/auth.json'), {
    uid: 0,
    gid: 0,
    mode: 0o100600,
    type: 'file',
  });
  assert.equal((await st('/bin/auth-755'))?.mode, 0o100755);
  assert.equal((await st('/.local'))?.mode, 0o040755);
  assert.equal(
    (await debugfsCat(file, '/.local/share/tool/auth.json', realRunner)).toString(),
    'secret',
  );
  assert.equal((await st('/.aws/config'))?.mode, 0o100640, 'a tree keeps each file its own mode');
  assert.equal((await st('/.aws/sso cache/token.json'))?.mode, 0o100600);
  assert.equal((await st('/.aws/link'))?.type, 'symlink');
  assert.deepEqual([(await st('/.aws/config'))?.uid, (await st('/.aws/config'))?.gid], [0, 0]);
  // banger's own files are untouched, and the file system is clean.
  assert.equal((await st('/.ssh/authorized_keys'))?.mode, 0o100600);
  const fsck = await realRunner.run('e2fsck', ['-f', '-n', file], { allowFailure: true });
  assert.equal(fsck.exitCode, 0, fsck.stdout);
});

test('an entry that cannot be copied is an error naming it', async () => {
  const file = await disk('clash');
  await assert.rejects(
    syncFiles({
      disk: file,
      entries: [{ host: '~/auth.json', guest: '~/.ssh/authorized_keys', mode: undefined }],
      home,
      runner: realRunner,
      warn: () => undefined,
    }),
    /debugfs failed at "write .*authorized_keys/,
  );
  await assert.rejects(
    syncFiles({
      disk: file,
      entries: parseConfigText(
        '[[file_sync]]\nhost = "~/.aws"\nguest = "~/.aws"\n' +
          '[[file_sync]]\nhost = "~/auth.json"\nguest = "/root"\n',
        'config.toml',
      ).fileSync,
      home,
      runner: realRunner,
      warn: () => undefined,
    }),
    /^BangerError: file_sync entry 2 \(~\/auth.json → \/root\): the guest path is \/root itself/,
  );
});

test('config load and create count [[file_sync]] entries the same way, from 1', () => {
  // The same second entry, with a guest path the loader refuses instead.
  assert.throws(
    () =>
      parseConfigText(
        '[[file_sync]]\nhost = "~/.aws"\nguest = "~/.aws"\n' +
          '[[file_sync]]\nhost = "~/auth.json"\nguest = "/etc"\n',
        'config.toml',
      ),
    /^BangerError: config config.toml: file_sync entry 2, guest: "\/etc" is outside the guest home/,
  );
});
