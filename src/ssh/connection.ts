import { chmod, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FileName } from '../config/layout.js';
import { BangerError, ErrorCode } from '../errors.js';
import { ensurePrivateDir } from '../system/private-dir.js';
import type { RunResult, Runner } from '../system/runner.js';
import { VM_HOST_SUFFIX } from './known-hosts.js';
import { remoteCommand, sshDestination, sshOptions, type SshTarget } from './options.js';

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
  const privateKey = join(sshDir, FileName.sshKey);
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
  // stdin empty: were the file there, ssh-keygen would ask whether to overwrite it and wait.
  await runner.run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], {
    input: '',
  });
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
  // ssh -E appends: only what this attempt wrote counts.
  const logStart = await stat(logFile).then(
    (s) => s.size,
    () => 0,
  );
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
    const log = (await readFile(logFile).catch(() => Buffer.alloc(0)))
      .subarray(logStart)
      .toString('utf8')
      .trim();
    const hostKey = hostKeyProblem(t, log);
    if (hostKey) throw hostKey;
    throw new BangerError(
      ErrorCode.Subprocess,
      `ssh to ${sshDestination(t)} port ${t.port} failed (exit ${result.exitCode})${log ? `: ${log.split('\n').slice(-3).join('; ')}` : ''}`,
    );
  }
}

/**
 * ssh's "Host key verification failed" as banger's error: the VM's line in banger's
 * known_hosts is missing, or the key sshd offered is not the one pinned there. Never retried:
 * waiting would not change the key.
 */
export function hostKeyProblem(
  t: Pick<SshTarget, 'hostKeyAlias' | 'knownHostsFile'>,
  sshLog: string,
): BangerError | undefined {
  if (!/Host key verification failed/.test(sshLog)) return undefined;
  const name = t.hostKeyAlias.endsWith(VM_HOST_SUFFIX)
    ? t.hostKeyAlias.slice(0, -VM_HOST_SUFFIX.length)
    : t.hostKeyAlias;
  const missing = /No \S+ host key is known for/.test(sshLog);
  return new BangerError(
    ErrorCode.HostKey,
    missing
      ? `vm "${name}": banger has no host key pinned for it (${t.hostKeyAlias} in ${t.knownHostsFile}) and its work disk has none to recover: refusing to connect`
      : `vm "${name}" answered ssh with a host key that is not the one banger made for it (${t.hostKeyAlias} in ${t.knownHostsFile}): refusing to connect`,
    {
      hint: missing
        ? `a VM that predates banger's host keys cannot be verified; recreate it ("banger vm rm ${name}")`
        : `if you changed the VM's host key on purpose, delete its line from ${t.knownHostsFile} and banger pins the key on its work disk again`,
    },
  );
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

/**
 * A shell script in the guest whose failure is an error: its stdout, or a BangerError with
 * `failure(why)`, why being the last lines it printed (or its exit code).
 */
export async function sshScript(
  t: SshTarget,
  script: string,
  runner: Runner,
  failure: (why: string) => string,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<string> {
  const r = await sshRun(t, ['sh', '-c', script], runner, options);
  if (r.exitCode !== 0) {
    const why = (r.stderr || r.stdout).trim().split('\n').slice(-2).join('; ');
    throw new BangerError(ErrorCode.Subprocess, failure(why || `exit ${r.exitCode}`));
  }
  return r.stdout;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
