import type { Runner } from '../system/runner.js';
import { which } from '../system/which.js';
import type { CheckResult } from './check.js';

/** The host programs banger runs, and the Debian package each comes from. */
export interface Tool {
  name: string;
  package: string;
  purpose: string;
  /** Arguments that print a version on the first line; omitted when the tool has none. */
  versionArgs?: string[];
  optional?: boolean;
}

export const TOOLS: readonly Tool[] = [
  {
    name: 'qemu-system-x86_64',
    package: 'qemu-system-x86',
    purpose: 'runs the VMs',
    versionArgs: ['--version'],
  },
  {
    name: 'qemu-img',
    package: 'qemu-utils',
    purpose: 'makes copy-on-write system disks',
    versionArgs: ['--version'],
  },
  {
    name: 'firecracker',
    package: '',
    purpose: 'alternative VMM on KVM hosts',
    versionArgs: ['--version'],
    optional: true,
  },
  { name: 'mkfs.ext4', package: 'e2fsprogs', purpose: 'builds image and work disks' },
  { name: 'debugfs', package: 'e2fsprogs', purpose: 'writes files into disks without mounting' },
  {
    name: 'mmdebstrap',
    package: 'mmdebstrap',
    purpose: 'builds the golden image',
    versionArgs: ['--version'],
  },
  {
    name: 'busybox',
    package: 'busybox-static',
    purpose: "initramfs of the golden image; user-mode guests' link to the egress proxy",
  },
  {
    name: 'patchelf',
    package: 'patchelf',
    purpose: 'builds the guest kit pulled images boot with',
    versionArgs: ['--version'],
  },
  { name: 'zstd', package: 'zstd', purpose: 'image bundles', versionArgs: ['--version'] },
  {
    name: 'lz4',
    package: 'lz4',
    purpose: 'unpacks the Debian kernel for direct boot',
    versionArgs: ['--version'],
  },
  { name: 'ssh', package: 'openssh-client', purpose: 'talks to the guests', versionArgs: ['-V'] },
  { name: 'ssh-keygen', package: 'openssh-client', purpose: "makes banger's SSH key" },
  { name: 'git', package: 'git', purpose: 'workspaces', versionArgs: ['--version'] },
  { name: 'ip', package: 'iproute2', purpose: 'tap networking', versionArgs: ['-V'] },
  {
    name: 'nft',
    package: 'nftables',
    purpose: "tap networking: banger's firewall and NAT rules",
    versionArgs: ['--version'],
    optional: true,
  },
];

export async function checkTool(
  tool: Tool,
  runner: Runner,
  pathEnv?: string,
): Promise<CheckResult> {
  const path = which(tool.name, pathEnv);
  if (!path) {
    if (tool.optional)
      return {
        name: tool.name,
        verdict: 'ok',
        detail: `not installed (optional: ${tool.purpose})`,
      };
    return {
      name: tool.name,
      verdict: 'fail',
      detail: `not found (${tool.purpose})`,
      fix: `apt-get install ${tool.package}`,
      packages: [tool.package],
    };
  }
  if (!tool.versionArgs) return { name: tool.name, verdict: 'ok', detail: path };
  const result = await runner
    .run(path, tool.versionArgs, { allowFailure: true, timeoutMs: 5000 })
    .catch(() => undefined);
  // ssh -V prints on stderr; everything else on stdout.
  const first =
    `${result?.stdout ?? ''}\n${result?.stderr ?? ''}`.split('\n').find((l) => l.trim()) ?? '';
  return { name: tool.name, verdict: 'ok', detail: first ? `${first.trim()} (${path})` : path };
}
