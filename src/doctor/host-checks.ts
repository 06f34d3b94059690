import { detectLimits } from '../limits/detect.js';
import {
  describeMechanism,
  QEMU_OVERHEAD_BYTES,
  type LimitsMechanism,
} from '../limits/host-limits.js';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { formatSize, formatSizeApprox, GiB } from '../config/size.js';
import { detectKvm, freeBytes } from '../system/host.js';
import { tapSupport, type TapSupport } from '../net/tap/host-support.js';
import type { CheckResult } from './check.js';

const MIN_NODE = [20, 19] as const;

export function checkNode(version = process.versions.node): CheckResult {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const ok = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  return ok
    ? { name: 'node', verdict: 'ok', detail: `v${version}` }
    : {
        name: 'node',
        verdict: 'fail',
        detail: `v${version} is too old`,
        fix: `install Node.js ${MIN_NODE.join('.')} or newer`,
      };
}

export async function checkKvm(root = '/'): Promise<CheckResult> {
  const kvm = await detectKvm(root);
  return kvm.usable
    ? { name: 'kvm', verdict: 'ok', detail: `usable (${kvm.detail})` }
    : {
        name: 'kvm',
        verdict: 'warn',
        detail: kvm.detail,
        fix: 'VMs still run, emulated; on a host with VT-x/AMD-V load kvm_intel or kvm_amd for full speed',
      };
}

export async function checkTun(root = '/'): Promise<CheckResult> {
  const path = join(root, 'dev/net/tun');
  try {
    await access(path, constants.R_OK | constants.W_OK);
    return { name: '/dev/net/tun', verdict: 'ok', detail: 'present' };
  } catch {
    return {
      name: '/dev/net/tun',
      verdict: 'warn',
      detail: 'missing or not read-writable: network.mode = "tap" will not work',
      fix: 'modprobe tun (user-mode networking works without it)',
    };
  }
}

export async function checkDeviceMapper(root = '/'): Promise<CheckResult> {
  try {
    await access(join(root, 'dev/mapper/control'), constants.R_OK | constants.W_OK);
    return { name: 'device-mapper', verdict: 'ok', detail: '/dev/mapper/control present' };
  } catch {
    return {
      name: 'device-mapper',
      verdict: 'warn',
      detail:
        'not available: firecracker system disks fall back to sparse copies (qemu is unaffected)',
      fix: 'modprobe dm_mod',
    };
  }
}

/** Free space where images and VM disks go; measured on the nearest directory that exists. */
export async function checkDisk(stateDir: string): Promise<CheckResult> {
  let dir = stateDir;
  for (;;) {
    try {
      const free = await freeBytes(dir);
      const detail = `${formatSizeApprox(free)} free in ${dir}`;
      if (free < 2 * GiB)
        return {
          name: 'disk',
          verdict: 'fail',
          detail,
          fix: 'free space: an image needs ~1.5G and each VM its work disk',
        };
      if (free < 10 * GiB)
        return {
          name: 'disk',
          verdict: 'warn',
          detail,
          fix: 'an image needs ~1.5G and each VM its work disk',
        };
      return { name: 'disk', verdict: 'ok', detail };
    } catch {
      if (dir === dirname(dir))
        return {
          name: 'disk',
          verdict: 'warn',
          detail: `cannot measure free space for ${stateDir}`,
        };
      dir = dirname(dir);
    }
  }
}

/** Which network modes this host can give VMs: user always, tap when the host has it all. */
export async function checkNetworkModes(
  support: () => Promise<TapSupport> = () => tapSupport(),
): Promise<CheckResult> {
  const tap = await support();
  if (tap.ok) return { name: 'network modes', verdict: 'ok', detail: 'user, tap (--network tap)' };
  const packages = tap.missing.some((m) => m.what.includes('nft')) ? ['nftables'] : [];
  return {
    name: 'network modes',
    verdict: 'warn',
    detail: `user only: tap needs ${tap.missing.map((m) => m.what).join(', ')}`,
    fix: tap.missing.map((m) => m.fix).join('; '),
    ...(packages.length > 0 ? { packages } : {}),
  };
}

/** How `name.vm` resolves on this host: through systemd-resolved, or banger's own ways. */
export async function checkVmNames(root = '/'): Promise<CheckResult> {
  const resolved = await access(join(root, 'run/systemd/resolve/io.systemd.Resolve')).then(
    () => true,
    () => false,
  );
  return resolved
    ? {
        name: 'name.vm',
        verdict: 'ok',
        detail: 'systemd-resolved runs: banger routes .vm on its bridge to its DNS responder',
      }
    : {
        name: 'name.vm',
        verdict: 'ok',
        detail:
          "no systemd-resolved: `ssh NAME.vm` works through banger's ssh config block; other programs can ask banger's DNS (dig @127.0.0.1 -p 42069 NAME.vm)",
      };
}

/** What confines a VM's QEMU to its memory and vCPUs here (see limits/). */
export async function checkHostLimits(
  enabled: boolean,
  detect: () => Promise<LimitsMechanism> = () => detectLimits(),
): Promise<CheckResult> {
  if (!enabled)
    return {
      name: 'vm limits',
      verdict: 'warn',
      detail: 'off (vmm.host_limits = false): a VM can use all of the host',
      fix: 'set vmm.host_limits = true in config.toml',
    };
  const mechanism = await detect();
  if (mechanism.kind === 'none')
    return {
      name: 'vm limits',
      verdict: 'warn',
      detail: `${describeMechanism(mechanism)}: VMs run without host-side CPU and memory limits`,
      fix: 'run bangerd as root on a host with cgroups (v2 with cpu and memory, or v1) or systemd',
    };
  return {
    name: 'vm limits',
    verdict: 'ok',
    detail: `each VM's memory + ${formatSize(QEMU_OVERHEAD_BYTES)} and vCPUs + 1: ${describeMechanism(mechanism)}`,
  };
}
