import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Sandbox } from './sandbox.js';

/**
 * What must hold after any crash of bangerd, once the next daemon has started (it
 * reconciles before it answers): every QEMU belongs to a VM the store calls running and
 * every VM called running has its QEMU; every VM and image record has its disks; no staging
 * file or directory, build scratch, worker process, mount, or ssh master of a VM that does
 * not run is left. Returns the
 * violations and the leaks as sentences (empty when all holds).
 */
export interface Findings {
  violations: string[];
  leaks: string[];
}

interface Image {
  name: string;
  rootfs: string;
}

interface Listed {
  id: string;
  name: string;
  state: string;
}

export async function checkInvariants(
  sb: Sandbox,
  cli: (args: string[]) => Promise<{ exitCode?: number; stdout: unknown }>,
): Promise<Findings & { vms: Listed[] }> {
  const violations: string[] = [];
  const leaks: string[] = [];
  const listed = await cli(['vm', 'ls', '--json']);
  if (listed.exitCode !== 0)
    return { violations: ['vm ls failed after the restart'], leaks, vms: [] };
  const list = listedVms(String(listed.stdout));
  const byId = new Map(list.map((v) => [v.id, v]));

  const procs = await sandboxProcs(sb.dir);
  const qemus = new Map<string, number>();
  for (const p of procs) {
    const i = p.args.indexOf('-name');
    if (/qemu-system/.test(p.args[0] ?? '') && i >= 0)
      qemus.set(p.args[i + 1]!.replace(/^banger-/, ''), p.pid);
  }
  for (const [id, pid] of qemus) {
    const vm = byId.get(id);
    // A template VM (warm start) or a fork's copy has no record while it is made: none runs here.
    if (!vm) violations.push(`qemu ${pid} runs for ${id}, which has no VM record`);
    else if (vm.state !== 'running')
      violations.push(`qemu ${pid} runs for vm ${vm.name}, which the store calls ${vm.state}`);
  }
  // A guest can power itself off between the listing and the scan (a stop the kill cut
  // short had asked it to): what counts is whether the daemon still says so when asked again.
  const gone = list.filter((vm) => vm.state === 'running' && !qemus.has(vm.id));
  const again = gone.length > 0 ? await cli(['vm', 'ls', '--json']) : undefined;
  const stillRunning = new Set(
    again
      ? listedVms(String(again.stdout))
          .filter((v) => v.state === 'running')
          .map((v) => v.id)
      : [],
  );
  for (const vm of gone)
    if (stillRunning.has(vm.id) || again?.exitCode !== 0)
      violations.push(`vm ${vm.name} is called running but no qemu runs for it`);
  for (const vm of list) {
    const dir = join(sb.layout.vmsDir, vm.id);
    for (const disk of ['system.qcow2', 'work.ext4'])
      if (!(await exists(join(dir, disk)))) violations.push(`vm ${vm.name} has no ${disk}`);
  }
  // Anything else running with the sandbox in its command line is a worker a killed daemon
  // left (mmdebstrap, zstd, tar, mkfs): it would go on writing where nothing expects it.
  for (const p of procs)
    if (!/qemu-system|(^|\/)ssh$/.test(p.args[0] ?? ''))
      leaks.push(`process ${p.pid} left: ${p.args.join(' ').slice(0, 120)}`);
  for (const p of procs) {
    if (!/(^|\/)ssh$/.test(p.args[0] ?? '')) continue;
    const owner = list.find((v) => p.args.some((a) => a.includes(v.id) || a.includes(v.name)));
    if (!owner || owner.state !== 'running')
      leaks.push(`ssh ${p.pid} (${p.args.slice(-1)[0]}) of no running VM`);
  }
  for (const root of [sb.layout.stateDir, sb.layout.cacheDir, sb.layout.runtimeDir])
    for (const path of await walk(root))
      if (/\.staging($|\.|\/)|\.banger-cp-|\.tmp$/.test(path)) leaks.push(`left behind: ${path}`);
  for (const path of await walk(sb.layout.cacheDir))
    if (/\/build\/[^/]+$/.test(path)) leaks.push(`build scratch left: ${path}`);
  const images = await cli(['image', 'ls', '--json']);
  const imageList = images.exitCode === 0 ? (JSON.parse(String(images.stdout)) as Image[]) : [];
  for (const image of imageList)
    if (!(await exists(image.rootfs)))
      violations.push(`image ${image.name} has no ${image.rootfs}`);
  const entries = await readdir(sb.layout.vmsDir).catch(() => [] as string[]);
  for (const entry of entries)
    if (!byId.has(entry) && !entry.includes('.')) leaks.push(`vms/${entry} belongs to no VM`);
  const mounts = await readFile('/proc/mounts', 'utf8');
  for (const line of mounts.split('\n'))
    if (line.includes(sb.dir)) leaks.push(`mount left: ${line}`);
  return { violations, leaks, vms: list };
}

export async function sandboxProcs(dir: string): Promise<{ pid: number; args: string[] }[]> {
  const found: { pid: number; args: string[] }[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const raw = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    // A zombie has no command line: it is gone.
    if (!raw) continue;
    const args = raw.replace(/\0$/, '').split('\0');
    if (args.some((a) => a.endsWith('daemon/main.js'))) continue;
    if (args.some((a) => a.includes(`${dir}/`))) found.push({ pid: Number(entry), args });
  }
  return found;
}

async function walk(root: string): Promise<string[]> {
  const out: string[] = [];
  const names = await readdir(root).catch(() => [] as string[]);
  for (const name of names) {
    const path = join(root, name);
    out.push(path);
    const info = await stat(path).catch(() => undefined);
    // The VMs' and images' trees are walked; a golden rootfs tree is not ours to list.
    if (info?.isDirectory() && !path.includes('/tree')) out.push(...(await walk(path)));
  }
  return out;
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/**
 * After a daemon was killed under `started` (a CLI call): lets the CLI end (killed after
 * 5 s), kills the daemon a CLI the kill reached before it connected started of its own (so
 * the check always meets a daemon just started), then checks the invariants.
 */
export async function checkAfterKill(
  sb: Sandbox,
  started: ReturnType<Sandbox['spawn']> | undefined,
): Promise<Findings & { vms: Listed[] }> {
  if (started) {
    const timer = setTimeout(() => started.child.kill('SIGKILL'), 5000);
    await started.child.catch(() => undefined);
    clearTimeout(timer);
  }
  const second = await sb.daemonPid();
  if (second) process.kill(second, 'SIGKILL');
  return checkInvariants(sb, (a) => sb.cli(a));
}

/** `vm ls --json`'s VMs (an array, or under `vms`). */
function listedVms(stdout: string): Listed[] {
  const vms = JSON.parse(stdout) as { vms?: Listed[] } | Listed[] as unknown;
  return Array.isArray(vms) ? (vms as Listed[]) : ((vms as { vms: Listed[] }).vms ?? []);
}
