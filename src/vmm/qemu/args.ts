import { vmFiles } from '../../config/layout.js';
import { USER_PROXY } from '../../egress/guest-env.js';
import { DATA_PORT_NAME, type Accel, type LaunchSpec } from '../vmm.js';

/**
 * TCG's translation cache in MiB. QEMU's default (1 GiB) makes an idle VM's host RSS grow
 * past 1 GiB after a few logins. Measured here (BENCHMARKS.md): 64 → 150 MiB of QEMU
 * overhead on top of guest RAM, 40 → 124 MiB for ~0.15 s more to ssh, 32 → 116 MiB but
 * ~1 s more (the boot's translated code no longer fits).
 */
export const TCG_TB_SIZE_MIB = 40;

/**
 * How TCG runs the vCPUs: all on one host thread. Multi-threaded TCG (QEMU 7.2) can keep
 * a stale translation of code the guest kernel patches while another vCPU runs it: Linux
 * flips static keys with int3 breakpoints (text_poke_bp), and a vCPU left with a
 * translation holding the int3 after the patch is done takes the breakpoint forever (memory
 * says `nop`, the vCPU keeps trapping at the same address, interrupts off). Seen as a boot
 * that never reaches sshd, silent on the console: 2 boots in 34 with the host's cores busy
 * (none in 48 idle), both at `sched_clock_idle_wakeup_event` after the late initcalls;
 * single-threaded, none in 48 busy. One thread cannot translate while another writes. It
 * also boots faster here (BENCHMARKS.md); a guest's parallel work gets one host core.
 * KVM is not affected.
 */
export const TCG_ACCEL = `tcg,thread=single,tb-size=${TCG_TB_SIZE_MIB}`;

/**
 * The whole qemu-system-x86_64 command line for one VM on the microvm machine: no firmware
 * scan, no PCI, virtio-mmio disks and NIC, serial console to a file, QMP for control.
 * `-daemonize` detaches it from the daemon (it survives a daemon restart) and makes the
 * command exit only once the VM is set up, so launch errors come back on stderr.
 */
export function qemuArgs(spec: LaunchSpec, accel: Accel, tscKhz?: number): string[] {
  const files = vmFiles(spec.dir);
  const net = spec.network;
  noComma(net.mode === 'tap' ? net.tap : (net.egress?.command ?? ''));
  const netdev =
    net.mode === 'tap'
      ? `tap,id=net0,ifname=${net.tap},script=no,downscript=no`
      : [
          'user',
          'id=net0',
          // restrict=on: the guest reaches nothing but the forwarded port (no host, no outside)
          // and the egress proxy's address.
          `restrict=${net.nat ? 'off' : 'on'}`,
          `hostfwd=tcp:127.0.0.1:${net.sshPort}-:22`,
          ...(net.egress && !net.nat
            ? [`guestfwd=tcp:${USER_PROXY.host}:${USER_PROXY.port}-cmd:${net.egress.command}`]
            : []),
        ].join(',');
  const nic = `virtio-net-device,netdev=net0${net.mode === 'tap' ? `,mac=${net.mac}` : ''}`;
  return [
    // The id in the name lets liveness checks tell our process for this VM from a reused pid.
    ['-name', `banger-${spec.id}`],
    // RAM is always the backend object `mem`: a saved state names its RAM block, so every
    // VM's must be called the same for state saved by one to load into another.
    ['-M', 'microvm,x-option-roms=off,memory-backend=mem'],
    ['-object', memoryBackend(spec)],
    accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', TCG_ACCEL, '-cpu', 'max'],
    ['-smp', String(spec.vcpu), '-m', `${spec.memoryMiB}M`],
    ['-nodefaults', '-no-user-config', '-display', 'none'],
    ['-kernel', spec.kernel],
    spec.initrd ? ['-initrd', spec.initrd] : [],
    ['-append', qemuCmdline(spec.cmdline, accel, tscKhz)],
    // Order matters: the first virtio-mmio disk is /dev/vda (system), the second /dev/vdb
    // (work), then the read-only ones from /dev/vdc.
    drive('system', spec.systemDisk.path, spec.systemDisk.format),
    drive('work', spec.workDisk, 'raw'),
    (spec.readOnlyDisks ?? []).flatMap((path, i) => drive(`ro${i}`, path, 'raw', true)),
    ['-netdev', netdev, '-device', nic],
    // Appended (O_APPEND), so the daemon can rotate it in place (vm/console-cap.ts).
    ['-chardev', `file,id=console,path=${files.consoleLog},append=on`],
    ['-serial', 'chardev:console'],
    dataPort(files.dataSocket),
    ['-qmp', `unix:${files.qmpSocket},server=on,wait=off`],
    // Resuming saved state: start paused and wait for the state over QMP (migrate-incoming).
    spec.restore ? ['-S', '-incoming', 'defer'] : [],
    // A device-state-only save has no configuration section (the machine type and its
    // options), which an incoming migration otherwise insists on.
    spec.restore?.devicesOnly ? ['-global', 'migration.send-configuration=off'] : [],
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

function memoryBackend(spec: LaunchSpec): string {
  const size = `size=${spec.memoryMiB}M`;
  if (!spec.memory) return `memory-backend-ram,id=mem,${size}`;
  noComma(spec.memory.file);
  // share=off: a private copy-on-write mapping, so the file itself is never written. (Not
  // readonly=on: QEMU then maps the guest's RAM read-only, and the guest hangs.)
  const mode = spec.memory.shared ? 'share=on' : 'share=off';
  return `memory-backend-file,id=mem,${size},mem-path=${spec.memory.file},${mode}`;
}

function drive(id: string, path: string, format: 'qcow2' | 'raw', readOnly = false): string[] {
  noComma(path);
  return [
    '-drive',
    `id=${id},file=${path},format=${format},if=none,${readOnly ? 'readonly=on' : 'discard=unmap'}`,
    '-device',
    `virtio-blk-device,drive=${id}`,
  ];
}

/** QEMU's option syntax splits on commas: a path with one would be read as more options. */
function noComma(path: string): void {
  if (path.includes(',')) throw new Error(`path ${path} contains a comma`);
}

/**
 * The kernel command line: the serial console this machine has, no PCI bus to scan, and
 * under TCG the host's TSC rate (microvm boots hang in TSC calibration without it), then
 * what banger asked for (root disk, the VM's identity).
 */
export function qemuCmdline(
  banger: readonly string[],
  accel: Accel,
  tscKhz: number | undefined,
): string {
  const parts = ['console=ttyS0', 'pci=off'];
  if (accel === 'tcg' && tscKhz) parts.push(`tsc_early_khz=${tscKhz}`, 'tsc=reliable');
  return [...parts, ...banger].join(' ');
}
