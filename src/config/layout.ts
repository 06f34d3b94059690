import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Every path banger reads or writes, derived in one place from the XDG variables.
 * docs/internals.md lists each of these files and why it exists.
 */
export const FileName = {
  config: 'config.toml',
  database: 'banger.db',
  daemonLock: 'bangerd.lock',
  daemonLog: 'bangerd.log',
  socket: 'bangerd.sock',
  pid: 'bangerd.pid',
  vmsDir: 'vms',
  imagesDir: 'images',
  kernelsDir: 'kernels',
  sshDir: 'ssh',
  /** banger's guest kit (sshd, busybox, tmux, git, tar) for pulled images; made once. */
  guestKit: 'guest-kit-3.ext4',
  /** In sshDir: banger's private key (the public one is this plus .pub). */
  sshKey: 'id_ed25519',
  /** In sshDir: every VM's ssh host key, one line per VM keyed by its alias (`<name>.vm`). */
  knownHosts: 'known_hosts',
  /** In sshDir: `Host *.vm` for the user's own ssh, included from ~/.ssh/config. */
  sshClientConfig: 'ssh_config',
  /** In the runtime dir: one ssh control socket per running VM. */
  sshControlDir: 'ssh',
  /** In the runtime dir: `<id>.staging/`, a fork's frozen copy of its parent while it runs. */
  forksDir: 'forks',
  /** Beside a `vm cp` destination on the host: what the guest sent, until it is moved in. */
  copyStagingPrefix: '.banger-cp-',
} as const;

/** In the user's home: the one file outside banger's dirs that banger edits (a marked block). */
export const HomeName = {
  sshDir: '.ssh',
  sshConfig: 'config',
} as const;

export interface Layout {
  configDir: string;
  configFile: string;
  stateDir: string;
  database: string;
  daemonLock: string;
  daemonLog: string;
  vmsDir: string;
  imagesDir: string;
  kernelsDir: string;
  sshDir: string;
  knownHosts: string;
  sshClientConfig: string;
  /** `~/.ssh/config`: banger keeps an Include of sshClientConfig there, between markers. */
  userSshConfig: string;
  guestKit: string;
  cacheDir: string;
  runtimeDir: string;
  socket: string;
  pidFile: string;
}

type Env = Record<string, string | undefined>;

function xdg(env: Env, name: string, fallback: string): string {
  const value = env[name];
  // The XDG spec says relative values are invalid and must be ignored.
  return value && value.startsWith('/') ? value : fallback;
}

export function resolveLayout(env: Env = process.env): Layout {
  const home = env.HOME && env.HOME.startsWith('/') ? env.HOME : homedir();
  const configDir = join(xdg(env, 'XDG_CONFIG_HOME', join(home, '.config')), 'banger');
  const stateDir = join(xdg(env, 'XDG_STATE_HOME', join(home, '.local', 'state')), 'banger');
  const cacheDir = join(xdg(env, 'XDG_CACHE_HOME', join(home, '.cache')), 'banger');
  const runtimeBase = env.XDG_RUNTIME_DIR;
  const runtimeDir =
    runtimeBase && runtimeBase.startsWith('/') ? join(runtimeBase, 'banger') : stateDir;
  return {
    configDir,
    configFile: join(configDir, FileName.config),
    stateDir,
    database: join(stateDir, FileName.database),
    daemonLock: join(stateDir, FileName.daemonLock),
    daemonLog: join(stateDir, FileName.daemonLog),
    vmsDir: join(stateDir, FileName.vmsDir),
    imagesDir: join(stateDir, FileName.imagesDir),
    kernelsDir: join(stateDir, FileName.kernelsDir),
    sshDir: join(stateDir, FileName.sshDir),
    knownHosts: join(stateDir, FileName.sshDir, FileName.knownHosts),
    sshClientConfig: join(stateDir, FileName.sshDir, FileName.sshClientConfig),
    userSshConfig: join(home, HomeName.sshDir, HomeName.sshConfig),
    guestKit: join(stateDir, FileName.guestKit),
    cacheDir,
    runtimeDir,
    socket: join(runtimeDir, FileName.socket),
    pidFile: join(runtimeDir, FileName.pid),
  };
}

/**
 * The files in one VM's directory (`vms/<id>/`). The VMM driver, the disks, the ssh master
 * and reconcile all take their names from here; docs/internals.md lists each one.
 */
export const VmFileName = {
  systemDisk: 'system.qcow2',
  workDisk: 'work.ext4',
  consoleLog: 'console.log',
  handles: 'handles.json',
  sshLog: 'ssh.log',
  /** What the egress proxy allowed and denied this VM's guest (rotated to egress.log.1). */
  egressLog: 'egress.log',
  /** QEMU's: its pid (-pidfile), its QMP control socket, the host end of the data port. */
  pidFile: 'qemu.pid',
  qmpSocket: 'qmp.sock',
  dataSocket: 'data.sock',
  /** vm stop --save: the VM's memory and device state, resumed by the next vm start. */
  savedState: 'saved.state',
  /** What the saved state was saved from (QEMU build, the disks as they were); written last. */
  savedMeta: 'saved.json',
  /** A VM resumed from a template or a fork that has not got its own identity yet. */
  resuming: 'resuming',
  /** The VM is paused for a fork that is copying it: resumed by the next daemon if it dies. */
  forkPending: 'fork.pending',
} as const;

export type VmFiles = { -readonly [K in keyof typeof VmFileName]: string };

export function vmFiles(vmDir: string): VmFiles {
  const out = {} as VmFiles;
  for (const [key, name] of Object.entries(VmFileName))
    out[key as keyof VmFiles] = join(vmDir, name);
  return out;
}

/** The files of a managed image (`images/<id>/`). */
export const ImageFileName = {
  rootfs: 'rootfs.ext4',
} as const;

/** The files of a managed kernel (`kernels/<id>/`). */
export const KernelFileName = {
  /** The bzImage as the distribution ships it. */
  bzImage: 'vmlinuz',
  /** Its uncompressed ELF, booted directly (PVH) when it could be extracted. */
  vmlinux: 'vmlinux',
  /** banger's initramfs (or the one imported with the kernel). */
  initrd: 'initrd.img',
  modules: 'modules',
} as const;

/** In the cache dir. */
export const CacheName = {
  /** The golden build's .deb files, reused by the next build. */
  aptArchives: 'apt-archives',
  /** `build/<id>/`: a build's scratch tree. */
  build: 'build',
  /** `make-bundle-*`: `banger internal make-bundle`'s scratch dirs. */
  makeBundlePrefix: 'make-bundle-',
  /** Layers and configs of OCI images by digest (`<hex>`, `<hex>.partial` while downloading). */
  ociBlobs: 'oci/blobs/sha256',
  /** `<kernel id>.ext4`: a kernel's modules as a disk for pulled images (`.staging` while made). */
  kernelModules: 'kernel-modules',
  /** `<key>/`: warm-start templates, one per image and VM shape (`.staging` while made). */
  templates: 'templates',
} as const;

/**
 * The files of a warm-start template (`templates/<key>/`), besides a VM directory's
 * system.qcow2, work.ext4 and console.log: a VM booted once and saved, which new VMs of
 * its image and shape resume instead of booting.
 */
export const TemplateFileName = {
  /** The guest's RAM, mapped copy-on-write by every VM resumed from it (never written). */
  memory: 'memory.ram',
  /** QEMU's device state at the save (tens of KB: the RAM stays in memory.ram). */
  state: 'device.state',
  /** What the template is: image, kernel, shape, QEMU version; written last. */
  meta: 'template.json',
  /** The template VM's own host key, pinned while it is prepared (never used after). */
  knownHosts: 'known_hosts',
} as const;

/** `<dir>/<id>.staging`: something being built, published by renaming it to `<dir>/<id>`. */
export const STAGING_SUFFIX = '.staging';

/**
 * Every name banger gives a file or directory on the host, for `banger internal paths`
 * and the test that keeps docs/internals.md listing exactly these.
 */
export function everyName(): Record<string, Record<string, string>> {
  return {
    FileName,
    HomeName,
    VmFileName,
    ImageFileName,
    KernelFileName,
    CacheName,
    TemplateFileName,
    staging: { suffix: STAGING_SUFFIX },
  };
}

/** A VM's ssh control socket (the master connection), kept short for sun_path. */
export function sshControlPath(layout: Pick<Layout, 'runtimeDir'>, vmId: string): string {
  return join(layout.runtimeDir, FileName.sshControlDir, vmId);
}

/** sun_path is 108 bytes on Linux, including the terminating NUL. */
export const MAX_SOCKET_PATH = 107;
