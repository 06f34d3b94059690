import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BangerError, ErrorCode, errorMessage } from '../errors.js';
import type { HostLimits, LimitsMechanism, VmLimits } from './host-limits.js';

const CPU_PERIOD_US = 100_000;

/**
 * Joins the cgroups named by its first arguments, then becomes the command: QEMU starts
 * (and daemonizes) already confined, with no moment outside its cgroup; a cgroup it cannot
 * join fails the start rather than run QEMU unconfined.
 */
const JOIN_SCRIPT =
  'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 1; shift; n=$((n - 1)); done; exec "$@"';

type Direct = Extract<LimitsMechanism, { kind: 'cgroup2' | 'cgroup1' }>;

/**
 * Cgroups banger makes and removes itself: one directory per VM (named by its id) under a
 * `banger` directory, in the v2 tree or in each of the v1 memory and cpu hierarchies.
 */
export class CgroupLimits implements HostLimits {
  /** VMs between wrap and settled: their cgroups are empty until QEMU joins, not stale. */
  private readonly starting = new Set<string>();
  private retry: NodeJS.Timeout | undefined;
  private retries = 0;

  constructor(readonly mechanism: Direct) {}

  async wrap(vmId: string, limits: VmLimits, argv: readonly string[]): Promise<string[]> {
    this.starting.add(vmId);
    const procs = await this.make(vmId, limits).catch((err: unknown) => {
      this.starting.delete(vmId);
      throw new BangerError(
        ErrorCode.Internal,
        `could not confine vm ${vmId} in a cgroup: ${errorMessage(err)}`,
        { hint: 'banger doctor shows the host limits; vmm.host_limits = false turns them off' },
      );
    });
    return ['sh', '-c', JOIN_SCRIPT, 'banger-limits', String(procs.length), ...procs, ...argv];
  }

  /** Makes the VM's cgroups with its limits; returns their cgroup.procs files. */
  private async make(vmId: string, limits: VmLimits): Promise<string[]> {
    const quota = String((limits.cpuPercent / 100) * CPU_PERIOD_US);
    if (this.mechanism.kind === 'cgroup2') {
      const base = this.mechanism.dir;
      await mkdir(base, { recursive: true });
      // Controllers reach a child only when each parent hands them down.
      for (const dir of [dirname(base), base])
        await writeFile(join(dir, 'cgroup.subtree_control'), '+cpu +memory');
      const dir = join(base, vmId);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'memory.max'), String(limits.memoryBytes));
      await writeFile(join(dir, 'cpu.max'), `${quota} ${CPU_PERIOD_US}`);
      return [join(dir, 'cgroup.procs')];
    }
    const memory = join(this.mechanism.memoryDir, vmId);
    const cpu = join(this.mechanism.cpuDir, vmId);
    await mkdir(memory, { recursive: true });
    await mkdir(cpu, { recursive: true });
    await writeFile(join(memory, 'memory.limit_in_bytes'), String(limits.memoryBytes));
    await writeFile(join(cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
    await writeFile(join(cpu, 'cpu.cfs_quota_us'), quota);
    return [join(memory, 'cgroup.procs'), join(cpu, 'cgroup.procs')];
  }

  settled(vmId: string): void {
    this.starting.delete(vmId);
  }

  /**
   * rmdir refuses a cgroup that still has a process: the running VMs' stay. A QEMU just
   * killed can linger as a zombie (this machine's PID 1 reaps lazily) and hold its cgroup a
   * while: a cgroup with no live process left is tried again every 2 s, for up to a minute.
   */
  async sweep(): Promise<void> {
    const bases =
      this.mechanism.kind === 'cgroup2'
        ? [this.mechanism.dir]
        : [this.mechanism.memoryDir, this.mechanism.cpuDir];
    let lingering = false;
    for (const base of bases) {
      const entries = await readdir(base, { withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        if (!entry.isDirectory() || this.starting.has(entry.name)) continue;
        const dir = join(base, entry.name);
        const removed = await rmdir(dir).then(
          () => true,
          () => false,
        );
        if (!removed && !(await hasLiveProcess(dir))) lingering = true;
      }
    }
    if (lingering && this.retries < 30) {
      this.retries++;
      this.retry ??= setTimeout(() => {
        this.retry = undefined;
        void this.sweep();
      }, 2000).unref();
    } else if (!lingering) this.retries = 0;
  }
}

/** A cgroup's processes, zombies not counted (they are gone but for their exit status). */
async function hasLiveProcess(dir: string): Promise<boolean> {
  const pids = (await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => ''))
    .split('\n')
    .filter((l) => /^\d+$/.test(l));
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (stat !== '' && !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return true;
  }
  return false;
}
