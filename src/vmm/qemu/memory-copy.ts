import { open, readFile, stat } from 'node:fs/promises';
import { BangerError, ErrorCode } from '../../errors.js';
import type { Runner } from '../../system/runner.js';
import type { MemoryCopy } from '../vmm.js';
import type { QmpClient } from './qmp.js';

// A running VM's RAM copied into a file without a migration: the guest's RAM is one mapping
// in QEMU (QMP's gpa2hva says where, query-memdev how big), read through /proc/PID/mem as a
// debugger would, and /proc/PID/pagemap says which of its pages are worth reading. The copy
// is made in two steps so the VM is paused as briefly as possible:
//   - while it runs: a VM whose RAM maps a file copy-on-write (a warm or forked VM) gets
//     that file copied first — its pages the guest never wrote are the file's and cannot
//     change;
//   - while it is paused: the pages the guest has of its own (anonymous: written since it
//     started, or all of a cold VM's) are read and written over the copy.
// Reading a whole 1 GiB guest through /proc/PID/mem takes ~1.6 s here; reading only its
// present pages (a booted guest has ~150 MiB) a tenth of that.

const PAGE = 4096;
/** Pages read at once at most. */
export const RUN_PAGES = 512;
/** Pages between two runs still read as one (fewer system calls for a few pages more). */
export const GAP_PAGES = 32;
// pagemap entries are 64-bit little-endian; their flags sit in the top bits of the high word.
export const PRESENT = 0x8000_0000;
export const SWAPPED = 0x4000_0000;
export const FILE_PAGE = 0x2000_0000;

interface GuestRam {
  pid: number;
  address: number;
  bytes: number;
}

/** Which pages of the mapping the paused step has to read. */
export type Source = 'own-pages' | 'written-pages' | 'all-pages';

export async function copyMemory(
  qmp: QmpClient,
  pid: number,
  target: string,
  runner: Runner,
): Promise<MemoryCopy> {
  const ram = await guestRam(qmp, pid);
  const backing = await backingFile(ram);
  let source: Source = 'own-pages';
  if (backing) {
    await runner.run('cp', ['--sparse=always', '--reflink=auto', backing.path, target]);
    // The file must still be the one mapped (a template removed and made again meanwhile is
    // another file): else every page is read from the mapping.
    const now = await stat(backing.path).catch(() => undefined);
    source = now?.ino === backing.inode ? 'written-pages' : 'all-pages';
  } else if (backing === null) source = 'all-pages';
  return { finish: () => readPages(ram, target, source) };
}

async function guestRam(qmp: QmpClient, pid: number): Promise<GuestRam> {
  const text = String(await qmp.execute('human-monitor-command', { 'command-line': 'gpa2hva 0' }));
  const address = /is (0x[0-9a-f]+)/i.exec(text)?.[1];
  const memdevs = (await qmp.execute('query-memdev')) as { id?: string; size: number }[];
  const bytes = memdevs.find((m) => m.id === 'mem')?.size;
  if (!address || !bytes)
    throw new BangerError(ErrorCode.Internal, `qemu ${pid}: where its guest RAM is: ${text}`);
  return { pid, address: Number(address), bytes };
}

/**
 * The file the guest's RAM maps, undefined for anonymous memory, null for a file removed
 * since (its pages the guest never wrote can then only be read through the mapping).
 */
async function backingFile(
  ram: GuestRam,
): Promise<{ path: string; inode: number } | null | undefined> {
  const maps = await readFile(`/proc/${ram.pid}/maps`, 'utf8');
  for (const line of maps.split('\n')) {
    const [range = '', , , , inode = '0', ...rest] = line.split(/\s+/);
    const [start = 0, end = 0] = range.split('-').map((h) => Number.parseInt(h, 16));
    if (ram.address < start || ram.address >= end) continue;
    const path = rest.join(' ');
    if (!path.startsWith('/')) return undefined;
    if (path.endsWith(' (deleted)')) return null;
    return { path, inode: Number(inode) };
  }
  throw new BangerError(ErrorCode.Internal, `qemu ${ram.pid} does not map its guest RAM`);
}

/**
 * The page ranges [start, end) to read, from each page's pagemap flags: runs of wanted
 * pages with small gaps between them read as one, none longer than RUN_PAGES.
 */
export function pageRuns(flags: Uint32Array, source: Source): [number, number][] {
  const wanted = (f: number) => {
    if (source === 'all-pages') return true;
    if (source === 'own-pages') return (f & (PRESENT | SWAPPED)) !== 0;
    // Over a copy of the mapped file: the pages the guest wrote (private, anonymous now).
    return (f & SWAPPED) !== 0 || ((f & PRESENT) !== 0 && (f & FILE_PAGE) === 0);
  };
  const runs: [number, number][] = [];
  for (let i = 0; i < flags.length;) {
    if (!wanted(flags[i]!)) {
      i++;
      continue;
    }
    let end = i + 1;
    for (let j = end; j < flags.length && j - i < RUN_PAGES && j - end <= GAP_PAGES; j++)
      if (wanted(flags[j]!)) end = j + 1;
    runs.push([i, end]);
    i = end;
  }
  return runs;
}

async function readPages(
  ram: GuestRam,
  target: string,
  source: Source,
): Promise<[number, number][]> {
  const runs = pageRuns(await pageFlags(ram, ram.bytes / PAGE), source);
  // Over a copied file only the guest's own pages are written; else the file starts empty.
  const fresh = source !== 'written-pages';
  const written: [number, number][] = [];
  const mem = await openMemory(ram.pid);
  const out = await open(target, fresh ? 'w' : 'r+');
  try {
    if (fresh) await out.truncate(ram.bytes);
    const buf = Buffer.alloc(RUN_PAGES * PAGE);
    const zero = Buffer.alloc(RUN_PAGES * PAGE);
    for (const [start, end] of runs) {
      const length = (end - start) * PAGE;
      const { bytesRead } = await mem.read(buf, 0, length, ram.address + start * PAGE);
      if (bytesRead !== length)
        throw new BangerError(ErrorCode.Internal, `qemu ${ram.pid}: short read of its RAM`);
      // An empty file's holes are zeros already; over a copied file, zeros are news.
      const chunk = buf.subarray(0, length);
      if (!fresh || !chunk.equals(zero.subarray(0, length))) {
        await out.write(chunk, 0, length, start * PAGE);
        const last = written.at(-1);
        if (last?.[1] === start * PAGE) last[1] = end * PAGE;
        else written.push([start * PAGE, end * PAGE]);
      }
    }
  } finally {
    await mem.close();
    await out.close();
  }
  return written;
}

/** QEMU's memory, as a debugger opens it: the ptrace rules of the host decide. */
async function openMemory(pid: number) {
  try {
    return await open(`/proc/${pid}/mem`, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw err;
    const scope = await readFile('/proc/sys/kernel/yama/ptrace_scope', 'utf8').catch(() => '');
    throw new BangerError(
      ErrorCode.Permission,
      `banger may not read the memory of QEMU (pid ${pid})${scope ? `: kernel.yama.ptrace_scope is ${scope.trim()}` : ''}`,
      { hint: 'run the banger daemon as root, or set kernel.yama.ptrace_scope=0 (sysctl)' },
    );
  }
}

/** The high word of each page's pagemap entry (flags only: frame numbers need root). */
async function pageFlags(ram: GuestRam, pages: number): Promise<Uint32Array> {
  const file = await open(`/proc/${ram.pid}/pagemap`, 'r');
  try {
    const buf = Buffer.alloc(pages * 8);
    const { bytesRead } = await file.read(buf, 0, buf.length, (ram.address / PAGE) * 8);
    if (bytesRead !== buf.length)
      throw new BangerError(ErrorCode.Internal, `qemu ${ram.pid}: short read of its pagemap`);
    const flags = new Uint32Array(pages);
    for (let i = 0; i < pages; i++) flags[i] = buf.readUInt32LE(i * 8 + 4);
    return flags;
  } finally {
    await file.close();
  }
}
