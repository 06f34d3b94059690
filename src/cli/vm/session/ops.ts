import type { MethodName, Params } from '../../../protocol/index.js';
import type { SessionInfoResult } from '../../../protocol/vm-sessions.js';
import { formatAge, printJson, renderTable } from '../../output.js';

type SessionMethod = Extract<MethodName, `vm.session.${string}`>;

/** One session operation through the daemon (it checks the VM runs and speaks ssh). */
export async function sessionOp<M extends SessionMethod>(
  method: M,
  params: Params<M>,
): Promise<SessionInfoResult[]> {
  const { withDaemon } = await import('../../with-daemon.js');
  const { sessions } = (await withDaemon((c) => c.call(method, params))) as {
    sessions: SessionInfoResult[];
  };
  return sessions;
}

export function printSessions(sessions: readonly SessionInfoResult[], json: boolean): void {
  if (json) return printJson(sessions);
  if (sessions.length === 0) {
    process.stdout.write('no sessions — "banger vm session start VM NAME -- cmd" starts one\n');
    return;
  }
  const rows = sessions.map((s) => [
    s.name,
    s.exitCode !== undefined ? `exited (${s.exitCode})` : s.state,
    s.startedAt ? formatAge(s.startedAt) : '',
    s.command,
  ]);
  process.stdout.write(renderTable(['NAME', 'STATE', 'STARTED', 'COMMAND'], rows));
}

export function printSession(s: SessionInfoResult): void {
  const rows: [string, string | undefined][] = [
    ['name', s.name],
    ['state', s.state],
    ['exit code', s.exitCode?.toString()],
    ['command', s.command],
    ['started', s.startedAt],
    ['ended', s.endedAt],
  ];
  for (const [k, v] of rows) if (v !== undefined) process.stdout.write(`${k.padEnd(9)}  ${v}\n`);
}

/**
 * logs and attach run OpenSSH in the foreground (output streams as it comes; attach needs
 * the terminal): the same guest script, reached through the VM's ssh connection.
 */
export async function sessionOverSsh(vm: string, args: string[], tty: boolean): Promise<number> {
  const { sshSession, sshTargetFor } = await import('../ssh-session.js');
  const { SESSION_SCRIPT } = await import('../../../session/script.js');
  const target = await sshTargetFor(vm);
  return sshSession(target, ['sh', '-c', SESSION_SCRIPT, 'banger-session', ...args], { tty });
}
