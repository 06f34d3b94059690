import { execa, type ResultPromise } from 'execa';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { freeLoopbackPort } from '../../src/system/ports.js';
import { join } from 'node:path';

/**
 * Boots an image with plain QEMU (microvm, TCG or KVM) the way banger's contract says:
 * kernel + initramfs + qcow2 overlay + a work disk holding a test key, identity on the
 * command line, readiness from the serial console. Used to prove a built image boots
 * before `banger vm run` exists to do it.
 */
export interface RawVm {
  ssh(command: string): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  console(): Promise<string>;
  /** A clean guest power-off, resolved once QEMU has exited. */
  poweroff(): Promise<void>;
  stop(): Promise<void>;
}

export async function bootRaw(opts: {
  dir: string;
  rootfs: string;
  kernel: string;
  initrd: string;
  hostname: string;
}): Promise<RawVm> {
  const { dir } = opts;
  await mkdir(join(dir, 'home/.ssh'), { recursive: true });
  const key = join(dir, 'id_ed25519');
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  await writeFile(join(dir, 'home/.ssh/authorized_keys'), await readFile(`${key}.pub`));
  await chmod(join(dir, 'home/.ssh'), 0o700);
  await chmod(join(dir, 'home/.ssh/authorized_keys'), 0o600);
  await chmod(join(dir, 'home'), 0o755);
  const work = join(dir, 'work.ext4');
  await execa('truncate', ['-s', '256M', work]);
  await execa('mkfs.ext4', ['-q', '-F', '-d', join(dir, 'home'), '-E', 'root_owner=0:0', work]);
  const overlay = join(dir, 'system.qcow2');
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', opts.rootfs, overlay]);
  const port = await freeLoopbackPort();
  const khz = Math.round(
    Number(/cpu MHz\s*:\s*([\d.]+)/.exec(await readFile('/proc/cpuinfo', 'utf8'))?.[1] ?? 0) * 1000,
  );
  const consoleLog = join(dir, 'console.log');
  const append = [
    'console=ttyS0 root=/dev/vda rw quiet cryptomgr.notests pci=off',
    `tsc_early_khz=${khz} tsc=reliable`,
    `banger.hostname=${opts.hostname} banger.ip=10.0.2.15/24 banger.gw=10.0.2.2 banger.dns=10.0.2.3`,
  ].join(' ');
  const qemu: ResultPromise = execa(
    'qemu-system-x86_64',
    [
      '-M',
      'microvm,x-option-roms=off',
      '-accel',
      // One TCG thread, as banger runs them: multi-threaded TCG can hang a boot for good
      // (TCG_ACCEL in src/vmm/qemu/args.ts).
      'tcg,thread=single',
      '-cpu',
      'max',
      '-smp',
      '2',
      '-m',
      '1024',
      '-nodefaults',
      '-no-user-config',
      '-display',
      'none',
      '-kernel',
      opts.kernel,
      '-initrd',
      opts.initrd,
      '-append',
      append,
      '-drive',
      `id=root,file=${overlay},format=qcow2,if=none`,
      '-device',
      'virtio-blk-device,drive=root',
      '-drive',
      `id=work,file=${work},format=raw,if=none`,
      '-device',
      'virtio-blk-device,drive=work',
      '-netdev',
      `user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:22`,
      '-device',
      'virtio-net-device,netdev=n0',
      '-serial',
      `file:${consoleLog}`,
    ],
    { reject: false },
  );
  const deadline = Date.now() + 120_000;
  while (
    !(await readFile(consoleLog, 'utf8').catch(() => '')).includes('banger-guest: sshd ready')
  ) {
    if (qemu.exitCode !== null && qemu.exitCode !== undefined)
      throw new Error(`qemu exited: ${String((await qemu).stderr)}`);
    if (Date.now() > deadline) {
      qemu.kill('SIGKILL');
      throw new Error(
        `no "sshd ready" on the console within 120 s:\n${await readFile(consoleLog, 'utf8').catch(() => '')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const sshArgs = [
    '-i',
    key,
    '-p',
    String(port),
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
    '-o',
    'BatchMode=yes',
    'root@127.0.0.1',
  ];
  return {
    async ssh(command) {
      const r = await execa('ssh', [...sshArgs, command], { reject: false, timeout: 60_000 });
      return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    console: () => readFile(consoleLog, 'utf8'),
    async poweroff() {
      await execa('ssh', [...sshArgs, 'systemctl poweroff --no-block'], { reject: false });
      await qemu.catch(() => undefined);
    },
    async stop() {
      qemu.kill('SIGKILL');
      await qemu.catch(() => undefined);
    },
  };
}
