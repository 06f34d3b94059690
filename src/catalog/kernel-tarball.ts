// A kernel tarball is a small tree (kernel, initrd, lib/modules). Absolute symlinks resolve
// inside the guest, so they are kept; relative ones that climb out of the root are refused.
// What the host itself reads (the kernel, the initrd, the module tree) must be no symlink.
import { lstat, mkdir, rm, symlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { GiB, formatSize } from '../config/size.js';
import { BangerError, ErrorCode } from '../errors.js';
import type { Runner } from '../system/runner.js';
import { entryBytes, memberPath, walkTarZst, writeSparse, type TarEntry } from './bundle.js';

export interface KernelPaths {
  kernel: string;
  initrd?: string;
  modulesDir?: string;
}

/** Far above any kernel tree (Debian's generic one is ~0.5 GiB): a bomb stops here. */
const MAX_KERNEL_TREE_BYTES = 4 * GiB;

function bad(what: string, message: string): BangerError {
  return new BangerError(ErrorCode.Config, `${what}: ${message}`, {
    hint: 'the kernel tarball is damaged or not a banger kernel: rebuild or re-download it',
  });
}

/** Extracts into destDir (the caller's staging dir); on failure what was written is removed. */
export async function extractKernelTarball(
  file: string,
  destDir: string,
  runner: Runner,
  options: { signal?: AbortSignal } = {},
): Promise<KernelPaths> {
  const what = `kernel tarball ${file}`;
  const files = new Set<string>();
  const links = new Set<string>();
  const dirs = new Set<string>();
  // Top-level names this call created: removing them removes everything it wrote.
  const tops = new Set<string>();
  let treeBytes = 0;
  const claim = async (name: string) => {
    const top = name.split('/')[0] ?? name;
    if (tops.has(top)) return;
    const existed = await lstat(join(destDir, top)).then(
      () => true,
      () => false,
    );
    if (existed) throw bad(what, `${top} already exists in ${destDir}`);
    tops.add(top);
  };
  // Nothing may be written through a symlink from the archive: it could point anywhere.
  const checkParents = (name: string) => {
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (links.has(prefix)) throw bad(what, `${name} is inside the symlink ${prefix}`);
      if (files.has(prefix)) throw bad(what, `${name} is inside the file ${prefix}`);
    }
  };
  const onEntry = async (entry: TarEntry) => {
    const { header } = entry;
    const name = memberPath(what, header.name);
    const dest = join(destDir, name);
    const taken = files.has(name) || links.has(name) || dirs.has(name);
    if (header.type === 'file' || header.type === 'contiguous-file') {
      if (name === '') throw bad(what, `invalid member ${JSON.stringify(header.name)}`);
      checkParents(name);
      if (taken) throw bad(what, `${JSON.stringify(header.name)} appears twice`);
      treeBytes += header.size ?? 0;
      if (treeBytes > MAX_KERNEL_TREE_BYTES) {
        const limit = formatSize(MAX_KERNEL_TREE_BYTES);
        throw bad(what, `${name} takes the tree past ${limit}, more than any kernel tree holds`);
      }
      await claim(name);
      await mkdir(join(dest, '..'), { recursive: true });
      files.add(name);
      const mode = header.mode & 0o755; // no setuid bits or group/world write from a download
      // Read as an iterator: a pipeline attached to an entry the cut archive destroyed during
      // the awaits above would never settle (the pull would hang).
      await writeSparse(entryBytes(entry), dest, mode);
      return;
    }
    entry.resume(); // only regular files have bytes worth reading
    if (header.type === 'directory') {
      if (name === '') return;
      checkParents(name);
      if (files.has(name) || links.has(name)) throw bad(what, `${name} is not a directory`);
      await claim(name);
      dirs.add(name);
      await mkdir(dest, { recursive: true });
    } else if (header.type === 'symlink') {
      checkParents(name);
      const target = header.linkname;
      if (name === '' || target === '' || target.includes('\0')) {
        throw bad(what, `invalid symlink ${JSON.stringify(header.name)}`);
      }
      if (!posix.isAbsolute(target)) {
        const resolved = posix.normalize(posix.join(posix.dirname(name), target));
        if (resolved === '..' || resolved.startsWith('../')) {
          throw bad(what, `unsafe symlink ${name} -> ${target} points outside the archive`);
        }
      }
      if (taken) throw bad(what, `${JSON.stringify(header.name)} appears twice`);
      await claim(name);
      await mkdir(join(dest, '..'), { recursive: true });
      links.add(name);
      await symlink(target, dest);
    }
    // Hard links, devices and fifos have no place in a kernel tree: skipped.
  };
  try {
    await walkTarZst(file, runner, what, onEntry, options.signal);
    return findKernelPaths(destDir, files, links, [...dirs, ...links, ...files], what);
  } catch (err) {
    await Promise.all([...tops].map((t) => rm(join(destDir, t), { recursive: true, force: true })));
    throw err;
  }
}

const byVersion = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

function findKernelPaths(
  destDir: string,
  files: Set<string>,
  links: Set<string>,
  everything: string[],
  what: string,
): KernelPaths {
  const all = [...files];
  const pick = (exact: string[], prefix: string): string | undefined =>
    exact.find((n) => files.has(n)) ??
    all
      .filter((n) => n.startsWith(prefix) && !n.slice(prefix.length).includes('/'))
      .sort(byVersion)
      .at(-1);
  const kernel = pick(['vmlinux', 'vmlinuz'], 'boot/vmlinux-') ?? pick([], 'boot/vmlinuz-');
  if (kernel === undefined) {
    throw bad(what, 'no kernel: expected vmlinux or vmlinuz at the top, or boot/vmlinuz-*');
  }
  const version = /^boot\/vmlinu[xz]-(.+)$/.exec(kernel)?.[1];
  const initrd =
    (version !== undefined && files.has(`boot/initrd.img-${version}`)
      ? `boot/initrd.img-${version}`
      : undefined) ?? pick(['initrd.img', 'initrd'], 'boot/initrd.img-');
  const versions = new Set<string>();
  for (const n of everything) {
    const m = /^lib\/modules\/([^/]+)/.exec(n);
    if (m?.[1] !== undefined) versions.add(m[1]);
  }
  const moduleVersion =
    version !== undefined && versions.has(version) ? version : [...versions].sort(byVersion).at(-1);
  // The host reads the module tree (the modules disk is made of it): a link would lead it out.
  if (moduleVersion !== undefined && links.has(`lib/modules/${moduleVersion}`)) {
    throw bad(what, `the module tree lib/modules/${moduleVersion} is a symlink, not a directory`);
  }
  const paths: KernelPaths = { kernel: join(destDir, kernel) };
  if (initrd !== undefined) paths.initrd = join(destDir, initrd);
  if (moduleVersion !== undefined) paths.modulesDir = join(destDir, 'lib/modules', moduleVersion);
  return paths;
}
