import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { debugfsCat, debugfsStat } from '../../src/disk/debugfs.js';
import { realRunner } from '../../src/system/runner.js';
import { goldenImage, type GoldenImage } from '../helpers/golden.js';
import { bootRaw, type RawVm } from '../helpers/raw-boot.js';

// The golden image for real: mmdebstrap against the host's mirror, through `banger image build`.
describe('banger image build (golden debian-bookworm)', () => {
  let golden: GoldenImage;
  before(async () => {
    golden = await goldenImage();
  });

  test('vm run on a fresh machine builds the default image, then boots it', () => {
    assert.match(golden.stderr, /\] resolve image: debian-bookworm is not local/);
    assert.match(golden.stdout, /^VERSION_CODENAME=bookworm$/m);
  });

  test('the build reports its stages and registers the image with its kernel', () => {
    for (const stage of [
      'bootstrap',
      'guest',
      'kernel',
      'initramfs',
      'ext4',
      'ownership',
      'publish',
    ])
      assert.match(golden.stderr, new RegExp(`\\] ${stage}: `), stage);
    assert.match(golden.imageLs, /^NAME\s+DISTRO\s+KERNEL/m);
    assert.match(golden.imageLs, /debian-bookworm\s+debian\s+debian-bookworm-cloud/);
    assert.equal(golden.imageShow.kernel, 'debian-bookworm-cloud');
    assert.equal(golden.imageShow.managed, true);
    assert.match(String(golden.kernelShow.version), /^\d+\.\d+\.\d+-\d+-cloud-amd64$/);
    assert.deepEqual(golden.kernelShow.usedBy, ['debian-bookworm']);
  });

  test('owners and modes survive: setuid root binaries, root-owned banger files', async () => {
    const stat = (p: string) => debugfsStat(golden.rootfs, p, realRunner);
    const sudo = await stat('/usr/bin/sudo');
    assert.deepEqual([sudo?.uid, sudo?.gid, sudo?.mode], [0, 0, 0o104755]);
    const shadow = await stat('/etc/shadow');
    assert.equal(shadow?.mode, 0o100640);
    for (const p of ['/usr/local/libexec/banger-network', '/usr/local/libexec/banger-first-boot']) {
      const s = await stat(p);
      assert.deepEqual([s?.uid, s?.gid, s?.mode], [0, 0, 0o100755], p);
    }
  });

  test('identity is left for each VM and the root password is locked', async () => {
    const cat = async (p: string) => (await debugfsCat(golden.rootfs, p, realRunner)).toString();
    for (const key of ['ssh_host_ed25519_key', 'ssh_host_rsa_key', 'ssh_host_ecdsa_key'])
      assert.equal(await debugfsStat(golden.rootfs, `/etc/ssh/${key}`, realRunner), undefined, key);
    assert.equal(await cat('/etc/machine-id'), '');
    assert.match(await cat('/etc/shadow'), /^root:!\*:/m);
    assert.ok(await debugfsStat(golden.rootfs, '/var/lib/banger/first-boot-pending', realRunner));
    assert.equal(await debugfsStat(golden.rootfs, '/.dockerenv', realRunner), undefined);
    assert.match(await cat('/etc/fstab'), /^\/dev\/vdb\s+\/root\s+ext4\s+defaults,noauto/m);
    assert.equal(
      await cat('/etc/ssh/sshd_config.d/99-banger.conf'),
      'PermitRootLogin prohibit-password\nPubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nAuthorizedKeysFile /root/.ssh/authorized_keys\n',
    );
  });

  describe('booted with plain QEMU', () => {
    let dir: string;
    let vm: RawVm;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'bgr-boot-'));
      vm = await bootRaw({
        dir,
        rootfs: golden.rootfs,
        kernel: golden.kernel,
        initrd: golden.initrd,
        hostname: 'golden-e2e',
      });
    });
    after(async () => {
      await vm?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    test('boots to a running system with sshd configured as banger requires', async () => {
      const r = await vm.ssh(
        'hostname; systemctl is-system-running; findmnt -n -o SOURCE /root; sshd -T | grep -E "^(permitrootlogin|passwordauthentication|strictmodes|authorizedkeysfile) "; passwd -S root | cut -d" " -f2; ls /etc/ssh/ssh_host_*_key; grep -c -E "^(autofs4|ip_tables|qemu_fw_cfg) " /proc/modules || true; modprobe ip_tables && grep -c "^ip_tables " /proc/modules',
      );
      assert.equal(r.exitCode, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split('\n'), [
        'golden-e2e',
        'running',
        '/dev/vdb',
        'permitrootlogin without-password',
        'passwordauthentication no',
        'strictmodes yes',
        'authorizedkeysfile /root/.ssh/authorized_keys',
        'L',
        '/etc/ssh/ssh_host_ed25519_key',
        // systemd's start-up module loads are deny-listed (modprobe-banger.conf), but an
        // explicit modprobe still loads the module
        '0',
        '1',
      ]);
    });

    test('the network comes from the command line and the guest tools are there', async () => {
      const r = await vm.ssh(
        'ip -4 -br addr show dev eth0; ip route show default; cat /etc/resolv.conf; git --version; tmux -V; sudo -V | head -1',
      );
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stdout, /eth0\s+UP\s+10\.0\.2\.15\/24/);
      assert.match(r.stdout, /default via 10\.0\.2\.2 dev eth0/);
      assert.match(r.stdout, /nameserver 10\.0\.2\.3/);
      assert.match(r.stdout, /git version 2\./);
      assert.match(r.stdout, /tmux \d/);
    });
  });
});
