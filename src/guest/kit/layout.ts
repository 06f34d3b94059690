/**
 * The guest kit's fixed layout. The kit disk is mounted read-only at KIT_PREFIX in the
 * guest; every program in it is patched to load its own loader and libraries from there,
 * so the prefix is part of the binaries and cannot move. Under /run because banger's
 * initramfs mounts a tmpfs there: the mount point is made in it, not in the image.
 */
export const KIT_PREFIX = '/run/banger-kit';

/** Paths inside the kit, relative to its root (the ext4's root directory). */
export const KitPath = {
  loader: 'lib/ld-linux-x86-64.so.2',
  lib: 'lib',
  sshd: 'sbin/sshd',
  sftpServer: 'libexec/sftp-server',
  startSshd: 'libexec/banger-sshd',
  sshdConfig: 'etc/sshd_config',
  moduli: 'etc/moduli',
  busybox: 'bin/busybox',
  setpriv: 'bin/setpriv',
  bin: 'bin',
  /** busybox applets at the end of a session's PATH: what a minimal image lacks. */
  fallbackBin: 'libexec/busybox-bin',
  gitCore: 'libexec/git-core',
  gitTemplates: 'share/git-core/templates',
  tmux: 'libexec/tmux',
  locale: 'lib/locale',
  terminfo: 'share/terminfo',
  manifest: 'kit-manifest.json',
} as const;

/** A kit path as the guest sees it. */
export function inKit(path: string): string {
  return `${KIT_PREFIX}/${path}`;
}

export const KIT_SUITE = 'bookworm';

/**
 * What the kit is made of. Dependencies come along; ncurses-base (terminfo) and libc-bin
 * (the C.utf8 locale tmux insists on) are Essential, so nothing depends on them by name.
 */
export const KIT_PACKAGES = [
  'openssh-server',
  'openssh-sftp-server',
  'busybox-static',
  'tmux',
  'git',
  'tar',
  // setpriv, for running a command as the image's User (run-as.ts).
  'util-linux',
  'ncurses-base',
  'libc-bin',
  'libgcc-s1',
  // perl, for the warm-start identity hook (src/vm/warm/guest-hook.ts): Essential, so named.
  'perl-base',
] as const;

/**
 * Programs copied from the scratch tree (paths inside it) to the kit. ELF programs are
 * patched; busybox is static and copied as is.
 */
export const KIT_PROGRAMS: readonly { from: string; to: string }[] = [
  { from: '/usr/sbin/sshd', to: KitPath.sshd },
  { from: '/usr/lib/openssh/sftp-server', to: KitPath.sftpServer },
  { from: '/usr/bin/ssh-keygen', to: 'bin/ssh-keygen' },
  { from: '/bin/busybox', to: KitPath.busybox },
  { from: '/bin/tar', to: 'bin/tar' },
  { from: '/usr/bin/setpriv', to: KitPath.setpriv },
  { from: '/usr/bin/tmux', to: KitPath.tmux },
  { from: '/usr/bin/perl', to: 'bin/perl' },
];

/** busybox applets linked in the kit's bin/ (the kernel modules disk makes them useful). */
export const KIT_APPLETS = ['modprobe', 'lsmod'] as const;

/**
 * busybox applets linked in the kit's fallback bin/, last on a session's PATH: an image
 * made for containers may have no `rm`, `grep` or `setsid`, and banger's own guest scripts
 * (the identity hook, exec's stop, the template's settling) need them. The image's own
 * programs come first wherever it has them.
 */
export const KIT_FALLBACK_APPLETS = [
  ...['awk', 'basename', 'cat', 'chmod', 'chown', 'cp', 'cut', 'date', 'dirname', 'du', 'env'],
  ...['find', 'grep', 'head', 'hostname', 'id', 'ip', 'kill', 'ln', 'ls', 'mkdir', 'mv'],
  ...['pgrep', 'pkill', 'printf', 'ps', 'readlink', 'rm', 'rmdir', 'sed', 'setsid', 'sleep'],
  ...['sort', 'stat', 'sync', 'tail', 'test', 'timeout', 'touch', 'tr', 'uniq', 'wc', 'xargs'],
] as const;

/**
 * git's helpers that speak HTTP, IMAP or run a daemon: they pull in libcurl and GnuTLS
 * (a third of the kit) and a guest with no network has no use for them.
 */
export const GIT_CORE_LEFT_OUT =
  /^git-(remote-(https?|ftps?)|http-(fetch|push|backend)|imap-send|daemon|instaweb|send-email|svn|p4|cvs.*|archimport|gui.*|citool|web--browse)$/;

/** Libraries glibc loads with dlopen, which no DT_NEEDED names: unwinding for pthread_exit. */
export const DLOPENED_LIBRARIES = ['libgcc_s.so.1'] as const;
