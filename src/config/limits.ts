// The sizes a VM may have. config.toml, the CLI's flags and the daemon check the same limits,
// so a value is refused where it was written, and the message names that place.
import { MiB, formatSize } from './size.js';

export const LIMITS = Object.freeze({
  minMemoryMiB: 256,
  maxVcpu: 64,
  minDiskBytes: 64 * MiB,
});

export type SpecField = 'vcpu' | 'memoryMiB' | 'diskBytes';

/**
 * What is wrong with `value` for `field`, or undefined. `source` is where the value came
 * from — a flag (`--memory`), a config key (`vm_defaults.memory`), an RPC param — and starts
 * the message: `--memory 200 MiB is below the 256 MiB minimum`.
 */
export function specProblem(field: SpecField, value: number, source: string): string | undefined {
  switch (field) {
    case 'vcpu':
      if (!Number.isInteger(value)) return `${source} ${value} is not a whole number`;
      return value >= 1 && value <= LIMITS.maxVcpu
        ? undefined
        : `${source} ${value} is out of range: use 1 to ${LIMITS.maxVcpu}`;
    case 'memoryMiB':
      if (!Number.isSafeInteger(value)) return `${source} ${value} is not a whole number of MiB`;
      return value >= LIMITS.minMemoryMiB
        ? undefined
        : `${source} ${value} MiB is below the ${LIMITS.minMemoryMiB} MiB minimum`;
    case 'diskBytes':
      if (!Number.isSafeInteger(value)) return `${source} ${value} is not a whole number of bytes`;
      return value >= LIMITS.minDiskBytes
        ? undefined
        : `${source} ${formatSize(value)} is below the ${formatSize(LIMITS.minDiskBytes)} minimum`;
  }
}
