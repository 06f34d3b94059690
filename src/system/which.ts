import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** Finds an executable on PATH without starting a process (completion and doctor call it often). */
export function which(
  name: string,
  pathEnv: string | undefined = process.env.PATH,
): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  const dirs = (pathEnv ?? '').split(delimiter).filter(Boolean);
  // Debian keeps mkfs.ext4, debugfs and ip in sbin, which a non-login PATH may lack.
  for (const extra of ['/usr/local/sbin', '/usr/sbin', '/sbin'])
    if (!dirs.includes(extra)) dirs.push(extra);
  for (const dir of dirs) {
    if (!isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
