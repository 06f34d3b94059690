import { BangerError, ErrorCode } from '../errors.js';

// How banger's ssh reaches a VM. Pure: the daemon and the CLI's foreground ssh both use it.

/** Everything needed to reach one VM's sshd; the CLI gets this over RPC for `vm ssh`. */
export interface SshTarget {
  host: string;
  port: number;
  user: string;
  keyFile: string;
  controlPath: string;
  /** banger's known_hosts, where the VM's host key is pinned under `hostKeyAlias`. */
  knownHostsFile: string;
  /** `<name>.vm`: the forwarded 127.0.0.1 port changes hands between VMs, the alias does not. */
  hostKeyAlias: string;
}

/**
 * Options every banger ssh uses: our key only, no user ssh config, the VM's host key checked
 * strictly against banger's known_hosts under the VM's alias (banger made the key, so there
 * is nothing to trust on first use), and the VM's control socket when a master is up (a
 * direct connection otherwise).
 */
export function sshOptions(t: SshTarget, controlMaster: 'no' | 'yes' = 'no'): string[] {
  return [
    '-F',
    '/dev/null',
    '-i',
    t.keyFile,
    '-p',
    String(t.port),
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'IdentityAgent=none',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${configPath(t.knownHostsFile)}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    `HostKeyAlias=${t.hostKeyAlias}`,
    // The pinned key is the only one: sshd's offer of other keys must not be written back.
    '-o',
    'UpdateHostKeys=no',
    '-o',
    'LogLevel=ERROR',
    // The default first choice, sntrup761x25519, has the guest's sshd do post-quantum
    // maths under emulation: curve25519 first saves ~0.1 s per login (10 interleaved
    // logins, medians 1.08 vs 0.98 s); the rest of the defaults stay as fallbacks.
    '-o',
    'KexAlgorithms=^curve25519-sha256',
    '-o',
    'ConnectTimeout=15',
    '-o',
    'ServerAliveInterval=15',
    '-o',
    `ControlPath=${t.controlPath}`,
    '-o',
    `ControlMaster=${controlMaster}`,
  ];
}

/**
 * A path as an ssh_config (or `-o`) argument: double-quoted, since a space would split it
 * into two, with `%` doubled, since ssh expands tokens in file options.
 */
export function configPath(path: string): string {
  if (/["\n\r\0]/.test(path))
    throw new BangerError(
      ErrorCode.Config,
      `banger cannot name ${JSON.stringify(path)} in an ssh config: it holds a double quote or a line break`,
      { hint: 'point HOME / XDG_STATE_HOME at a directory whose path has neither' },
    );
  return `"${path.replaceAll('%', '%%')}"`;
}

export function sshDestination(t: SshTarget): string {
  return `${t.user}@${t.host}`;
}

/** ssh's own exit code when it (not the remote command) failed. */
export const SSH_FAILED = 255;

/** ssh running `argv` in the guest with no TTY and no prompt: banger's own guest scripts. */
export function batchSshArgs(t: SshTarget, argv: readonly string[]): string[] {
  return [...sshOptions(t), '-T', '-o', 'BatchMode=yes', sshDestination(t), remoteCommand(argv)];
}

/** A command line for the remote shell that keeps every argument as the user typed it. */
export function remoteCommand(argv: readonly string[]): string {
  return argv
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`))
    .join(' ');
}
