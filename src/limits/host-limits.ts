// Host-side limits on a VM: its QEMU runs in a cgroup capped at the VM's memory (plus what
// QEMU itself needs) and its vCPUs (plus one for QEMU's own I/O). A guest cannot take more
// of the host than it was given, whatever runs inside it. How depends on the host
// (detect.ts): a systemd scope, a cgroup v2 or v1 directory banger manages, or nothing.

import { MiB } from '../config/size.js';

/** QEMU's own memory beside the guest's RAM: its code, device state, TCG's translation cache. */
export const QEMU_OVERHEAD_BYTES = 256 * MiB;

/** What one VM may use. */
export interface VmLimits {
  memoryBytes: number;
  /** CPU time in percent of one core (200 = two cores' worth). */
  cpuPercent: number;
}

export function vmLimits(vcpu: number, memoryMiB: number): VmLimits {
  return { memoryBytes: memoryMiB * MiB + QEMU_OVERHEAD_BYTES, cpuPercent: (vcpu + 1) * 100 };
}

/** The way this host confines a VM's QEMU; `none` says why not. */
export type LimitsMechanism =
  | { kind: 'systemd'; user: boolean }
  | { kind: 'cgroup2'; dir: string }
  | { kind: 'cgroup1'; memoryDir: string; cpuDir: string }
  | { kind: 'none'; why: string };

export interface HostLimits {
  readonly mechanism: LimitsMechanism;
  /**
   * The command line that runs `argv` (QEMU, which daemonizes) confined to `limits`, after
   * making the VM's cgroup. Throws a clear error when the cgroup cannot be made.
   */
  wrap(vmId: string, limits: VmLimits, argv: readonly string[]): Promise<string[]>;
  /** The wrapped command ended (QEMU daemonized, or failed): its cgroup may go once empty. */
  settled(vmId: string): void;
  /** Removes the cgroups no process is left in (a VM's, once its QEMU exited). */
  sweep(): Promise<void>;
}

/** One line for doctor and the daemon's log: what confines a VM here. */
export function describeMechanism(m: LimitsMechanism): string {
  switch (m.kind) {
    case 'systemd':
      return `a systemd scope per VM (systemd-run --scope${m.user ? ' --user' : ''})`;
    case 'cgroup2':
      return `cgroup v2 under ${m.dir}`;
    case 'cgroup1':
      return `cgroup v1 under ${m.memoryDir} and ${m.cpuDir}`;
    case 'none':
      return `none: ${m.why}`;
  }
}
