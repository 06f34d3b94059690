import { notImplemented } from '../errors.js';
import type { Runner } from '../system/runner.js';
import { QemuVmm } from './qemu/qemu-vmm.js';
import type { VmmChoice, VmmDriver } from './select.js';
import type { Vmm } from './vmm.js';

/**
 * The driver for a VMM choice. This is the seam the Firecracker driver plugs into: until it
 * exists, an explicit `vmm.driver = "firecracker"` fails at VM create with a clear error.
 */
export function vmmFor(
  driver: VmmDriver,
  choice: VmmChoice,
  runner: Runner,
  qemuBinary?: string,
): Vmm {
  if (driver === 'firecracker') throw notImplemented('the firecracker driver');
  return new QemuVmm(choice.accel, runner, qemuBinary);
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
