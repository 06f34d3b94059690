import type { Readable, Writable } from 'node:stream';
import { execa } from 'execa';
import { SubprocessError } from '../errors.js';

/**
 * The seam every external program goes through. Unit tests hand a recording runner to the
 * code under test; integration tests use the real one.
 */
export interface RunOptions {
  input?: string | Buffer;
  cwd?: string;
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Do not throw on a non-zero exit; the caller inspects exitCode. */
  allowFailure?: boolean;
  /** Stream the child's stdout/stderr to ours (apt-get in `doctor --fix`). */
  inheritOutput?: boolean;
  /**
   * Discard stdout/stderr instead of capturing them: for a program that leaves a background
   * child holding its output open (`ssh -f` with ControlPersist), which would never let a
   * pipe reach end-of-file.
   */
  ignoreOutput?: boolean;
}

export interface RunResult {
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface StreamOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  signal?: AbortSignal;
  /**
   * Run in its own process group and, on abort, signal the whole group: a program that forks
   * workers (mmdebstrap) would otherwise leave them running when only its top process dies.
   */
  processGroup?: boolean;
}

/** A running program whose stdin/stdout the caller streams (zstd, tar over ssh). */
export interface StreamingChild {
  stdin: Writable;
  stdout: Readable;
  /** Settles when the program exits: rejects with a SubprocessError on non-zero or signal. */
  done: Promise<RunResult>;
}

export interface Runner {
  run(file: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  stream(file: string, args: readonly string[], options?: StreamOptions): StreamingChild;
}

export function formatCommand(file: string, args: readonly string[]): string {
  return [file, ...args].map(quoteArg).join(' ');
}

function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

export const realRunner: Runner = {
  async run(file, args, options = {}) {
    const command = formatCommand(file, args);
    const result = await execa(file, args, {
      input: options.input,
      cwd: options.cwd,
      env: options.env,
      extendEnv: true,
      timeout: options.timeoutMs,
      cancelSignal: options.signal,
      reject: false,
      stripFinalNewline: false,
      stdout: options.inheritOutput ? 'inherit' : options.ignoreOutput ? 'ignore' : 'pipe',
      stderr: options.inheritOutput ? 'inherit' : options.ignoreOutput ? 'ignore' : 'pipe',
    });
    const stdout = typeof result.stdout === 'string' ? result.stdout : '';
    const stderr = typeof result.stderr === 'string' ? result.stderr : '';
    if (result.failed && result.exitCode === undefined) {
      // Not started (ENOENT), timed out or killed by a signal.
      const reason = result.timedOut
        ? `timed out after ${options.timeoutMs} ms`
        : result.isCanceled
          ? 'was cancelled'
          : result.cause instanceof Error
            ? result.cause.message
            : (result.shortMessage ?? 'failed');
      throw new SubprocessError(command, undefined, stderr || reason, { cause: result.cause });
    }
    const exitCode = result.exitCode ?? 0;
    if (exitCode !== 0 && !options.allowFailure) {
      throw new SubprocessError(command, exitCode, stderr || stdout);
    }
    return { command, exitCode, stdout, stderr };
  },
  stream(file, args, options = {}) {
    const command = formatCommand(file, args);
    const child = execa(file, args, {
      cwd: options.cwd,
      env: options.env,
      extendEnv: true,
      ...(options.processGroup ? { detached: true } : { cancelSignal: options.signal }),
      reject: false,
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: { stdout: false, stderr: true },
      stripFinalNewline: false,
    });
    const done = child.then((result) => {
      const stderr = typeof result.stderr === 'string' ? result.stderr : '';
      if (result.exitCode === undefined || result.exitCode !== 0) {
        // Stopped by us: whatever status it chose on the way out (ssh exits 255 on SIGTERM)
        // is not its own failure, so it has none, like a program killed by a signal.
        if (result.isCanceled)
          throw new SubprocessError(command, undefined, 'was cancelled', { cause: result.cause });
        const why = stderr || result.shortMessage || 'failed';
        throw new SubprocessError(command, result.exitCode, why, { cause: result.cause });
      }
      return { command, exitCode: 0, stdout: '', stderr };
    });
    if (options.processGroup && options.signal) {
      const group = child.pid;
      const killGroup = (sig: NodeJS.Signals) => {
        try {
          if (group) process.kill(-group, sig);
        } catch {
          // the group is gone already
        }
      };
      const onAbort = () => {
        killGroup('SIGTERM');
        setTimeout(() => killGroup('SIGKILL'), 5000).unref();
      };
      if (options.signal.aborted) onAbort();
      else options.signal.addEventListener('abort', onAbort, { once: true });
      void child.finally(() => options.signal?.removeEventListener('abort', onAbort));
    }
    // Callers observe failures through `done`; a broken pipe on stdin must not crash us.
    child.stdin.on('error', () => undefined);
    return { stdin: child.stdin, stdout: child.stdout, done };
  },
};
