/** A command's output kept up to a cap (the first `cap` bytes), and whether more came. */
export class OutputCap {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  /** Bytes seen past the cap. */
  dropped = 0;

  constructor(readonly cap: number) {}

  add(chunk: Buffer): void {
    const room = this.cap - this.kept;
    if (room > 0) {
      const part = chunk.subarray(0, room);
      this.chunks.push(part);
      this.kept += part.length;
    }
    this.dropped += Math.max(0, chunk.length - Math.max(room, 0));
  }

  get truncated(): boolean {
    return this.dropped > 0;
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** As UTF-8; a character cut by the cap is dropped rather than garbled. */
  text(): string {
    const text = this.bytes().toString('utf8');
    return this.truncated ? text.replace(/\uFFFD$/, '') : text;
  }
}
