import pc from 'picocolors';

/**
 * Renders a long operation's `banger/progress` stages on stderr: one line per stage with the
 * time since the start; on a terminal the current line also ticks its elapsed time, so a
 * slow download or build never looks wedged. Piped output gets the stage lines only.
 */
export class ProgressRenderer {
  private readonly start = Date.now();
  private current: { stage: string; detail?: string; since: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = Boolean(out.isTTY);
  }

  readonly onProgress = (stage: string, detail?: string): void => {
    this.finishLine();
    this.current = { stage, ...(detail ? { detail } : {}), since: Date.now() };
    if (this.tty) {
      this.draw();
      this.timer = setInterval(() => this.draw(), 1000);
      this.timer.unref();
    } else {
      this.out.write(`${this.prefix()}${stage}${detail ? `: ${detail}` : ''}\n`);
    }
  };

  /** Ends the current line (its final elapsed time stays on screen). */
  done(): void {
    this.finishLine();
  }

  private finishLine(): void {
    clearInterval(this.timer);
    if (this.tty && this.current) {
      this.draw();
      this.out.write('\n');
    }
    this.current = undefined;
  }

  private draw(): void {
    if (!this.current) return;
    const { stage, detail, since } = this.current;
    const took = pc.dim(`(${((Date.now() - since) / 1000).toFixed(0)}s)`);
    this.out.write(`\r\x1b[2K${this.prefix()}${stage}${detail ? `: ${detail}` : ''} ${took}`);
  }

  private prefix(): string {
    return pc.dim(`[${this.label} ${((Date.now() - this.start) / 1000).toFixed(1)}s] `);
  }
}
