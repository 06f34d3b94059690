import { readFile, realpath, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatSizeApprox } from '../config/size.js';
import { BangerError, ErrorCode, SubprocessError } from '../errors.js';
import { freeBytes } from './host.js';

// A full disk shows up as ENOSPC from node, or as "No space left on device" in the stderr
// of whatever host program was writing (mkfs, qemu-img, zstd, tar, mmdebstrap). Either way
// the user needs to know which disk, what of banger's lives there and how much is free:
// this turns such an error into one line saying so.

/** One of banger's places on the host (state dir, cache dir, a copy's destination). */
export interface Place {
  what: string;
  dir: string;
  /** What to do about it, when not banger's own "free space, or move the dir". */
  hint?: string;
}

const FULL_TEXT = /no space left on device|ENOSPC|disk quota exceeded|EDQUOT/i;
/** GNU tar's words when a write comes back short: the disk filled up under it. */
const SHORT_WRITE = /^tar: .*: Wrote only \d+ of \d+ bytes$/;

export function isDiskFull(err: unknown): boolean {
  return fullErrorIn(err) !== undefined;
}

/** The error in `err`'s cause chain that says a disk is full, if one does. */
function fullErrorIn(err: unknown): unknown {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') return e;
    // ssh's stderr is the guest's: a guest whose own disk is full is not a host disk.
    if (e instanceof SubprocessError)
      return !/^ssh(\s|$)/.test(e.command) && FULL_TEXT.test(e.stderrTail) ? e : undefined;
    if (e instanceof Error && !(e instanceof BangerError) && FULL_TEXT.test(e.message)) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A guest program (over ssh) that stopped because a disk in the guest is full, as banger's
 * error naming the VM and the way out; undefined for any other error. The guest's own line
 * saying so (it names the path) is the message: /root is the VM's work disk, the rest its
 * system overlay, and only the guest can tell which one it was.
 */
export function guestDiskFull(vmName: string, err: unknown): BangerError | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    if (e instanceof SubprocessError) {
      if (!/^ssh(\s|$)/.test(e.command)) return undefined;
      // ssh's output stream failing on the host (its copy's file) is the host's disk.
      if (fullErrorIn(e.cause) !== undefined) return undefined;
      const line = e.stderrTail.split('\n').find((l) => FULL_TEXT.test(l) || SHORT_WRITE.test(l));
      if (!line) return undefined;
      const said = line.trim();
      return new BangerError(ErrorCode.DiskFull, `vm "${vmName}" is out of disk space: ${said}`, {
        hint: `make room in it (banger vm ssh ${vmName} -- df -h), or give it a bigger work disk: banger vm stop ${vmName} && banger vm set ${vmName} --disk-size SIZE`,
        cause: err,
      });
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** For `.catch`: a guest step that failed for want of disk space says so (guestDiskFull). */
export function inGuest(vmName: string): (err: unknown) => never {
  return (err) => {
    throw guestDiskFull(vmName, err) ?? err;
  };
}

/**
 * What banger may still write on the disk holding `dir`: its free space less a reserve
 * left for the rest of the host (5 % of the disk, at most 1 GiB), so that an input which
 * unpacks to more than there is (a layer that compresses a thousand to one) stops before
 * the disk is full for everyone.
 */
export async function roomOn(
  dir: string,
): Promise<{ bytes: number; reserve: number; mountPoint: string; source: string }> {
  const real = await realpathUp(dir);
  const s = await statfs(real);
  const reserve = Math.min(Math.floor(s.blocks * s.bsize * 0.05), 2 ** 30);
  const { mountPoint, source } = await mountOf(real);
  return { bytes: Math.max(0, s.bavail * s.bsize - reserve), reserve, mountPoint, source };
}

/** The mount point and source holding `path`, from /proc/self/mountinfo. */
export async function mountOf(
  path: string,
  mountinfo = '/proc/self/mountinfo',
): Promise<{ mountPoint: string; source: string }> {
  const real = await realpathUp(path);
  const text = await readFile(mountinfo, 'utf8').catch(() => '');
  let best = { mountPoint: '/', source: '' };
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const mountPoint = unescapeMount(fields[4] ?? '');
    const source = fields[fields.indexOf('-') + 2] ?? '';
    const inside =
      real === mountPoint || real.startsWith(mountPoint === '/' ? '/' : `${mountPoint}/`);
    if (inside && mountPoint.length >= best.mountPoint.length) best = { mountPoint, source };
  }
  return best;
}

/**
 * The disk-full error for `err`, naming the place it most likely hit: the one holding the
 * path node reported (the destination of a copy), else the fullest of `places`. Undefined when `err` is not a full disk.
 */
export async function diskFullError(
  err: unknown,
  places: readonly Place[],
): Promise<BangerError | undefined> {
  if (err instanceof BangerError && err.code === ErrorCode.DiskFull) return undefined; // said
  const full = fullErrorIn(err);
  if (full === undefined || places.length === 0) return undefined;
  // copyFile and rename name both ends; the one written to is `dest`.
  const path = (full as { dest?: unknown }).dest ?? (full as { path?: unknown }).path;
  const measured = await Promise.all(
    places.map(async (p) => ({
      ...p,
      free: await freeBytes(await realpathUp(p.dir)).catch(() => Number.POSITIVE_INFINITY),
      mount: await mountOf(p.dir),
    })),
  );
  let place = measured.reduce((a, b) => (b.free < a.free ? b : a));
  if (typeof path === 'string') {
    const mount = await mountOf(path);
    place = measured.find((p) => p.mount.mountPoint === mount.mountPoint) ?? {
      what: path,
      dir: dirname(path),
      free: await freeBytes(await realpathUp(path)).catch(() => Number.POSITIVE_INFINITY),
      mount,
    };
  }
  const free = Number.isFinite(place.free) ? `, ${formatSizeApprox(place.free)} free` : '';
  const source = place.mount.source ? ` (${place.mount.source})` : '';
  return new BangerError(
    ErrorCode.DiskFull,
    `the disk holding ${place.what} is full: ${place.mount.mountPoint}${source}${free}; nothing was kept of what was being written`,
    {
      hint:
        place.hint ??
        `free space on ${place.mount.mountPoint} (banger vm rm, banger image rm), or move ${place.dir} to a bigger disk`,
      cause: err,
    },
  );
}

/** The real path of `path`, or of its nearest existing parent. */
async function realpathUp(path: string): Promise<string> {
  for (let p = path; ; p = dirname(p)) {
    try {
      return await realpath(p);
    } catch {
      if (p === dirname(p)) return p;
    }
  }
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMount(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
