import { DEFAULT_SESSION_MAX } from '../config/schema.js';
import { sshRun } from '../ssh/connection.js';
import { remoteCommand } from '../ssh/options.js';
import { sessionRunScript } from '../ssh/run-context.js';
import { runContextOf } from '../vm/run-context.js';
import type { Connection } from '../vm/connect.js';
import type { VmContext } from '../vm/context.js';
import {
  parseSessionRows,
  SESSION_LOGGER,
  SESSION_SCRIPT,
  sessionError,
  STOP_GRACE_SECONDS,
  type SessionInfo,
} from './script.js';

/** What each session operation the daemon runs takes (logs and attach stream from the CLI). */
export type SessionRequest =
  | { op: 'start'; name: string; command: readonly string[] }
  | { op: 'list' }
  | { op: 'show' | 'stop' | 'kill'; name: string }
  | { op: 'send'; name: string; text: string; enter: boolean };

/** One session operation in the guest (see SESSION_SCRIPT); its listing rows parsed. */
export async function sessionOp(
  ctx: VmContext,
  conn: Connection,
  req: SessionRequest,
  signal: AbortSignal,
): Promise<SessionInfo[]> {
  const name = req.op === 'list' ? '' : req.name;
  const extra =
    req.op === 'start'
      ? [
          sessionRunScript(remoteCommand(req.command), runContextOf(ctx, conn.vm)),
          req.command.join(' '),
          String(ctx.sessionMaxBytes ?? DEFAULT_SESSION_MAX),
          SESSION_LOGGER,
        ]
      : req.op === 'send'
        ? [req.text, req.enter ? 'enter' : '']
        : [];
  const r = await sshRun(
    conn.target,
    ['sh', '-c', SESSION_SCRIPT, 'banger-session', req.op, name, ...extra],
    ctx.runner,
    { timeoutMs: (STOP_GRACE_SECONDS + 30) * 1000, signal },
  );
  if (r.exitCode !== 0) throw sessionError(conn.vm.name, name, r.exitCode, r.stderr);
  return parseSessionRows(r.stdout);
}
