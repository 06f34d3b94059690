import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import {
  remoteCommand,
  SSH_FAILED,
  sshDestination,
  sshOptions,
  type SshTarget,
} from '../../ssh/options.js';
import { isProxyVariable } from '../../egress/guest-env.js';
import { contextPrefix, type RunContext } from '../../ssh/run-context.js';
import { withDaemon } from '../with-daemon.js';

/** What a command ended by Ctrl-C exits with, as in a shell: 128 + SIGINT. */
export const INTERRUPTED = 128 + constants.signals.SIGINT;

/**
 * Runs OpenSSH in the foreground against a VM: an interactive shell without a command, else
 * the command, whose exit status is returned — 128+N when it died of signal N (OpenSSH
 * itself would say 255), 130 after Ctrl-C. A TTY is requested when stdin is a terminal.
 * The CLI ignores SIGINT meanwhile: the terminal delivers it to ssh, which forwards it.
 */
export async function sshSession(
  target: SshTarget & { name?: string },
  command: readonly string[] | undefined,
  how: { cwd?: string; context?: RunContext; tty?: boolean; loginShell?: boolean } = {},
): Promise<number> {
  const tty = how.tty ?? Boolean(process.stdin.isTTY);
  const args = [
    ...sshOptions(target),
    tty ? '-t' : '-T',
    sshDestination(target),
    ...remote(command, how.cwd, how.context, how.loginShell),
  ];
  let interrupted = false;
  const onInterrupt = () => void (interrupted = true);
  process.on('SIGINT', onInterrupt);
  try {
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn('ssh', args, { stdio: 'inherit' });
      child.once('error', reject);
      child.once('exit', (status, signal) =>
        resolve(status ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
      );
    });
    if (code === SSH_FAILED && interrupted) return INTERRUPTED;
    if (code === SSH_FAILED && command !== undefined)
      process.stderr.write(
        `banger: ssh to vm ${target.name ?? target.host} failed (exit 255): the connection broke or could not be made, or the command itself exited 255\n`,
      );
    return code;
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

/**
 * What `vm ssh` keeps of a VM's run context: only the egress proxy's variables. It is ssh,
 * logging in as root with sshd's environment, but a VM whose one way out is the proxy
 * should reach its listed names from a shell too.
 */
export function proxyContext(run: RunContext | undefined): RunContext | undefined {
  const env = (run?.env ?? []).filter(isProxyVariable);
  return env.length > 0 ? { env } : undefined;
}

export async function sshTargetFor(
  ref: string,
): Promise<SshTarget & { name: string; run?: RunContext }> {
  return withDaemon((c) => c.call('vm.ssh', { ref }));
}

/** Printed after a session or command on a VM that keeps running. */
export function stillRunningReminder(name: string): string {
  return `vm ${name} is still running: stop it with "banger vm stop ${name}", delete it with "banger vm rm ${name}"\n`;
}

/**
 * The remote command line: the command (or a shell) run in `cwd` when given, in the image's
 * run context (its Env, WorkingDir and User) when given. A command runs as a child of the
 * remote shell, not in its place: sshd reports a command killed by a signal as
 * "exit-signal", which OpenSSH turns into 255, while the shell's `$?` is 128+N; Ctrl-C
 * (SIGINT to the pane's process group) exits the shell with 130 by its trap.
 */
export function remote(
  command: readonly string[] | undefined,
  cwd: string | undefined,
  context?: RunContext,
  loginShell = false,
): string[] {
  const { prelude, runAs } = contextPrefix(context, cwd);
  if (command === undefined) {
    if (!prelude && !runAs) return [];
    // The image's environment would be reset by a login shell's profile (not the proxy's).
    const shell = context && !loginShell ? '/bin/sh' : '"${SHELL:-/bin/sh}" -l';
    return [`${prelude}exec ${runAs}${shell}`];
  }
  return [`trap 'exit ${INTERRUPTED}' INT; ${prelude}${runAs}${remoteCommand(command)}; exit $?`];
}
