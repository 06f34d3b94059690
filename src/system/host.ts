import { constants } from 'node:fs';
import { access, readFile, stat, statfs } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';

/** Facts about the host that decide acceleration, defaults and doctor's verdicts. */
export interface HostFacts {
  cpus: number;
  memoryBytes: number;
}

export function hostFacts(): HostFacts {
  return { cpus: availableParallelism(), memoryBytes: totalmem() };
}

export interface KvmStatus {
  usable: boolean;
  /** One line a user can act on. */
  detail: string;
}

/**
 * /dev/kvm alone proves nothing: a paravirtual kvm_pvm module exposes it but hangs stock
 * kernels. KVM is usable only with kvm_intel or kvm_amd loaded and /dev/kvm read-writable.
 */
export async function detectKvm(root = '/'): Promise<KvmStatus> {
  const modules = join(root, 'sys/module');
  const hasModule = async (name: string) => exists(join(modules, name));
  const [intel, amd, pvm] = await Promise.all([
    hasModule('kvm_intel'),
    hasModule('kvm_amd'),
    hasModule('kvm_pvm'),
  ]);
  const device = join(root, 'dev/kvm');
  if (!intel && !amd) {
    if (pvm)
      return {
        usable: false,
        detail:
          'only the paravirtual kvm_pvm module is loaded; stock kernels hang on it — TCG emulation, slow',
      };
    return { usable: false, detail: 'no kvm_intel or kvm_amd module loaded — TCG emulation, slow' };
  }
  if (!(await exists(device)))
    return { usable: false, detail: `${device} is missing — TCG emulation, slow` };
  try {
    await access(device, constants.R_OK | constants.W_OK);
  } catch {
    return {
      usable: false,
      detail: `${device} is not read-writable by this user (add it to the kvm group) — TCG emulation, slow`,
    };
  }
  return { usable: true, detail: `${intel ? 'kvm_intel' : 'kvm_amd'} with ${device}` };
}

/** The host TSC rate in kHz; TCG microvm guests need it on their command line (tsc_early_khz). */
export async function hostTscKhz(cpuinfoPath = '/proc/cpuinfo'): Promise<number | undefined> {
  const text = await readFile(cpuinfoPath, 'utf8').catch(() => '');
  const match = /^cpu MHz\s*:\s*([\d.]+)/m.exec(text);
  return match?.[1] ? Math.round(Number(match[1]) * 1000) : undefined;
}

export async function freeBytes(path: string): Promise<number> {
  const s = await statfs(path);
  return s.bavail * s.bsize;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
