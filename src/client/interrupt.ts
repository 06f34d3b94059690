import { CancellationTokenSource, type CancellationToken } from 'vscode-jsonrpc/node';
import { BangerError, ErrorCode } from '../errors.js';

/** How long the first Ctrl-C waits for bangerd to finish cancelling before the CLI leaves. */
export const CANCEL_WAIT_MS = 60_000;

/** 128 + SIGINT: what a shell reports for a command Ctrl-C stopped. */
export const EXIT_INTERRUPTED = 130;

/**
 * Ctrl-C during a call bangerd can cancel. The first asks bangerd to cancel it
 * ($/cancelRequest) and keeps the CLI until bangerd answers, which it does only once the
 * operation removed what it staged, so nothing is left when the prompt comes back. A second
 * Ctrl-C, or CANCEL_WAIT_MS without an answer, leaves at once: bangerd finishes the cleanup
 * on its own (the disconnect cancels the call too). The command then exits 130.
 */
export class CancelOnInterrupt {
  private readonly source = new CancellationTokenSource();
  private interrupted = false;
  /** The CLI stopped waiting (second Ctrl-C, or no answer in time). */
  private gaveUp = false;
  private timer: NodeJS.Timeout | undefined;
  private leave!: (err: BangerError) => void;
  private readonly left = new Promise<never>((_, reject) => (this.leave = reject));

  constructor(
    /** The operation, as the user would name it: "image build". */
    private readonly what: string,
    /** Where "cancelling…" is said (the progress renderer when there is one). */
    private readonly note: (stage: string, detail?: string) => void,
    private readonly daemonLog: string,
    private readonly waitMs = CANCEL_WAIT_MS,
  ) {
    this.left.catch(() => undefined);
    process.on('SIGINT', this.onInterrupt);
  }

  get token(): CancellationToken {
    return this.source.token;
  }

  /** The request's outcome, or the reason the CLI stopped waiting for it. */
  async settle<T>(request: Promise<T>, toError: (err: unknown) => Error): Promise<T> {
    try {
      return await Promise.race([request, this.left]);
    } catch (err) {
      if (!this.interrupted) throw toError(err);
      exitAsInterrupted();
      if (this.gaveUp) throw err;
      // bangerd answered: the operation is over and its cleanup done, whatever it said.
      const answer = toError(err);
      const said =
        answer instanceof BangerError && answer.code === ErrorCode.Cancelled
          ? ''
          : ` (bangerd: ${answer.message})`;
      throw new BangerError(ErrorCode.Cancelled, `${this.what} cancelled${said}`, {
        cause: answer,
      });
    } finally {
      process.off('SIGINT', this.onInterrupt);
      clearTimeout(this.timer);
      this.source.dispose();
    }
  }

  private readonly onInterrupt = (): void => {
    if (this.interrupted) {
      this.leave(
        this.leaving(`${this.what} cancelled; bangerd finishes removing what it staged on its own`),
      );
      return;
    }
    this.interrupted = true;
    this.note(
      'cancelling',
      'waiting for bangerd to clean up (Ctrl-C again to leave it to the daemon)',
    );
    this.source.cancel();
    this.timer = setTimeout(
      () =>
        this.leave(
          this.leaving(
            `${this.what} cancelled, but bangerd was still cleaning up after ${this.waitMs / 1000} s; it finishes on its own`,
          ),
        ),
      this.waitMs,
    );
    this.timer.unref();
  };

  private leaving(message: string): BangerError {
    this.gaveUp = true;
    return new BangerError(ErrorCode.Cancelled, message, {
      hint: `bangerd's log: ${this.daemonLog}`,
    });
  }
}

let exitCodeSet = false;
/** main() reports any error as exit 1; a command the user interrupted exits 130 instead. */
function exitAsInterrupted(): void {
  if (exitCodeSet) return;
  exitCodeSet = true;
  process.once('exit', () => {
    process.exitCode = EXIT_INTERRUPTED;
  });
}
