import assert from 'node:assert/strict';
import { execa } from 'execa';
import {
  chmod,
  lstat,
  readdir,
  mkdir,
  mkdtemp,
  readFile,
  readlink,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MASKED_UNITS } from './boot-trims.js';
import {
  assetPath,
  FIRST_BOOT_MARKER,
  GUEST_FILES,
  installGuestAssets,
  metadataRecorder,
} from './install.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bgr-guest-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('the sshd drop-in is exactly the allow-list, with no debug or relaxed settings', async () => {
  const text = await readFile(assetPath('sshd-99-banger.conf'), 'utf8');
  assert.deepEqual(text.trim().split('\n'), [
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'AuthorizedKeysFile /root/.ssh/authorized_keys',
  ]);
  for (const name of ['sshd-99-banger.conf', 'sshd-90-banger-hostkey.conf']) {
    const t = await readFile(assetPath(name), 'utf8');
    assert.doesNotMatch(
      t,
      /DEBUG3|StrictModes\s+no|PermitRootLogin\s+yes|PasswordAuthentication\s+yes/i,
    );
  }
});

test('scripts parse with sh and with busybox sh', async () => {
  for (const name of ['banger-network', 'banger-first-boot', 'initramfs-init']) {
    await execa('sh', ['-n', assetPath(name)]);
    await execa('busybox', ['sh', '-n', assetPath(name)]);
  }
});

test('banger-network configures hostname, resolv.conf and the interface from the command line', async () => {
  const root = join(dir, 'netroot');
  await mkdir(join(root, 'etc'), { recursive: true });
  const cmdline = join(dir, 'cmdline');
  await writeFile(
    cmdline,
    'console=ttyS0 quiet banger.hostname=blue-fox banger.ip=10.0.2.15/24 banger.gw=10.0.2.2 banger.dns=10.0.2.3,1.1.1.1\n',
  );
  const fakeIp = join(dir, 'fake-ip');
  const batch = join(dir, 'batch');
  await writeFile(fakeIp, `#!/bin/sh\ncat > ${batch}\n`);
  await chmod(fakeIp, 0o755);
  await execa(assetPath('banger-network'), [], {
    env: { BANGER_CMDLINE_FILE: cmdline, BANGER_ROOT: root, BANGER_IP: fakeIp },
  });
  assert.equal(await readFile(join(root, 'etc/hostname'), 'utf8'), 'blue-fox\n');
  assert.match(await readFile(join(root, 'etc/hosts'), 'utf8'), /127\.0\.1\.1\tblue-fox/);
  assert.equal(
    await readFile(join(root, 'etc/resolv.conf'), 'utf8'),
    'nameserver 10.0.2.3\nnameserver 1.1.1.1\n',
  );
  const lines = (await readFile(batch, 'utf8')).trim().split('\n');
  assert.equal(lines[0], 'link set lo up');
  assert.match(lines[1]!, /^addr add 10\.0\.2\.15\/24 dev \S+$/);
  assert.match(lines[3]!, /^route add default via 10\.0\.2\.2 dev \S+$/);
});

test('banger-network one ip command at a time (busybox ip in the initramfs)', async () => {
  const root = join(dir, 'netroot-bb');
  await mkdir(join(root, 'etc'), { recursive: true });
  const cmdline = join(dir, 'cmdline-bb');
  await writeFile(cmdline, 'banger.hostname=red-owl banger.ip=10.0.2.15/24 banger.gw=10.0.2.2\n');
  const calls = join(dir, 'ip-calls');
  const fakeIp = join(dir, 'fake-ip-each');
  await writeFile(fakeIp, `#!/bin/sh\necho "$*" >> ${calls}\n`);
  await chmod(fakeIp, 0o755);
  await execa('busybox', ['sh', assetPath('banger-network')], {
    env: {
      BANGER_CMDLINE_FILE: cmdline,
      BANGER_ROOT: root,
      BANGER_IP: fakeIp,
      BANGER_IP_BATCH: '0',
    },
  });
  const lines = (await readFile(calls, 'utf8')).trim().split('\n');
  assert.equal(lines.length, 4);
  assert.equal(lines[0], 'link set lo up');
  assert.match(lines[3]!, /^route add default via 10\.0\.2\.2 dev \S+$/);
  assert.equal(await readFile(join(root, 'etc/hostname'), 'utf8'), 'red-owl\n');
});

test('banger-first-boot makes one host key per VM, once', async () => {
  const ssh = join(dir, 'ssh');
  await mkdir(ssh, { recursive: true });
  await writeFile(join(ssh, 'ssh_host_rsa_key'), 'image key that must not survive');
  const marker = join(dir, 'pending');
  await writeFile(marker, '');
  const env = {
    BANGER_FIRST_BOOT_MARKER: marker,
    BANGER_SSH_DIR: ssh,
    BANGER_PROVIDED_HOST_KEY: join(dir, 'no-provided-key'),
  };
  await execa(assetPath('banger-first-boot'), [], { env });
  const key = await readFile(join(ssh, 'ssh_host_ed25519_key.pub'), 'utf8');
  assert.match(key, /^ssh-ed25519 /);
  await assert.rejects(stat(join(ssh, 'ssh_host_rsa_key')));
  await assert.rejects(stat(marker));
  await execa(assetPath('banger-first-boot'), [], { env });
  assert.equal(
    await readFile(join(ssh, 'ssh_host_ed25519_key.pub'), 'utf8'),
    key,
    'a second boot keeps the key',
  );
});

test('banger-first-boot makes no key when banger provided one on the work disk', async () => {
  const ssh = join(dir, 'ssh-provided');
  await mkdir(ssh, { recursive: true });
  await writeFile(join(ssh, 'ssh_host_ecdsa_key'), 'image key that must not survive');
  const provided = join(dir, 'provided_key');
  await writeFile(provided, '-----BEGIN OPENSSH PRIVATE KEY-----\n');
  const marker = join(dir, 'pending-provided');
  await writeFile(marker, '');
  await execa(assetPath('banger-first-boot'), [], {
    env: {
      BANGER_FIRST_BOOT_MARKER: marker,
      BANGER_SSH_DIR: ssh,
      BANGER_PROVIDED_HOST_KEY: provided,
    },
  });
  assert.deepEqual(await readdir(ssh), []);
  await assert.rejects(stat(marker));
});

test('installGuestAssets turns a Debian tree into a banger guest and records what it wrote', async () => {
  const tree = join(dir, 'tree');
  for (const d of [
    'etc/ssh',
    'etc/pam.d',
    'run',
    'var/lib/dbus',
    'usr/lib/systemd/system-generators',
  ])
    await mkdir(join(tree, d), { recursive: true });
  await writeFile(join(tree, 'usr/lib/systemd/system-generators/systemd-fstab-generator'), '');
  await writeFile(
    join(tree, 'etc/shadow'),
    'root:*:20000:0:99999:7:::\nuser:$y$hash:20000::::::\n',
  );
  await writeFile(
    join(tree, 'etc/pam.d/common-session'),
    'session required pam_unix.so\nsession optional pam_systemd.so\n',
  );
  await writeFile(
    join(tree, 'etc/pam.d/sshd'),
    'session optional pam_motd.so motd=/run/motd.dynamic\n@include common-session\n',
  );
  await writeFile(join(tree, 'etc/ssh/ssh_host_ed25519_key'), 'shared!');
  await writeFile(join(tree, 'etc/machine-id'), '0123456789abcdef\n');
  await writeFile(join(tree, '.dockerenv'), '');
  const recorded = new Map<string, number>();
  await installGuestAssets(tree, (path, mode, type) =>
    type === 'removed' ? recorded.delete(path) : recorded.set(path, mode),
  );

  for (const f of GUEST_FILES) {
    assert.equal((await stat(join(tree, f.path))).mode & 0o7777, f.mode, f.path);
    assert.equal(recorded.get(f.path), f.mode, f.path);
  }
  for (const unit of MASKED_UNITS)
    assert.equal(await readlink(join(tree, 'etc/systemd/system', unit)), '/dev/null');
  assert.equal(
    await readlink(join(tree, 'etc/systemd/system/sysinit.target.wants/banger-network.service')),
    '/etc/systemd/system/banger-network.service',
  );
  assert.equal(
    await readlink(join(tree, 'etc/systemd/system-generators/systemd-fstab-generator')),
    '/dev/null',
  );
  assert.match(await readFile(join(tree, 'etc/shadow'), 'utf8'), /^root:!\*:20000:/);
  assert.match(await readFile(join(tree, 'etc/shadow'), 'utf8'), /^user:\$y\$hash:/m);
  assert.doesNotMatch(
    await readFile(join(tree, 'etc/pam.d/common-session'), 'utf8'),
    /pam_systemd/,
  );
  assert.doesNotMatch(await readFile(join(tree, 'etc/pam.d/sshd'), 'utf8'), /pam_motd/);
  await assert.rejects(lstat(join(tree, 'etc/ssh/ssh_host_ed25519_key')));
  await assert.rejects(lstat(join(tree, '.dockerenv')));
  assert.equal(await readFile(join(tree, 'etc/machine-id'), 'utf8'), '');
  assert.ok(await stat(join(tree, FIRST_BOOT_MARKER)));
  assert.equal(recorded.get('usr/local/libexec'), 0o755, 'created parents are recorded too');
  const metadata = new Map([
    ['etc/ssh/ssh_host_ed25519_key', { type: 'file' as const, uid: 0, gid: 0, mode: 0o600 }],
  ]);
  const again = join(dir, 'tree2');
  await mkdir(join(again, 'etc/ssh'), { recursive: true });
  await writeFile(join(again, 'etc/ssh/ssh_host_ed25519_key'), 'k');
  await installGuestAssets(again, metadataRecorder(metadata));
  assert.equal(
    metadata.has('etc/ssh/ssh_host_ed25519_key'),
    false,
    'removed files leave the metadata',
  );
  assert.equal(metadata.get('etc/fstab')?.uid, 0);
});
