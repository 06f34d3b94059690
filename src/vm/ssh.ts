import { chmod, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BangerError, ErrorCode } from '../errors.js';
import { ensurePrivateDir } from '../system/private-dir.js';
import type { RunResult, Runner } from '../system/runner.js';

// banger reaches its guests with OpenSSH and its own ed25519 key. One multiplexed master
// connection per VM (ControlMaster, started by the daemon once the guest says sshd is up)
// carries every later command: 63–80 ms each instead of a 0.5–0.8 s handshake under TCG.

export interface SshKey {
  privateKey: string;
  publicKey: string;
}

/** banger's key pair in the state dir, made once (0600, in a 0700 dir). */
export async function ensureSshKey(sshDir: string, runner: Runner): Promise<SshKey> {
  await ensurePrivateDir(sshDir);
  const privateKey = join(sshDir, 'id_ed25519');
  const publicKey = `${privateKey}.pub`;
  const have = await Promise.all([exists(privateKey), exists(publicKey)]);
  if (!have.every(Boolean)) {
    await rm(privateKey, { force: true });
    await rm(publicKey, { force: true });
    await generateKey(privateKey, 'banger', runner);
  }
  await chmod(privateKey, 0o600);
  return { privateKey, publicKey: (await readFile(publicKey, 'utf8')).trim() };
}

/** An unencrypted ed25519 key pair at `file` and `file.pub`. */
export async function generateKey(file: string, comment: string, runner: Runner): Promise<void> {
  await runner.run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
}

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

/**
 * Starts the VM's master connection unless one answers already. `-f` backgrounds it after
 * authentication, so a zero exit means we are logged in; its output goes to a log file
 * because the background master would hold a pipe open forever.
 */
export async function ensureMaster(
  t: SshTarget,
  logFile: string,
  runner: Runner,
  signal?: AbortSignal,
): Promise<void> {
  if (await masterAlive(t, runner)) return;
  await rm(t.controlPath, { force: true });
  const result = await runner.run(
    'ssh',
    [
      ...sshOptions(t, 'yes'),
      '-o',
      'ControlPersist=yes',
      '-o',
      'BatchMode=yes',
      '-E',
      logFile,
      '-f',
      '-N',
      sshDestination(t),
    ],
    { allowFailure: true, ignoreOutput: true, timeoutMs: 30_000, ...(signal ? { signal } : {}) },
  );
  if (result.exitCode !== 0) {
    const log = (await readFile(logFile, 'utf8').catch(() => '')).trim();
    throw new BangerError(
      ErrorCode.Subprocess,
      `ssh to ${sshDestination(t)} port ${t.port} failed (exit ${result.exitCode})${log ? `: ${log.split('\n').slice(-3).join('; ')}` : ''}`,
    );
  }
}

export async function masterAlive(t: SshTarget, runner: Runner): Promise<boolean> {
  if (!(await exists(t.controlPath))) return false;
  const r = await runner.run('ssh', [...sshOptions(t), '-O', 'check', sshDestination(t)], {
    allowFailure: true,
    timeoutMs: 5000,
  });
  return r.exitCode === 0;
}

/** Ends the master connection (and with it the background ssh process), if any. */
export async function exitMaster(t: SshTarget, runner: Runner): Promise<void> {
  if (await exists(t.controlPath)) {
    await runner
      .run('ssh', [...sshOptions(t), '-O', 'exit', sshDestination(t)], {
        allowFailure: true,
        timeoutMs: 5000,
      })
      .catch(() => undefined);
  }
  await rm(t.controlPath, { force: true });
}

/** Runs a command in the guest over the master (or a direct connection), capturing output. */
export function sshRun(
  t: SshTarget,
  argv: readonly string[],
  runner: Runner,
  options: { timeoutMs?: number; signal?: AbortSignal; input?: string } = {},
): Promise<RunResult> {
  return runner.run(
    'ssh',
    [...sshOptions(t), '-T', '-o', 'BatchMode=yes', sshDestination(t), remoteCommand(argv)],
    {
      allowFailure: true,
      timeoutMs: options.timeoutMs ?? 30_000,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.input !== undefined ? { input: options.input } : {}),
    },
  );
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
