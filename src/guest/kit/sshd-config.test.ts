import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { assetPath } from '../install.js';
import { kitMmdebstrapArgs, parseSimulatedInstall } from './bootstrap.js';
import { KIT_PACKAGES } from './layout.js';
import {
  kitSshdConfig,
  kitWrappers,
  readKitSshdConfig,
  startSshdScript,
  wrapperScript,
} from './sshd-config.js';

test("the kit's sshd_config is the golden drop-in, banger's host key and the foreign-root lines", async () => {
  const lines = (await readKitSshdConfig()).split('\n').filter((l) => l && !l.startsWith('#'));
  assert.deepEqual(lines, [
    'HostKey /root/.banger/ssh_host_ed25519_key',
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'AuthorizedKeysFile /root/.ssh/authorized_keys',
    'UsePAM no',
    'PidFile /run/banger-kit-sshd.pid',
    'Subsystem sftp /run/banger-kit/libexec/sftp-server',
    'ModuliFile /run/banger-kit/etc/moduli',
    'SetEnv PATH=/run/banger-kit/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/run/banger-kit/libexec/busybox-bin',
  ]);
  // Every directive of the golden drop-in, and nothing else from it.
  const golden = await readFile(assetPath('sshd-99-banger.conf'), 'utf8');
  assert.equal(kitSshdConfig(`# c\n${golden}\n\n`), await readKitSshdConfig());
  assert.doesNotMatch(await readKitSshdConfig(), /^Include/m);
});

test('wrappers are busybox sh scripts that export their environment and exec by path', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'banger-kit-wrap-'));
  try {
    const script = join(dir, 'w');
    await writeFile(
      script,
      wrapperScript('/usr/bin/env', { KIT_A: 'one', KIT_B: 'two:' }, '-u HOME'),
    );
    const r = await execa('busybox', [
      'sh',
      script,
      'sh',
      '-c',
      'echo "$KIT_A $KIT_B ${HOME-unset}"',
    ]);
    assert.equal(r.stdout, 'one two: unset');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const w = kitWrappers();
  assert.match(w.git!, /^#!\/run\/banger-kit\/bin\/busybox sh\n/);
  assert.match(w.git!, /GIT_EXEC_PATH="\/run\/banger-kit\/libexec\/git-core"/);
  assert.match(w['git-upload-pack']!, /git-core\/git upload-pack "\$@"/);
  assert.match(w.tmux!, /LOCPATH="\/run\/banger-kit\/lib\/locale"/);
});

test('the start script checks, adds the privsep user by bind mount and announces readiness', () => {
  const s = startSshdScript();
  assert.match(s, /^#!\/run\/banger-kit\/bin\/busybox sh\n/);
  assert.match(s, /mount --bind \/run\/banger\/passwd \/etc\/passwd/);
  assert.match(
    s,
    /\/run\/banger-kit\/sbin\/sshd -f \/run\/banger-kit\/etc\/sshd_config -E \/run\/banger\/kit-sshd.log "\$@"/,
  );
  assert.match(s, /echo "banger-guest: sshd ready" > "\$ready"/);
});

test('mmdebstrap extracts the kit packages without root and reads back apt’s resolution', () => {
  const args = kitMmdebstrapArgs(
    {
      mirror: 'http://m/debian',
      securityMirror: 'http://s/debian-security',
      aptCacheDir: '/c/apt',
    },
    '/w/tree',
  );
  assert.ok(args.includes('--mode=chrootless') && args.includes('--variant=extract'));
  assert.ok(args.includes(`--include=${KIT_PACKAGES.join(',')}`));
  assert.ok(args.includes('--setup-hook=sync-in /c/apt /var/cache/apt/archives/'));
  assert.ok(args.includes('--extract-hook=sync-out /var/cache/apt/archives /c/apt'));
  assert.deepEqual(args.slice(-5), [
    'bookworm',
    '/w/tree',
    'deb http://m/debian bookworm main',
    'deb http://m/debian bookworm-updates main',
    'deb http://s/debian-security bookworm-security main',
  ]);
  const spaced = kitMmdebstrapArgs({ mirror: 'http://m', aptCacheDir: '/c/a b' }, '/t');
  assert.ok(!spaced.some((a) => a.includes('sync-')));

  const versions = parseSimulatedInstall(
    [
      'Reading package lists...',
      'Inst libc6 (2.36-9+deb12u7 Debian:12.7/stable [amd64])',
      'Inst openssh-server [1:9.2p1-1] (1:9.2p1-2+deb12u3 Debian-Security:12/stable-security [amd64]) []',
      'Conf libc6 (2.36-9+deb12u7 Debian:12.7/stable [amd64])',
    ].join('\n'),
  );
  assert.deepEqual(
    [...versions],
    [
      ['libc6', '2.36-9+deb12u7'],
      ['openssh-server', '1:9.2p1-2+deb12u3'],
    ],
  );
});
