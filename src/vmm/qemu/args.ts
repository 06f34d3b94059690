import { join } from 'node:path';
import type { Accel } from '../select.js';
import { DATA_PORT_NAME, type LaunchSpec } from '../vmm.js';

/** The files a QEMU VM keeps in its directory. */
export function qemuFiles(dir: string) {
  return {
    pidFile: join(dir, 'qemu.pid'),
    qmpSocket: join(dir, 'qmp.sock'),
    dataSocket: join(dir, 'data.sock'),
    consoleLog: join(dir, 'console.log'),
  };
}

/**
 * TCG's translation cache in MiB. QEMU's default (1 GiB) makes an idle VM's host RSS grow
 * past 1 GiB after a few logins. Measured here (BENCHMARKS.md): 64 → 150 MiB of QEMU
 * overhead on top of guest RAM, 40 → 124 MiB for ~0.15 s more to ssh, 32 → 116 MiB but
 * ~1 s more (the boot's translated code no longer fits).
 */
export const TCG_TB_SIZE_MIB = 40;

/**
 * The whole qemu-system-x86_64 command line for one VM on the microvm machine: no firmware
 * scan, no PCI, virtio-mmio disks and NIC, serial console to a file, QMP for control.
 * `-daemonize` detaches it from the daemon (it survives a daemon restart) and makes the
 * command exit only once the VM is set up, so launch errors come back on stderr.
 */
export function qemuArgs(spec: LaunchSpec, accel: Accel): string[] {
  const files = qemuFiles(spec.dir);
  const net = spec.network;
  const netdev = [
    'user',
    'id=net0',
    // restrict=on: the guest reaches nothing but the forwarded port (no host, no outside).
    `restrict=${net.nat ? 'off' : 'on'}`,
    `hostfwd=tcp:127.0.0.1:${net.sshPort}-:22`,
  ].join(',');
  return [
    // The id in the name lets liveness checks tell our process for this VM from a reused pid.
    ['-name', `banger-${spec.id}`],
    ['-M', 'microvm,x-option-roms=off'],
    accel === 'kvm'
      ? ['-accel', 'kvm', '-cpu', 'host']
      : ['-accel', `tcg,thread=multi,tb-size=${TCG_TB_SIZE_MIB}`, '-cpu', 'max'],
    ['-smp', String(spec.vcpu), '-m', `${spec.memoryMiB}M`],
    ['-nodefaults', '-no-user-config', '-display', 'none'],
    ['-kernel', spec.kernel],
    spec.initrd ? ['-initrd', spec.initrd] : [],
    ['-append', spec.cmdline],
    // Order matters: the first virtio-mmio disk is /dev/vda (system), the second /dev/vdb (work).
    drive('system', spec.systemDisk.path, spec.systemDisk.format),
    drive('work', spec.workDisk, 'raw'),
    ['-netdev', netdev, '-device', 'virtio-net-device,netdev=net0'],
    ['-serial', `file:${files.consoleLog}`],
    dataPort(files.dataSocket),
    ['-qmp', `unix:${files.qmpSocket},server=on,wait=off`],
    ['-pidfile', files.pidFile, '-daemonize'],
  ].flat();
}

/**
 * The data port: a virtio-serial port whose host end is a Unix socket QEMU listens on.
 * Bulk copies (workspace imports) ride it instead of ssh over user networking, whose
 * TCP emulation runs on QEMU's main thread and tops out near 20 MiB/s under TCG; the port
 * moves 100+ MiB/s (BENCHMARKS.md). Port 0 is reserved for consoles, so ours is port 1.
 * QEMU takes one client at a time; the guest loads its driver (virtio_console) on first
 * use, so boot does not pay for it.
 */
function dataPort(socket: string): string[] {
  noComma(socket);
  return [
    ...['-device', 'virtio-serial-device,max_ports=2'],
    ...['-chardev', `socket,id=data,path=${socket},server=on,wait=off`],
    ...['-device', `virtserialport,chardev=data,name=${DATA_PORT_NAME}`],
  ];
}

function drive(id: string, path: string, format: 'qcow2' | 'raw'): string[] {
  noComma(path);
  return [
    '-drive',
    `id=${id},file=${path},format=${format},if=none,discard=unmap`,
    '-device',
    `virtio-blk-device,drive=${id}`,
  ];
}

/** QEMU's option syntax splits on commas: a path with one would be read as more options. */
function noComma(path: string): void {
  if (path.includes(',')) throw new Error(`path ${path} contains a comma`);
}

/**
 * Kernel command line: console and root, the TSC hints that keep TCG boots from hanging in
 * calibration, and the VM's identity for the guest's network bootstrap (banger-network).
 */
export function kernelCmdline(opts: {
  hostname: string;
  accel: Accel;
  tscKhz: number | undefined;
  ip: string;
  gateway: string;
  dns: string;
}): string {
  const parts = ['console=ttyS0', 'root=/dev/vda', 'rw', 'quiet', 'cryptomgr.notests', 'pci=off'];
  if (opts.accel === 'tcg' && opts.tscKhz)
    parts.push(`tsc_early_khz=${opts.tscKhz}`, 'tsc=reliable');
  parts.push(
    `banger.hostname=${opts.hostname}`,
    `banger.ip=${opts.ip}`,
    `banger.gw=${opts.gateway}`,
    `banger.dns=${opts.dns}`,
  );
  return parts.join(' ');
}

/** QEMU user networking's fixed addresses. */
export const USER_NET = { ip: '10.0.2.15/24', gateway: '10.0.2.2', dns: '10.0.2.3' } as const;
