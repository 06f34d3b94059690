import { open, readFile } from 'node:fs/promises';
import { BangerError, ErrorCode } from '../errors.js';

/** The line banger's ssh drop-in writes to the serial console once sshd listens. */
export const SSHD_READY_LINE = 'banger-guest: sshd ready';

/** Why waiting for the guest ended without it being ready. */
export type NotReady = 'timeout' | 'exited';

/**
 * Waits for the guest to announce sshd on its console, reading only what was appended since
 * the last look. banger never polls the forwarded port instead: early SYNs through QEMU user
 * networking back off and leave stale sshds behind (../shared/TCG-BOOT-FACTS.md).
 * Resolves 'ready', or why not; rejects only when `signal` aborts.
 */
export async function waitForReadyLine(opts: {
  consoleLog: string;
  deadline: number;
  signal: AbortSignal;
  stillRunning: () => Promise<boolean>;
  intervalMs?: number;
}): Promise<'ready' | NotReady> {
  let offset = 0;
  let tail = '';
  for (;;) {
    opts.signal.throwIfAborted();
    const chunk = await readFrom(opts.consoleLog, offset);
    // Rotated meanwhile (console-cap.ts): the new file starts from nothing.
    if (chunk === ROTATED) {
      offset = 0;
      continue;
    }
    offset += chunk.length;
    // Keep a line's worth of the previous read: the marker may straddle two reads.
    const text = tail + chunk.toString('utf8');
    if (text.includes(SSHD_READY_LINE)) return 'ready';
    tail = text.slice(-SSHD_READY_LINE.length);
    if (!(await opts.stillRunning())) return 'exited';
    if (Date.now() >= opts.deadline) return 'timeout';
    await sleep(opts.intervalMs ?? 100, opts.signal);
  }
}

const ROTATED = Buffer.alloc(0);

async function readFrom(path: string, offset: number): Promise<Buffer> {
  const file = await open(path, 'r').catch(() => undefined);
  if (!file) return Buffer.alloc(0);
  try {
    const { size } = await file.stat();
    if (size < offset) return ROTATED;
    if (size === offset) return Buffer.alloc(0);
    const buf = Buffer.alloc(size - offset);
    const { bytesRead } = await file.read(buf, 0, buf.length, offset);
    return buf.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(
        signal.reason instanceof Error
          ? signal.reason
          : new BangerError(ErrorCode.Cancelled, 'cancelled'),
      );
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The last lines of a console log, for an error message. */
function consoleTail(text: string, lines = 8): string {
  return text
    .replace(/\r/g, '')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-lines)
    .join('\n');
}

/** The last lines of the console log file (none when it cannot be read), for an error. */
export async function consoleEnd(consoleLog: string, lines = 8): Promise<string> {
  return consoleTail(await readFile(consoleLog, 'utf8').catch(() => ''), lines);
}
