import pc from 'picocolors';
import type { LayerBytes } from '../protocol/method.js';
import { layerLines, rowsOf } from './layer-lines.js';

/** The least time between two redraws of a layer download (the daemon sends ~5 a second). */
const REDRAW_MS = 100;

/**
 * Renders a long operation's `banger/progress` stages on stderr: one line per stage with the
 * time since the start; on a terminal the current line also ticks its elapsed time, so a
 * slow download or build never looks wedged. Piped output gets the stage lines only.
 * A layer download (notifications with `layers`) is drawn in place on a terminal: its total
 * and a line per layer arriving; piped, only its notifications with a detail are printed.
 */
export class ProgressRenderer {
  private readonly start: number;
  private current:
    { stage: string; detail?: string; layers?: readonly LayerBytes[]; since: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly tty: boolean;
  /** Terminal rows the current stage's lines take now (a layer download's take several). */
  private rows = 0;
  private drawn = 0;

  constructor(
    private readonly label: string,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly now: () => number = Date.now,
  ) {
    this.tty = Boolean(out.isTTY);
    this.start = now();
  }

  readonly onProgress = (stage: string, detail?: string, layers?: LayerBytes[]): void => {
    if (layers && this.tty && this.current?.layers && this.current.stage === stage) {
      this.current.layers = layers;
      if (this.now() - this.drawn >= REDRAW_MS) this.draw();
      return;
    }
    if (layers && !this.tty && !detail) return; // a terminal's refresh
    this.finishLine();
    this.current = {
      stage,
      ...(detail ? { detail } : {}),
      ...(layers && this.tty ? { layers } : {}),
      since: this.now(),
    };
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
    this.rows = 0;
  }

  private draw(): void {
    if (!this.current) return;
    const { stage, detail, layers, since } = this.current;
    const took = pc.dim(`(${((this.now() - since) / 1000).toFixed(0)}s)`);
    const [text = '', ...below] = layers ? layerLines(layers) : [detail ?? ''];
    const lines = [`${this.prefix()}${stage}${text ? `: ${text}` : ''} ${took}`, ...below];
    // Back to the first row of what was drawn last, then clear to the end of the screen.
    const up = this.rows > 1 ? `\x1b[${this.rows - 1}A` : '';
    this.out.write(`${up}\r\x1b[J${lines.join('\n')}`);
    this.rows = lines.reduce((n, line) => n + rowsOf(line, this.out.columns), 0);
    this.drawn = this.now();
  }

  private prefix(): string {
    return pc.dim(`[${this.label} ${((this.now() - this.start) / 1000).toFixed(1)}s] `);
  }
}
