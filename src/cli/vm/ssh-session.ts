import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { remoteCommand, sshDestination, sshOptions, type SshTarget } from '../../ssh/options.js';
import { withDaemon } from '../with-daemon.js';

/**
 * Runs OpenSSH in the foreground against a VM: an interactive shell without a command, else
 * the command (its exit status is returned). A TTY is requested when stdin is a terminal.
 * The CLI ignores SIGINT meanwhile: the terminal delivers it to ssh, which forwards it.
 */
export async function sshSession(
  target: SshTarget,
  command: readonly string[] | undefined,
  cwd?: string,
  tty = Boolean(process.stdin.isTTY),
): Promise<number> {
  const args = [
    ...sshOptions(target),
    tty ? '-t' : '-T',
    sshDestination(target),
    ...remote(command, cwd),
  ];
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  try {
    return await new Promise<number>((resolve, reject) => {
      const child = spawn('ssh', args, { stdio: 'inherit' });
      child.once('error', reject);
      child.once('exit', (code, signal) =>
        resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
      );
    });
  } finally {
    process.off('SIGINT', ignore);
  }
}

export async function sshTargetFor(ref: string): Promise<SshTarget & { name: string }> {
  return withDaemon((c) => c.call('vm.ssh', { ref }));
}

/** Printed after an interactive session on a VM that keeps running. */
export function stillRunningReminder(name: string): string {
  return `vm ${name} is still running: stop it with "banger vm stop ${name}", delete it with "banger vm rm ${name}"\n`;
}

/** The remote command line: the command (or a login shell) run in `cwd` when given. */
function remote(command: readonly string[] | undefined, cwd: string | undefined): string[] {
  if (cwd === undefined) return command ? [remoteCommand(command)] : [];
  const inDir = `cd ${remoteCommand([cwd])} && `;
  return [command ? `${inDir}${remoteCommand(command)}` : `${inDir}exec "\${SHELL:-/bin/sh}" -l`];
}
