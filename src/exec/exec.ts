import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { BangerError, ErrorCode } from '../errors.js';
import { remoteCommand, sshDestination, sshOptions, type SshTarget } from '../ssh/options.js';
import { contextPrefix, type RunContext } from '../ssh/run-context.js';

// A command run in a VM as data: no TTY, stdin passed or closed, stdout and stderr apart,
// the exit code (128+N for signal N, as a shell says it), and a way to stop the command
// without stopping the VM. It rides the VM's ssh master (tens of ms per command). Used by
// `vm exec`, the SDK and the MCP server alike; it runs where they run, not in bangerd.
//
// The command runs in its own session (setsid) in the background of a small guest script
// that writes its process group to a file named for this run and waits for it; a timeout
// or an abort on the host kills that group over a second ssh command — closing the first
// connection alone would leave it running, sshd gives a command without a TTY no signal.

/** What ssh itself exits with when it, not the command, failed. */
export const SSH_FAILED = 255;
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

/**
 * The guest script: the command in its own session, in the background with our stdin,
 * its process group recorded for killRemote, its status passed on.
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
  const exports = env.length ? `export ${remoteCommand(env.map(([k, v]) => `${k}=${v}`))} && ` : '';
  const file = pidFile(token);
  return [
    // A background job's stdin would be /dev/null: ours goes to it through fd 3.
    'exec 3<&0',
    's=$(command -v setsid || true)',
    `(${prelude}${exports}exec $s ${runAs}${remoteCommand(command)}) <&3 3<&- &`,
    'p=$!',
    `echo $p > ${file}`,
    'wait $p; c=$?',
    `rm -f ${file}`,
    'exit $c',
  ].join('\n');
}

/** Stops a command execScript started: its process group, SIGTERM then SIGKILL. */
async function killRemote(target: SshTarget, token: string): Promise<void> {
  const file = pidFile(token);
  const script = [
    // The command may not have written its pid yet.
    `i=0; while [ ! -s ${file} ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done`,
    `p=$(cat ${file} 2>/dev/null) || exit 0`,
    'kill -TERM -- -$p 2>/dev/null || kill -TERM $p 2>/dev/null || exit 0',
    `i=0; while kill -0 $p 2>/dev/null && [ $i -lt ${KILL_GRACE_S * 10} ]; do sleep 0.1; i=$((i + 1)); done`,
    'kill -KILL -- -$p 2>/dev/null || kill -KILL $p 2>/dev/null || true',
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

function pidFile(token: string): string {
  return `/tmp/.banger-exec-${token}`;
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
