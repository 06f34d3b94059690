import { notImplemented } from '../errors.js';
import type { HostLimits } from '../limits/host-limits.js';
import type { Runner } from '../system/runner.js';
import { QemuVmm } from './qemu/qemu-vmm.js';
import type { VmmChoice } from './select.js';
import type { Vmm, VmmDriver, VmmRegistry } from './vmm.js';

export interface RegistryOptions {
  runner: Runner;
  qemuBinary?: string | undefined;
  tscKhz?: number | undefined;
  limits?: HostLimits | undefined;
}

/**
 * The drivers of one daemon, made on first use. This is the seam the Firecracker driver
 * plugs into: until it exists, asking for it fails with a clear "not implemented".
 */
export function vmmRegistry(choice: VmmChoice, options: RegistryOptions): VmmRegistry {
  const made = new Map<VmmDriver, Vmm>();
  const forDriver = (driver: VmmDriver): Vmm => {
    let vmm = made.get(driver);
    if (!vmm) {
      if (driver === 'firecracker') throw notImplemented('the firecracker driver');
      vmm = new QemuVmm(choice.accel, options.runner, {
        binary: options.qemuBinary,
        tscKhz: options.tscKhz,
        limits: options.limits,
      });
      made.set(driver, vmm);
    }
    return vmm;
  };
  return {
    get current() {
      return forDriver(choice.driver);
    },
    forDriver,
  };
}

/**
 * What `auto` resolves to today: selectVmm prefers Firecracker where it could run, but its
 * driver is not written yet, so auto means QEMU (with KVM where usable).
 */
export function effectiveChoice(choice: VmmChoice, configured: 'auto' | VmmDriver): VmmChoice {
  if (choice.driver === 'firecracker' && configured === 'auto')
    return {
      driver: 'qemu',
      accel: choice.accel,
      reason: 'the firecracker driver is not available yet',
    };
  return choice;
}
