import { createConnection, type Socket } from 'node:net';
import { BangerError, ErrorCode } from '../../errors.js';

/**
 * A minimal QMP client: one connection, newline-delimited JSON, commands answered in order.
 * The greeting is read, capabilities negotiated, then `execute` sends a command and returns
 * its `return` value; asynchronous events are ignored.
 */
export class QmpClient {
  private buffer = '';
  private readonly waiting: {
    resolve: (msg: QmpMessage) => void;
    reject: (err: Error) => void;
  }[] = [];
  private closedError: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    const fail = (err: Error) => {
      this.closedError ??= err;
      for (const w of this.waiting.splice(0)) w.reject(this.closedError);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('QMP connection closed')));
  }

  static async connect(path: string, timeoutMs = 5000): Promise<QmpClient> {
    const socket = createConnection(path);
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`QMP ${path}: timed out`)));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new QmpClient(socket);
    const greeting = await client.next();
    if (!('QMP' in greeting)) throw new Error(`QMP ${path}: unexpected greeting`);
    await client.execute('qmp_capabilities');
    return client;
  }

  async execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    this.socket.write(
      `${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`,
    );
    const reply = await this.next();
    if (reply.error)
      throw new BangerError(
        ErrorCode.Subprocess,
        `QMP ${command}: ${reply.error.class}: ${reply.error.desc}`,
      );
    return reply.return;
  }

  close(): void {
    this.socket.destroy();
  }

  /** The next message that is not an event. */
  private next(): Promise<QmpMessage> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.drain();
    });
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    this.drain();
  }

  private drain(): void {
    let newline: number;
    while (this.waiting.length > 0 && (newline = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, newline).trim();
      this.buffer = this.buffer.slice(newline + 1);
      if (line === '') continue;
      let msg: QmpMessage;
      try {
        msg = JSON.parse(line) as QmpMessage;
      } catch {
        continue;
      }
      if ('event' in msg) continue;
      this.waiting.shift()!.resolve(msg);
    }
  }
}

interface QmpMessage {
  QMP?: unknown;
  event?: string;
  return?: unknown;
  error?: { class: string; desc: string };
}
