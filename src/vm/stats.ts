import { vmFiles } from '../config/layout.js';
import { sshRun } from '../ssh/connection.js';
import type { VmRecord } from '../store/vms.js';
import type { VmContext } from './context.js';
import { findVm, liveHandles, refresh, sshTarget } from './lookup.js';
import { allocatedBytes } from './disks.js';

export interface VmStats {
  name: string;
  running: boolean;
  pid?: number;
  host?: {
    cpuSeconds: number;
    cpuPercent: number;
    rssBytes: number;
    guestResidentBytes: number;
  };
  disk: { systemBytes: number; workBytes: number; workSizeBytes: number };
  guest?: { uptimeSeconds: number; memoryTotalBytes: number; memoryUsedBytes: number } | undefined;
}

/** Host-side use from the VMM driver, disk use from the files, guest memory over ssh. */
export async function vmStats(ctx: VmContext, ref: string): Promise<VmStats> {
  const vm = await refresh(ctx, findVm(ctx, ref));
  const files = vmFiles(vm.dir);
  const disk = {
    systemBytes: await allocatedBytes(files.systemDisk),
    workBytes: await allocatedBytes(files.workDisk),
    workSizeBytes: vm.diskBytes,
  };
  const handles = await liveHandles(ctx, vm);
  if (!handles) return { name: vm.name, running: false, disk };
  const vmm = ctx.vmms.forDriver(handles.driver);
  const before = await vmm.stats(handles, vm.memoryMiB);
  const t0 = Date.now();
  const guest = await guestStats(ctx, vm);
  // CPU use over the time the guest query took (at least 200 ms).
  await new Promise((r) => setTimeout(r, Math.max(0, 200 - (Date.now() - t0))));
  const after = await vmm.stats(handles, vm.memoryMiB);
  const seconds = (Date.now() - t0) / 1000;
  return {
    name: vm.name,
    running: true,
    pid: handles.pid,
    host: {
      cpuSeconds: after.cpuSeconds,
      cpuPercent: Math.round(((after.cpuSeconds - before.cpuSeconds) / seconds) * 1000) / 10,
      rssBytes: after.rssBytes,
      guestResidentBytes: after.guestResidentBytes,
    },
    disk,
    ...(guest ? { guest } : {}),
  };
}

async function guestStats(ctx: VmContext, vm: VmRecord): Promise<VmStats['guest']> {
  const r = await sshRun(
    await sshTarget(ctx, vm),
    ['cat', '/proc/uptime', '/proc/meminfo'],
    ctx.runner,
    { timeoutMs: 10_000 },
  ).catch(() => undefined);
  if (!r || r.exitCode !== 0) return undefined;
  return parseGuestStats(r.stdout);
}

/** /proc/uptime followed by /proc/meminfo, as `cat` prints them. */
export function parseGuestStats(text: string): VmStats['guest'] {
  const uptime = Number(text.split(/\s/)[0]);
  const kib = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  const total = kib('MemTotal');
  const available = kib('MemAvailable');
  if (!Number.isFinite(uptime) || !Number.isFinite(total) || !Number.isFinite(available))
    return undefined;
  return {
    uptimeSeconds: Math.round(uptime),
    memoryTotalBytes: total,
    memoryUsedBytes: total - available,
  };
}
