import { readFile } from 'node:fs/promises';

// What /proc says about a process. Liveness never trusts a pid alone: pids are reused, so
// callers also check the command line names what they expect.

/** USER_HZ: the unit of utime/stime in /proc/PID/stat, 100 on every Linux architecture we run on. */
const USER_HZ = 100;

export function pidExists(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The argv of a running process; empty when it is gone or a zombie. */
export async function processArgs(pid: number, procRoot = '/proc'): Promise<string[]> {
  const raw = await readFile(`${procRoot}/${pid}/cmdline`, 'utf8').catch(() => '');
  return raw === '' ? [] : raw.replace(/\0$/, '').split('\0');
}

export interface ProcessUsage {
  cpuSeconds: number;
  rssBytes: number;
}

export async function processUsage(pid: number, procRoot = '/proc'): Promise<ProcessUsage> {
  const [stat, status] = await Promise.all([
    readFile(`${procRoot}/${pid}/stat`, 'utf8'),
    readFile(`${procRoot}/${pid}/status`, 'utf8'),
  ]);
  return { cpuSeconds: parseCpuSeconds(stat), rssBytes: parseRssBytes(status) };
}

/** utime + stime from /proc/PID/stat; the command name may hold spaces and parentheses. */
export function parseCpuSeconds(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime + stime) ? (utime + stime) / USER_HZ : 0;
}

export function parseRssBytes(status: string): number {
  const kib = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
  return kib ? Number(kib) * 1024 : 0;
}

/**
 * Resident bytes of the process's anonymous mappings of exactly `sizeBytes` (a VM's guest
 * RAM is one such mapping): what the host backs for the guest, as opposed to the VMM's own
 * overhead. 0 when there is no such mapping.
 */
export async function residentOfMappingSized(
  pid: number,
  sizeBytes: number,
  procRoot = '/proc',
): Promise<number> {
  const smaps = await readFile(`${procRoot}/${pid}/smaps`, 'utf8').catch(() => '');
  return parseMappingResident(smaps, sizeBytes);
}

export function parseMappingResident(smaps: string, sizeBytes: number): number {
  let total = 0;
  let match = false;
  for (const line of smaps.split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (header) {
      const size = parseInt(header[2]!, 16) - parseInt(header[1]!, 16);
      // Anonymous: inode 0 and no path (QEMU's RAM block, not a file or [heap]).
      match = size === sizeBytes && header[3] === '0' && header[4] === '';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB$/.exec(line);
    if (rss && match) total += Number(rss[1]) * 1024;
  }
  return total;
}

/** Waits until `pid` has exited, polling; false when it is still alive at the deadline. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!pidExists(pid) || (await isZombie(pid))) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function isZombie(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat === '' || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}
