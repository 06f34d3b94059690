/**
 * One error type for the whole program. `code` is stable and documented in
 * docs/errors.md; `message` says what failed; `hint` is the next thing to run.
 */
export const ErrorCode = {
  Internal: 'INTERNAL',
  Usage: 'USAGE',
  InvalidParams: 'INVALID_PARAMS',
  NotImplemented: 'NOT_IMPLEMENTED',
  NotFound: 'NOT_FOUND',
  AlreadyExists: 'ALREADY_EXISTS',
  Config: 'CONFIG',
  Subprocess: 'SUBPROCESS',
  DaemonUnavailable: 'DAEMON_UNAVAILABLE',
  DaemonRunning: 'DAEMON_RUNNING',
  Permission: 'PERMISSION',
  Cancelled: 'CANCELLED',
  Conflict: 'CONFLICT',
  /** The guest booted but its sshd never announced itself: the VM is kept for inspection. */
  SshTimeout: 'SSH_TIMEOUT',
  /** The VM's sshd answered with a host key other than the one banger made and pinned. */
  HostKey: 'HOST_KEY',
  /** A disk banger writes to (state dir, cache, a copy's destination) is full. */
  DiskFull: 'DISK_FULL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface BangerErrorOptions {
  hint?: string | undefined;
  cause?: unknown;
}

export class BangerError extends Error {
  override readonly name: string = 'BangerError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: BangerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }
}

/** A usage error: the CLI exits 2 instead of 1. */
export class UsageError extends BangerError {
  override readonly name = 'UsageError';
  constructor(message: string, options: BangerErrorOptions = {}) {
    super(ErrorCode.Usage, message, options);
  }
}

/** An external program failed: carries its command line and the tail of its stderr. */
export class SubprocessError extends BangerError {
  override readonly name = 'SubprocessError';
  readonly command: string;
  readonly exitCode: number | undefined;
  readonly stderrTail: string;

  constructor(
    command: string,
    exitCode: number | undefined,
    stderr: string,
    options: BangerErrorOptions = {},
  ) {
    const tail = tailLines(stderr, 12);
    const status = exitCode === undefined ? 'was killed' : `exited ${exitCode}`;
    super(ErrorCode.Subprocess, `${command} ${status}${tail ? `: ${tail}` : ''}`, options);
    this.command = command;
    this.exitCode = exitCode;
    this.stderrTail = tail;
  }
}

/**
 * The remote command of `vm run -- cmd` / `vm ssh -- cmd` exited non-zero. This is the only
 * error whose exit code becomes banger's own; it prints nothing.
 */
export class RemoteExitError extends Error {
  override readonly name = 'RemoteExitError';
  constructor(readonly exitCode: number) {
    super(`remote command exited ${exitCode}`);
  }
}

export function notImplemented(what: string): BangerError {
  return new BangerError(ErrorCode.NotImplemented, `${what} is not implemented yet`, {
    hint: 'this command arrives in a later release of banger',
  });
}

export function tailLines(text: string, max: number): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(-max).join('\n').trim();
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
