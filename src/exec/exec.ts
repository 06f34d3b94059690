import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { BangerError, ErrorCode } from '../errors.js';
import { remoteCommand, sshDestination, sshOptions, type SshTarget } from '../ssh/options.js';
export { SSH_FAILED } from '../ssh/options.js';
import { contextPrefix, type RunContext } from '../ssh/run-context.js';

// A command run in a VM as data: no TTY, stdin passed or closed, stdout and stderr apart,
// the exit code (128+N for signal N, as a shell says it), and a way to stop the command
// without stopping the VM. It rides the VM's ssh master (tens of ms per command). Used by
// `vm exec`, the SDK and the MCP server alike; it runs where they run, not in bangerd.
//
// The command runs with a marker in its environment, BANGER_EXEC=<token>, which every
// process it starts inherits; a timeout or an abort on the host sends a second ssh command
// that finds them by it (/proc/*/environ) and signals them — closing the first connection
// alone would leave the command running: sshd gives one without a TTY no signal. Nothing
// else runs in the guest per command (each fork costs tens of ms under emulation: an
// earlier version that ran it under setsid and recorded its group in a file took ~230 ms
// more per command here).

/** How long a stopped command gets between SIGTERM and SIGKILL. */
export const KILL_GRACE_S = 2;

export interface ExecOptions {
  /** The directory to run in (default: the image's working directory, else /root). */
  cwd?: string | undefined;
  /** Exported for the command, after the image's own environment. */
  env?: Readonly<Record<string, string>> | undefined;
  /** Stops the command (SIGTERM, then SIGKILL) after this long; the VM runs on. */
  timeoutMs?: number | undefined;
  /** Stops the command the same way. */
  signal?: AbortSignal | undefined;
  /** The command's stdin: a stream, bytes, text, or 'inherit' (this process's); default none. */
  stdin?: Readable | Buffer | { text: string } | 'inherit' | undefined;
  onStdout?: ((chunk: Buffer) => void) | undefined;
  onStderr?: ((chunk: Buffer) => void) | undefined;
}

export interface ExecResult {
  /** The command's exit code; 128+N when signal N ended it. */
  exitCode: number;
  /** The signal's name when the exit code says one ended the command. */
  signal?: string;
  /** The timeout stopped it. */
  timedOut: boolean;
  /** The caller's AbortSignal stopped it. */
  aborted: boolean;
  durationMs: number;
}

/** A VM's ssh target with the image's run context, as `vm.ssh` returns it. */
export type ExecTarget = SshTarget & { name?: string; run?: RunContext | undefined };

export async function execInVm(
  target: ExecTarget,
  command: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  if (command.length === 0)
    throw new BangerError(ErrorCode.InvalidParams, 'no command to run', {
      hint: 'give the command after --, e.g. banger vm exec box -- uname -a',
    });
  const token = randomBytes(8).toString('hex');
  const started = performance.now();
  const child = spawn(
    'ssh',
    [
      ...sshOptions(target),
      '-T',
      sshDestination(target),
      execScript(command, token, target.run, options),
    ],
    { stdio: [stdinMode(options.stdin), 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (c: Buffer) => options.onStdout?.(c));
  child.stderr?.on('data', (c: Buffer) => options.onStderr?.(c));
  feedStdin(child.stdin, options.stdin);

  let stopping: 'timeout' | 'abort' | undefined;
  let killing: Promise<void> | undefined;
  const stop = (why: 'timeout' | 'abort') => {
    if (stopping) return;
    stopping = why;
    killing = killRemote(target, token).catch(() => void child.kill('SIGKILL'));
  };
  const timer =
    options.timeoutMs !== undefined
      ? setTimeout(() => stop('timeout'), options.timeoutMs)
      : undefined;
  const onAbort = () => stop('abort');
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const exitCode = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (status, signal) =>
        resolve(status ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
      );
    });
    // Our ssh may end first (Ctrl-C reaches it too): the command is stopped all the same.
    await killing;
    const signal = exitCode > 128 ? signalName(exitCode - 128) : undefined;
    return {
      exitCode,
      ...(signal ? { signal } : {}),
      timedOut: stopping === 'timeout',
      aborted: stopping === 'abort',
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** The variable that marks every process of one command (killRemote finds them by it). */
export const MARKER = 'BANGER_EXEC';

/**
 * The guest script: the command with the marker (and the caller's environment) exported,
 * in its directory and as the image's user; its status passed on (128+N for signal N: the
 * shell's, where sshd would report a signal as ssh's own 255).
 */
export function execScript(
  command: readonly string[],
  token: string,
  context: RunContext | undefined,
  options: Pick<ExecOptions, 'cwd' | 'env'> = {},
): string {
  const env = Object.entries(options.env ?? {});
  for (const [key] of env)
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
      throw new BangerError(ErrorCode.InvalidParams, `--env ${key}: not a variable name`, {
        hint: 'use KEY=VALUE with KEY made of letters, digits and _',
      });
  const { prelude, runAs } = contextPrefix(context, options.cwd);
  const vars = remoteCommand([`${MARKER}=${token}`, ...env.map(([k, v]) => `${k}=${v}`)]);
  return `${prelude}export ${vars} && ${runAs}${remoteCommand(command)}; exit $?`;
}

/** Stops a command execScript started: every process with its marker, SIGTERM then SIGKILL. */
async function killRemote(target: SshTarget, token: string): Promise<void> {
  const find = `grep -l ${MARKER}=${token} /proc/[0-9]*/environ 2>/dev/null | sed 's#^/proc/##; s#/environ$##'`;
  const script = [
    // The command may not have started yet.
    `i=0; while p=$(${find}); [ -z "$p" ] && [ $i -lt 10 ]; do sleep 0.1; i=$((i + 1)); done`,
    '[ -n "$p" ] || exit 0',
    'kill -TERM $p 2>/dev/null',
    `i=0; while p=$(${find}); [ -n "$p" ] && [ $i -lt ${KILL_GRACE_S * 10} ]; do sleep 0.1; i=$((i + 1)); done`,
    '[ -z "$p" ] || kill -KILL $p 2>/dev/null || true',
  ].join('\n');
  await new Promise<void>((resolve, reject) => {
    const killer = spawn('ssh', [...sshOptions(target), '-T', sshDestination(target), script], {
      stdio: 'ignore',
    });
    killer.once('error', reject);
    killer.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`stopping the command: ssh exited ${code}`)),
    );
  });
}

function signalName(n: number): string | undefined {
  return Object.entries(constants.signals).find(([, v]) => v === n)?.[0];
}

function stdinMode(stdin: ExecOptions['stdin']): 'inherit' | 'pipe' | 'ignore' {
  if (stdin === 'inherit') return 'inherit';
  return stdin === undefined ? 'ignore' : 'pipe';
}

function feedStdin(sink: NodeJS.WritableStream | null, stdin: ExecOptions['stdin']): void {
  if (!sink || stdin === undefined || stdin === 'inherit') return;
  // A command that does not read its stdin closes it: that is not an error.
  sink.on('error', () => undefined);
  if (Buffer.isBuffer(stdin)) sink.end(stdin);
  else if ('text' in stdin) sink.end(stdin.text);
  else stdin.pipe(sink);
}
