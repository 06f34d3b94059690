import { lstat, readlink } from 'node:fs/promises';
import { join, posix, relative } from 'node:path';
import { BangerError, ErrorCode } from '../../errors.js';
import { readElf, type ElfInfo } from './elf.js';

/** Where Debian's x86-64 loader looks when no RPATH/RUNPATH names the directory. */
export const DEBIAN_LIB_DIRS = [
  '/lib/x86_64-linux-gnu',
  '/usr/lib/x86_64-linux-gnu',
  '/lib64',
  '/lib',
  '/usr/lib',
] as const;

/**
 * `path` (absolute, as seen inside `root`) with every symlink followed inside `root`: an
 * absolute target is rooted there, and ".." never climbs above it. Returns the host path of
 * the final file, or undefined when some component does not exist.
 */
export async function resolveInRoot(root: string, path: string): Promise<string | undefined> {
  const pending = path.split('/').filter(Boolean);
  const done: string[] = [];
  for (let hops = 0; pending.length > 0;) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = join(root, ...done, part);
    const st = await lstat(host).catch(() => undefined);
    if (!st) return undefined;
    if (!st.isSymbolicLink()) {
      done.push(part);
      continue;
    }
    if (++hops > 40) throw new Error(`${path} in ${root}: too many levels of symbolic links`);
    const target = await readlink(host);
    if (target.startsWith('/')) done.length = 0;
    pending.unshift(...target.split('/').filter(Boolean));
  }
  return join(root, ...done);
}

/** One shared library of a closure: the name it is loaded by, and its file on the host. */
export interface ClosureLibrary {
  name: string;
  file: string;
  elf: ElfInfo;
}

export interface Closure {
  /** Every interpreter named by the programs (one, for a sane tree). */
  interpreters: Set<string>;
  /** By DT_NEEDED name; the first file found for a name wins, as the loader's would. */
  libraries: Map<string, ClosureLibrary>;
}

/**
 * The shared libraries `programs` (paths inside `root`) load, transitively, found the way
 * ld.so finds them: the object's RPATH/RUNPATH ($ORIGIN expanded), then the default dirs.
 * `extra` adds libraries loaded by dlopen that no DT_NEEDED names (libgcc_s for glibc).
 */
export async function libraryClosure(
  root: string,
  programs: readonly string[],
  extra: readonly string[] = [],
  searchDirs: readonly string[] = DEBIAN_LIB_DIRS,
): Promise<Closure> {
  const closure: Closure = { interpreters: new Set(), libraries: new Map() };
  const queue: { name: string; from: string; dirs: string[] }[] = [];
  const visit = (inside: string, elf: ElfInfo) => {
    if (elf.interpreter) closure.interpreters.add(elf.interpreter);
    const own = [elf.rpath, elf.runpath]
      .flatMap((p) => (p ? p.split(':') : []))
      .filter(Boolean)
      .map((d) => d.replace(/\$\{?ORIGIN\}?/g, posix.dirname(inside)));
    for (const name of elf.needed) queue.push({ name, from: inside, dirs: own });
  };
  for (const program of programs) {
    const file = await resolveInRoot(root, program);
    if (!file) throw missing(program, root);
    visit(program, await readElf(file));
  }
  for (const name of extra) queue.push({ name, from: '(dlopen)', dirs: [] });

  while (queue.length > 0) {
    const { name, from, dirs } = queue.shift()!;
    if (closure.libraries.has(name)) continue;
    const found = await findLibrary(root, name, [...dirs, ...searchDirs]);
    if (!found) throw missingLibrary(name, from, root);
    const elf = await readElf(found.file);
    closure.libraries.set(name, { name, file: found.file, elf });
    visit(found.inside, elf);
  }
  return closure;
}

async function findLibrary(root: string, name: string, dirs: readonly string[]) {
  if (name.includes('/')) {
    const file = await resolveInRoot(root, name);
    return file ? { file, inside: name } : undefined;
  }
  for (const dir of dirs) {
    const inside = posix.join(dir, name);
    const file = await resolveInRoot(root, inside);
    if (file && (await lstat(file)).isFile()) return { file, inside: insidePath(root, file) };
  }
  return undefined;
}

function insidePath(root: string, file: string): string {
  return `/${relative(root, file)}`;
}

function missing(program: string, root: string): BangerError {
  return new BangerError(ErrorCode.Internal, `guest kit: ${program} is not in ${root}`, {
    hint: 'the package that ships it was not installed into the scratch tree',
  });
}

function missingLibrary(name: string, from: string, root: string): BangerError {
  return new BangerError(
    ErrorCode.Internal,
    `guest kit: ${from} needs ${name}, which is not in ${root}`,
    { hint: "add the package that ships it to the kit's package list" },
  );
}
