// VM sizes come from config, else from the host's hardware, else from a safe floor; each value
// keeps its source so `spec:` lines and `doctor` can say why a VM got the size it did.
import type { Config } from './schema.js';
import { GiB, MiB, formatSize } from './size.js';

export type Source = 'config' | 'auto' | 'builtin';
export interface Resolved<T> {
  value: T;
  source: Source;
}
export interface ResolvedVmDefaults {
  vcpu: Resolved<number>;
  memoryMiB: Resolved<number>;
  diskBytes: Resolved<number>;
}
export interface HostResources {
  cpus: number;
  memoryBytes: number;
}

export const BUILTIN_VCPU = 2;
export const BUILTIN_MEMORY_MIB = 1024;
export const BUILTIN_DISK_BYTES = 8 * GiB;

/** A quarter of the host's CPUs, at most 4. */
export function vcpuHeuristic(cpus: number): number {
  return Number.isFinite(cpus) && cpus > 0 ? Math.min(4, Math.floor(cpus / 4)) : 0;
}

/** An eighth of the host's RAM, at most 8 GiB, rounded down to 256 MiB. */
export function memoryHeuristicMiB(memoryBytes: number): number {
  if (!Number.isFinite(memoryBytes) || memoryBytes <= 0) return 0;
  const mib = Math.min(8 * 1024, Math.floor(memoryBytes / 8 / MiB));
  return mib - (mib % 256);
}

function pick(
  configured: number | undefined,
  auto: number | undefined,
  floor: number,
): Resolved<number> {
  if (configured !== undefined) return { value: configured, source: 'config' };
  if (auto !== undefined && auto >= floor) return { value: auto, source: 'auto' };
  return { value: floor, source: 'builtin' };
}

export function resolveVmDefaults(config: Config, host: HostResources): ResolvedVmDefaults {
  const { vcpu, memoryMiB, diskBytes } = config.vmDefaults;
  return {
    vcpu: pick(vcpu, vcpuHeuristic(host.cpus), BUILTIN_VCPU),
    memoryMiB: pick(memoryMiB, memoryHeuristicMiB(host.memoryBytes), BUILTIN_MEMORY_MIB),
    diskBytes: pick(diskBytes, undefined, BUILTIN_DISK_BYTES),
  };
}

export interface VmSpec {
  vcpu: number;
  memoryMiB: number;
  diskBytes: number;
}

/** `2 vcpu · 1024 MiB · 8G disk`: a VM's size, as every command prints it. */
export function formatSpec(spec: VmSpec): string {
  return `${spec.vcpu} vcpu · ${spec.memoryMiB} MiB · ${formatSize(spec.diskBytes)} disk`;
}

/** `spec: 2 vcpu · 1024 MiB · 8G disk · qemu/tcg`, printed before a VM is created. */
export function formatSpecLine(spec: VmSpec, vmmLabel?: string): string {
  return `spec: ${formatSpec(spec)}${vmmLabel ? ` · ${vmmLabel}` : ''}`;
}

/** `vcpu 2 (builtin) · memory 3072 MiB (auto) · disk 8G (builtin)`, for `doctor`. */
export function describeProvenance(resolved: ResolvedVmDefaults): string {
  const { vcpu, memoryMiB, diskBytes } = resolved;
  return [
    `vcpu ${vcpu.value} (${vcpu.source})`,
    `memory ${memoryMiB.value} MiB (${memoryMiB.source})`,
    `disk ${formatSize(diskBytes.value)} (${diskBytes.source})`,
  ].join(' · ');
}
