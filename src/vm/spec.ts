import { formatSize } from '../config/size.js';
import { BangerError, ErrorCode } from '../errors.js';

export const LIMITS = {
  minMemoryMiB: 256,
  maxVcpu: 64,
  minDiskBytes: 64 * 2 ** 20,
} as const;

/**
 * The daemon's last check of a VM's size (the CLI and the config loader check first, naming
 * the flag or key the value came from): an RPC caller's field names.
 */
export function validateSpec(spec: { vcpu: number; memoryMiB: number; diskBytes: number }): void {
  const bad = (message: string, hint: string) =>
    new BangerError(ErrorCode.InvalidParams, message, { hint });
  if (!Number.isInteger(spec.vcpu) || spec.vcpu < 1 || spec.vcpu > LIMITS.maxVcpu)
    throw bad(`vcpu ${spec.vcpu} is out of range`, `use 1 to ${LIMITS.maxVcpu}`);
  if (!Number.isInteger(spec.memoryMiB) || spec.memoryMiB < LIMITS.minMemoryMiB)
    throw bad(`memory ${spec.memoryMiB} MiB is too small`, `use at least ${LIMITS.minMemoryMiB}M`);
  if (!Number.isSafeInteger(spec.diskBytes) || spec.diskBytes < LIMITS.minDiskBytes)
    throw bad(
      `disk size ${formatSize(spec.diskBytes)} is too small`,
      `use at least ${formatSize(LIMITS.minDiskBytes)}`,
    );
}
