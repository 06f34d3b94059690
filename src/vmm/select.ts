import { BangerError, ErrorCode } from '../errors.js';
import type { KvmStatus } from '../system/host.js';
import type { Accel, VmmDriver } from './vmm.js';

export type { Accel, VmmDriver } from './vmm.js';

export interface VmmPreference {
  driver: 'auto' | VmmDriver;
  accel: 'auto' | Accel;
}

export interface VmmChoice {
  driver: VmmDriver;
  accel: Accel;
  /** Why this choice, for `daemon status` and `doctor`. */
  reason: string;
}

/**
 * Firecracker only when it is installed and KVM really works; QEMU otherwise, with KVM
 * when usable and TCG emulation when not. An explicit choice that cannot work is an error.
 */
export function selectVmm(
  pref: VmmPreference,
  kvm: KvmStatus,
  firecrackerPath: string | undefined,
): VmmChoice {
  if (pref.accel === 'kvm' && !kvm.usable)
    throw new BangerError(
      ErrorCode.Config,
      `vmm.accel is "kvm" but KVM is not usable: ${kvm.detail}`,
      {
        hint: 'set vmm.accel = "auto" (or "tcg") in config.toml, or run "banger doctor"',
      },
    );
  if (pref.driver === 'firecracker') {
    if (!firecrackerPath)
      throw new BangerError(
        ErrorCode.Config,
        'vmm.driver is "firecracker" but no firecracker binary was found',
        {
          hint: 'install firecracker or set vmm.firecracker_binary, or use vmm.driver = "auto"',
        },
      );
    if (!kvm.usable || pref.accel === 'tcg')
      throw new BangerError(
        ErrorCode.Config,
        `vmm.driver is "firecracker", which needs KVM: ${kvm.detail}`,
        {
          hint: 'use vmm.driver = "auto" or "qemu" on this host',
        },
      );
    return { driver: 'firecracker', accel: 'kvm', reason: 'configured' };
  }
  const accel: Accel = pref.accel === 'auto' ? (kvm.usable ? 'kvm' : 'tcg') : pref.accel;
  if (pref.driver === 'auto' && firecrackerPath && accel === 'kvm')
    return { driver: 'firecracker', accel, reason: 'firecracker found and KVM usable' };
  const reason =
    pref.driver === 'qemu'
      ? 'configured'
      : firecrackerPath
        ? `firecracker needs KVM (${kvm.detail})`
        : 'firecracker not installed';
  return { driver: 'qemu', accel, reason };
}

export function vmmLabel(choice: Pick<VmmChoice, 'driver' | 'accel'>): string {
  return `${choice.driver}/${choice.accel}`;
}
