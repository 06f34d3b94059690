import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../errors.js';
import type { Runner } from '../system/runner.js';
import { which } from '../system/which.js';
import { CgroupLimits } from './cgroup.js';
import type { HostLimits, LimitsMechanism } from './host-limits.js';
import { SystemdLimits } from './systemd.js';

export interface DetectOptions {
  /** The file system root (tests point it at a made-up tree). */
  root?: string;
  /** This process's /proc/self/cgroup text. */
  selfCgroup?: string;
  uid?: number;
  /** systemd-run's path, undefined when it is not installed. */
  systemdRun?: string | undefined;
  /** Where a user's systemd listens ($XDG_RUNTIME_DIR/bus). */
  userBus?: string | undefined;
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );
const writable = (path: string) =>
  access(path, constants.W_OK).then(
    () => true,
    () => false,
  );

/**
 * How this host can confine a VM, in order of preference: systemd's own scopes where
 * systemd runs the machine (it owns the cgroup tree there), else a cgroup v2 directory with
 * the cpu and memory controllers, else the v1 cpu and memory hierarchies, nested under this
 * process's own cgroups (so an outer limit still holds). Read-only: nothing is made.
 */
export async function detectLimits(options: DetectOptions = {}): Promise<LimitsMechanism> {
  const root = options.root ?? '/';
  const uid = options.uid ?? process.getuid?.() ?? 0;
  const systemdRun = 'systemdRun' in options ? options.systemdRun : which('systemd-run');
  if (await exists(join(root, 'run/systemd/system'))) {
    if (!systemdRun) return none('systemd runs this host but systemd-run is not installed');
    if (uid === 0) return { kind: 'systemd', user: false };
    const bus = options.userBus ?? join(process.env['XDG_RUNTIME_DIR'] ?? '/nonexistent', 'bus');
    if (await exists(bus)) return { kind: 'systemd', user: true };
    return none(`no user systemd bus at ${bus} (systemd-run --user needs one)`);
  }
  const cgroupFs = join(root, 'sys/fs/cgroup');
  const controllers = await readFile(join(cgroupFs, 'cgroup.controllers'), 'utf8').catch(
    () => undefined,
  );
  if (controllers !== undefined) {
    const have = new Set(controllers.trim().split(/\s+/));
    if (!have.has('cpu') || !have.has('memory'))
      return none(`cgroup v2 at ${cgroupFs} offers no cpu and memory controllers`);
    if (!(await writable(cgroupFs)))
      return none(`cgroup v2 at ${cgroupFs} is not writable by this user (run bangerd as root)`);
    return { kind: 'cgroup2', dir: join(cgroupFs, 'banger') };
  }
  const self =
    options.selfCgroup ?? (await readFile(join(root, 'proc/self/cgroup'), 'utf8').catch(() => ''));
  const memory = await v1Dir(cgroupFs, self, 'memory');
  const cpu = await v1Dir(cgroupFs, self, 'cpu');
  if (!memory || !cpu)
    return none(`no cgroup with the cpu and memory controllers under ${cgroupFs}`);
  if (!(await writable(memory)) || !(await writable(cpu)))
    return none(
      `the cgroups ${memory} and ${cpu} are not writable by this user (run bangerd as root)`,
    );
  return { kind: 'cgroup1', memoryDir: join(memory, 'banger'), cpuDir: join(cpu, 'banger') };
}

/** This process's cgroup in the v1 hierarchy of `controller`, when it is mounted. */
async function v1Dir(
  cgroupFs: string,
  self: string,
  controller: string,
): Promise<string | undefined> {
  for (const line of self.split('\n')) {
    const [, list = '', path = ''] = line.split(':');
    if (!list.split(',').includes(controller)) continue;
    const dir = join(cgroupFs, controller, path);
    return (await exists(join(dir, 'cgroup.procs'))) ? dir : undefined;
  }
  return undefined;
}

function none(why: string): LimitsMechanism {
  return { kind: 'none', why };
}

/**
 * A systemd scope is only known to work once one was made: systemd-run needs systemd's bus
 * (the user's for --user). Tried once with `true`; a failure is `none` with systemd-run's
 * words, so that VM starts are not what finds out. Other mechanisms are returned as given.
 */
export async function verifyLimits(
  mechanism: LimitsMechanism,
  runner: Runner,
): Promise<LimitsMechanism> {
  if (mechanism.kind !== 'systemd') return mechanism;
  const probe = await new SystemdLimits(mechanism).wrap(
    'probe',
    { memoryBytes: 64 * 1024 * 1024, cpuPercent: 100 },
    ['true'],
  );
  const [command = 'systemd-run', ...args] = probe;
  try {
    await runner.run(command, args, { timeoutMs: 15_000 });
    return mechanism;
  } catch (err) {
    return none(`systemd-run --scope failed here: ${errorMessage(err)}`);
  }
}

/** The HostLimits for a mechanism; undefined for none (VMs then run unconfined). */
export function makeHostLimits(mechanism: LimitsMechanism): HostLimits | undefined {
  switch (mechanism.kind) {
    case 'systemd':
      return new SystemdLimits(mechanism);
    case 'cgroup2':
    case 'cgroup1':
      return new CgroupLimits(mechanism);
    case 'none':
      return undefined;
  }
}
