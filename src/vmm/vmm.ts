import type { Accel, VmmDriver } from './select.js';

/**
 * What a VMM driver needs to boot one VM. Everything is a path or a number decided by the
 * VM service; the driver only turns it into a running process.
 */
export interface LaunchSpec {
  /** The VM's id: every process is tagged with it so liveness checks know it is ours. */
  id: string;
  name: string;
  /** The VM directory: pidfile, control socket and console log live here. */
  dir: string;
  kernel: string;
  initrd?: string | undefined;
  cmdline: string;
  systemDisk: { path: string; format: 'qcow2' | 'raw' };
  workDisk: string;
  vcpu: number;
  memoryMiB: number;
  network: UserNetwork;
}

/** QEMU user-mode networking: ssh forwarded from 127.0.0.1; `nat` lets the guest out. */
export interface UserNetwork {
  mode: 'user';
  sshPort: number;
  nat: boolean;
}

/**
 * The name a guest finds its data port by (/sys/class/virtio-ports/vportNpM/name): the
 * byte stream whose host end is VmHandles.dataSocket.
 */
export const DATA_PORT_NAME = 'banger.data';

/** What is true of a VM while its VMM runs; persisted in handles.json, never in SQLite. */
export interface VmHandles {
  driver: VmmDriver;
  accel: Accel;
  pid: number;
  /** QMP (qemu) or API (firecracker) socket. */
  controlSocket: string;
  consoleLog: string;
  sshPort: number;
  startedAt: string;
  /**
   * The host end of the guest's data port (a Unix socket): a byte stream that bypasses
   * the emulated network, for bulk copies such as workspace imports. Absent when the
   * driver has none (or the VM was started before banger had it): copies then go over ssh.
   */
  dataSocket?: string | undefined;
}

export interface HostStats {
  /** CPU seconds the VMM process has used (user + system). */
  cpuSeconds: number;
  rssBytes: number;
  /** The part of rssBytes that is guest RAM (0 when the driver cannot tell). */
  guestResidentBytes: number;
}

export interface VmmCapabilities {
  /** The guest can be asked to power off through the VMM (ACPI button, Ctrl-Alt-Del). */
  gracefulStop: boolean;
  /** Disks may be qcow2 overlays (qemu) or must be raw (firecracker). */
  qcow2: boolean;
}

/**
 * One driver per VMM program. start() returns once the process runs detached from the
 * daemon (a VM survives a daemon restart); stop() asks the guest first and kills last.
 */
export interface Vmm {
  readonly driver: VmmDriver;
  readonly accel: Accel;
  readonly capabilities: VmmCapabilities;
  start(spec: LaunchSpec, signal: AbortSignal): Promise<VmHandles>;
  /** Graceful power-off, waiting up to timeoutMs for the process to exit, then kill. */
  stop(handles: VmHandles, timeoutMs: number): Promise<void>;
  kill(handles: VmHandles): Promise<void>;
  /** The process is alive AND is this driver's process for this VM. */
  alive(handles: VmHandles, vmId: string): Promise<boolean>;
  stats(handles: VmHandles, memoryMiB: number): Promise<HostStats>;
}
