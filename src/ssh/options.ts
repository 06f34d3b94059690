// How banger's ssh reaches a VM. Pure: the daemon and the CLI's foreground ssh both use it.

/** Everything needed to reach one VM's sshd; the CLI gets this over RPC for `vm ssh`. */
export interface SshTarget {
  host: string;
  port: number;
  user: string;
  keyFile: string;
  controlPath: string;
}

/**
 * Options every banger ssh uses: our key only, no user ssh config, no host-key prompts (the
 * forwarded port on 127.0.0.1 is reused by other VMs, so a known_hosts entry would only go
 * stale), and the VM's control socket when a master is up (a direct connection otherwise).
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
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
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

export function sshDestination(t: SshTarget): string {
  return `${t.user}@${t.host}`;
}

/** A command line for the remote shell that keeps every argument as the user typed it. */
export function remoteCommand(argv: readonly string[]): string {
  return argv
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`))
    .join(' ');
}
