import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Linux's limit on symlinks followed while resolving one path. */
const MAX_HOPS = 40;

/**
 * Where the guest path `path` (/bin/sh) leads inside the image tree at `root`, the way the
 * booted guest would resolve it: absolute link targets start again at the image's root, `..`
 * stops there. Only lstat and readlink: no host symlink is ever followed. The guest path of
 * the regular file it reaches ("/usr/bin/dash"), else undefined.
 */
export async function resolveInTree(root: string, path: string): Promise<string | undefined> {
  let pending = split(path);
  let resolved: string[] = [];
  let hops = 0;
  for (let part = pending.shift(); part !== undefined; part = pending.shift()) {
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const here = [...resolved, part];
    const st = await lstat(join(root, ...here)).catch(() => undefined);
    if (!st) return undefined;
    if (st.isSymbolicLink()) {
      if (++hops > MAX_HOPS) return undefined;
      const target = await readlink(join(root, ...here));
      if (target.startsWith('/')) resolved = [];
      pending = [...split(target), ...pending];
    } else if (st.isDirectory() || (pending.length === 0 && st.isFile())) {
      resolved = here;
    } else {
      return undefined;
    }
  }
  const st = resolved.length > 0 ? await lstat(join(root, ...resolved)) : undefined;
  return st?.isFile() ? `/${resolved.join('/')}` : undefined;
}

function split(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}
