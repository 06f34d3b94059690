import { readFile } from 'node:fs/promises';
import { assetPath } from '../install.js';
import { inKit, KitPath } from './layout.js';

/**
 * PATH of a session: the kit's tools first, so banger finds GNU tar and git on any image;
 * busybox applets last, for what the image lacks.
 */
export const KIT_SESSION_PATH = `${inKit(KitPath.bin)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${inKit(KitPath.fallbackBin)}`;

/** Where the kit's sshd writes its pid and log (the guest's /run is a tmpfs). */
export const KIT_SSHD_PID = '/run/banger-kit-sshd.pid';
export const KIT_SSHD_LOG = '/run/banger/kit-sshd.log';
export const READY_LINE = 'banger-guest: sshd ready';

/**
 * The kit sshd's whole configuration: the golden image's five-line drop-in verbatim (one
 * sshd posture for every image), banger's per-VM host key, and what a foreign root needs.
 * No Include: nothing from the image's /etc/ssh is read.
 */
export function kitSshdConfig(dropIn: string): string {
  const posture = dropIn
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  return [
    '# sshd of banger guest kit, for images that have none; written by banger, read-only.',
    'HostKey /root/.banger/ssh_host_ed25519_key',
    ...posture,
    // The image may have no PAM at all, and the kit carries no PAM modules.
    'UsePAM no',
    `PidFile ${KIT_SSHD_PID}`,
    `Subsystem sftp ${inKit(KitPath.sftpServer)}`,
    `ModuliFile ${inKit(KitPath.moduli)}`,
    `SetEnv PATH=${KIT_SESSION_PATH}`,
    '',
  ].join('\n');
}

export async function readKitSshdConfig(): Promise<string> {
  return kitSshdConfig(await readFile(assetPath('sshd-99-banger.conf'), 'utf8'));
}

const SHEBANG = `#!${inKit(KitPath.busybox)} sh`;

/**
 * Starts the kit's sshd in the image's root, changing nothing of the image on disk. OpenSSH
 * compiles in its privilege-separation user "sshd", which most images lack: a copy of the
 * image's passwd with that user added is bind-mounted over /etc/passwd (needs a mount
 * namespace or the guest's own). sshd daemonizes only once it listens, so its exit is the
 * moment to announce readiness. Arguments go to sshd; BANGER_READY_TTY="" skips the line.
 */
export function startSshdScript(): string {
  const bb = inKit(KitPath.busybox);
  return `${SHEBANG}
# banger guest kit: start sshd on an image without one (see src/guest/kit/sshd-config.ts).
bb=${bb}
ready=\${BANGER_READY_TTY-/dev/ttyS0}
$bb mkdir -p /run/sshd /run/banger && $bb chmod 0755 /run/sshd || exit 1
if ! $bb grep -q '^sshd:' /etc/passwd; then
  uid=999
  while $bb grep -q "^[^:]*:[^:]*:$uid:" /etc/passwd; do uid=$((uid - 1)); done
  { $bb cat /etc/passwd; echo "sshd:x:$uid:65534:sshd privilege separation:/run/sshd:/bin/false"; } > /run/banger/passwd
  $bb chmod 0644 /run/banger/passwd
  $bb mount --bind /run/banger/passwd /etc/passwd || { echo "banger-kit: cannot bind-mount /run/banger/passwd over /etc/passwd" >&2; exit 1; }
fi
if ! ${inKit(KitPath.sshd)} -f ${inKit(KitPath.sshdConfig)} -E ${KIT_SSHD_LOG} "$@"; then
  $bb cat ${KIT_SSHD_LOG} >&2
  exit 1
fi
[ -z "$ready" ] || echo "${READY_LINE}" > "$ready"
`;
}

/** A program of the kit that needs its environment set: a busybox sh script exec'ing it. */
export function wrapperScript(program: string, env: Record<string, string>, args = ''): string {
  const exports = Object.entries(env).map(([k, v]) => `export ${k}="${v}"`);
  return [SHEBANG, ...exports, `exec ${program}${args ? ` ${args}` : ''} "$@"`, ''].join('\n');
}

/** bin/ entries that are wrappers: name → script. */
export function kitWrappers(): Record<string, string> {
  const git = inKit(`${KitPath.gitCore}/git`);
  const gitEnv = {
    GIT_EXEC_PATH: inKit(KitPath.gitCore),
    GIT_TEMPLATE_DIR: inKit(KitPath.gitTemplates),
  };
  return {
    git: wrapperScript(git, gitEnv),
    // Run by name through the login shell by a remote git (clone/fetch/push over ssh).
    'git-upload-pack': wrapperScript(git, gitEnv, 'upload-pack'),
    'git-receive-pack': wrapperScript(git, gitEnv, 'receive-pack'),
    'git-upload-archive': wrapperScript(git, gitEnv, 'upload-archive'),
    // tmux refuses to start without a UTF-8 locale, and needs a terminfo entry for $TERM;
    // the trailing ":" keeps ncurses' default dirs for programs run in its panes.
    tmux: wrapperScript(inKit(KitPath.tmux), {
      LOCPATH: inKit(KitPath.locale),
      TERMINFO_DIRS: `${inKit(KitPath.terminfo)}:`,
    }),
  };
}
