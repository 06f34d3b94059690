import {
  chmod,
  copyFile,
  cp,
  lstat,
  mkdir,
  readdir,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BangerError, ErrorCode } from '../../errors.js';
import type { Runner } from '../../system/runner.js';
import { libraryClosure, resolveInRoot } from './closure.js';
import { isElf, readElf } from './elf.js';
import {
  DLOPENED_LIBRARIES,
  GIT_CORE_LEFT_OUT,
  inKit,
  KIT_APPLETS,
  KIT_FALLBACK_APPLETS,
  KIT_PREFIX,
  KIT_PROGRAMS,
  KIT_SUITE,
  KitPath,
} from './layout.js';
import { writeKitBootFiles } from './boot-files.js';
import { RUN_AS, runAsScript } from './run-as.js';
import { kitWrappers, startSshdScript } from './sshd-config.js';

export interface KitManifest {
  prefix: string;
  suite: string;
  /** Program name → its path in the guest (what a boot script or test runs). */
  programs: Record<string, string>;
  /** Every Debian package the kit was cut from, with its version. */
  packages: Record<string, string>;
}

/** Data copied from the scratch tree as it is (locale, terminfo, git's templates, moduli). */
const KIT_DATA: readonly { from: string; to: string }[] = [
  { from: '/usr/lib/locale/C.utf8', to: `${KitPath.locale}/C.utf8` },
  { from: '/lib/terminfo', to: KitPath.terminfo },
  { from: '/usr/share/terminfo', to: KitPath.terminfo },
  { from: '/usr/share/git-core/templates', to: KitPath.gitTemplates },
  { from: '/etc/ssh/moduli', to: KitPath.moduli },
];

/**
 * The kit tree from the unpacked Debian tree: programs, their shared-library closure and
 * glibc's loader under lib/, every dynamic program patched (patchelf) to that loader with
 * DT_RPATH on lib/. A patched binary runs by its own path — sshd re-execs itself by argv[0],
 * which a wrapper script would break — and DT_RPATH, unlike RUNPATH, covers the libraries'
 * own dependencies and wins over LD_LIBRARY_PATH and the image's ld.so.cache.
 */
export async function assembleKit(
  tree: string,
  kit: string,
  sshdConfig: string,
  packages: Map<string, string>,
  runner: Runner,
): Promise<KitManifest> {
  const programs = [...KIT_PROGRAMS, ...(await copyGitCore(tree, kit))];
  for (const { from, to } of KIT_PROGRAMS) await copyOut(tree, from, join(kit, to));
  for (const { from, to } of KIT_DATA) await copyOut(tree, from, join(kit, to), true);

  const dynamic: { from: string; to: string }[] = [];
  for (const p of programs)
    if ((await readElf(join(kit, p.to))).interpreter !== undefined) dynamic.push(p);
  const closure = await libraryClosure(
    tree,
    dynamic.map((p) => p.from),
    DLOPENED_LIBRARIES,
  );
  if (closure.interpreters.size !== 1)
    throw new BangerError(
      ErrorCode.Internal,
      `guest kit: the programs name ${closure.interpreters.size} loaders (${[...closure.interpreters].join(', ')})`,
    );
  const [interpreter] = closure.interpreters;
  await copyOut(tree, interpreter!, join(kit, KitPath.loader));
  for (const lib of closure.libraries.values()) {
    const dest = join(kit, KitPath.lib, lib.name);
    await copyFile(lib.file, dest);
    // A library with its own RUNPATH would stop the programs' RPATH from covering its needs.
    if (lib.elf.runpath !== undefined) await patch(runner, dest, false);
  }
  for (const p of dynamic) await patch(runner, join(kit, p.to), true);

  const wrappers = kitWrappers();
  for (const [name, text] of Object.entries(wrappers))
    await writeExecutable(join(kit, KitPath.bin, name), text);
  await writeExecutable(join(kit, KitPath.startSshd), startSshdScript());
  await writeFile(join(kit, KitPath.sshdConfig), sshdConfig, { mode: 0o644 });
  await writeExecutable(join(kit, RUN_AS), runAsScript());
  // Images made for containers have no kmod: banger loads virtio_console with these.
  for (const applet of KIT_APPLETS) await symlink('busybox', join(kit, KitPath.bin, applet));
  await mkdir(join(kit, KitPath.fallbackBin), { recursive: true });
  for (const applet of KIT_FALLBACK_APPLETS)
    await symlink(inKit(KitPath.busybox), join(kit, KitPath.fallbackBin, applet));
  await writeKitBootFiles(kit);

  const manifest: KitManifest = {
    prefix: KIT_PREFIX,
    suite: KIT_SUITE,
    programs: Object.fromEntries(
      [
        ['sshd', KitPath.sshd],
        ['sftp-server', KitPath.sftpServer],
        ['banger-sshd', KitPath.startSshd],
        ['ssh-keygen', 'bin/ssh-keygen'],
        ['busybox', KitPath.busybox],
        ['tar', 'bin/tar'],
        ['perl', 'bin/perl'],
        ['setpriv', KitPath.setpriv],
        ['banger-as', RUN_AS],
        ...Object.keys(wrappers).map((name) => [name, `${KitPath.bin}/${name}`]),
      ].map(([name, path]) => [name!, inKit(path!)]),
    ),
    packages: Object.fromEntries(packages),
  };
  await writeFile(join(kit, KitPath.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

async function patch(runner: Runner, file: string, program: boolean): Promise<void> {
  const interp = program ? ['--set-interpreter', inKit(KitPath.loader)] : [];
  await runner.run('patchelf', [
    ...interp,
    '--force-rpath',
    '--set-rpath',
    inKit(KitPath.lib),
    file,
  ]);
}

/**
 * git's exec-path without its network helpers; symlinks kept (most commands are links to
 * git). Returns the ELF programs in it, with their paths in the tree.
 */
async function copyGitCore(tree: string, kit: string): Promise<{ from: string; to: string }[]> {
  const src = await resolveInRoot(tree, '/usr/lib/git-core');
  if (!src) throw new BangerError(ErrorCode.Internal, `guest kit: no /usr/lib/git-core in ${tree}`);
  const dest = join(kit, KitPath.gitCore);
  await cp(src, dest, { recursive: true, verbatimSymlinks: true });
  const elves: { from: string; to: string }[] = [];
  for (const name of (await readdir(dest)).sort()) {
    const path = join(dest, name);
    if (GIT_CORE_LEFT_OUT.test(name)) {
      await rm(path, { recursive: true });
      continue;
    }
    const st = await lstat(path);
    if (st.isFile() && (await isElf(path)))
      elves.push({ from: `/usr/lib/git-core/${name}`, to: `${KitPath.gitCore}/${name}` });
  }
  return elves;
}

/** A file or directory of the tree (its symlinks followed inside it) copied to `dest`. */
async function copyOut(tree: string, from: string, dest: string, optional = false): Promise<void> {
  const src = await resolveInRoot(tree, from);
  if (!src) {
    if (optional) return;
    throw new BangerError(ErrorCode.Internal, `guest kit: ${from} is not in the scratch tree`, {
      hint: `the package that ships ${from} is missing from the kit's package list`,
    });
  }
  await mkdir(dirname(dest), { recursive: true });
  await cp(src, dest, { recursive: true, verbatimSymlinks: true, force: false });
}

async function writeExecutable(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  await chmod(path, 0o755);
}
