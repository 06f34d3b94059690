import { LIMITS, specProblem, type SpecField } from '../config/limits.js';
import { formatSize } from '../config/size.js';
import { BangerError, ErrorCode } from '../errors.js';

const HINTS: Record<SpecField, string> = {
  vcpu: `use 1 to ${LIMITS.maxVcpu}`,
  memoryMiB: `use at least ${LIMITS.minMemoryMiB} MiB`,
  diskBytes: `use at least ${formatSize(LIMITS.minDiskBytes)}`,
};

/**
 * The daemon's last check of a VM's size, on the limits config.toml and the CLI's flags
 * check first (naming the key or flag): what reaches it from an RPC caller is named by its
 * param, e.g. `vm.create memoryMiB 16 MiB is below the 256 MiB minimum`.
 */
export function validateSpec(
  spec: { vcpu: number; memoryMiB: number; diskBytes: number },
  method: 'vm.create' | 'vm.set',
): void {
  for (const field of ['vcpu', 'memoryMiB', 'diskBytes'] as const) {
    const problem = specProblem(field, spec[field], `${method} ${field}`);
    if (problem) throw new BangerError(ErrorCode.InvalidParams, problem, { hint: HINTS[field] });
  }
}
