import type { HostLimits, LimitsMechanism, VmLimits } from './host-limits.js';

/**
 * Where systemd runs the host it owns the cgroup tree: each VM's QEMU starts in a scope of
 * its own with MemoryMax and CPUQuota. The scope ends, and is collected, with its last
 * process, so there is nothing to sweep.
 */
export class SystemdLimits implements HostLimits {
  constructor(readonly mechanism: Extract<LimitsMechanism, { kind: 'systemd' }>) {}

  wrap(vmId: string, limits: VmLimits, argv: readonly string[]): Promise<string[]> {
    return Promise.resolve([
      'systemd-run',
      ...(this.mechanism.user ? ['--user'] : []),
      ...['--scope', '--quiet', '--collect'],
      // A restarted VM's old scope may not be collected yet: each start names its own.
      `--unit=banger-${vmId}-${Date.now().toString(36)}`,
      ...['-p', `MemoryMax=${limits.memoryBytes}`, '-p', `CPUQuota=${limits.cpuPercent}%`],
      '--',
      ...argv,
    ]);
  }

  settled(): void {
    // systemd collects the scope itself.
  }

  sweep(): Promise<void> {
    return Promise.resolve();
  }
}
