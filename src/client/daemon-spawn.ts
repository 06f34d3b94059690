import { spawn } from 'node:child_process';
import { mkdir, open, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Layout } from '../config/layout.js';
import { BangerError, ErrorCode, tailLines } from '../errors.js';
import { dial, isAbsent } from './dial.js';
import { EXIT_ALREADY_RUNNING } from '../protocol/exit-codes.js';

const DAEMON_ENTRY = fileURLToPath(new URL('../daemon/main.js', import.meta.url));
const READY_TIMEOUT_MS = 15_000;

/**
 * Starts bangerd detached, logging to the state dir, and returns once its socket answers.
 * Several CLIs may race here: all but one daemon exit with EXIT_ALREADY_RUNNING, and every
 * caller simply waits for the winner's socket.
 */
export async function startDaemon(
  layout: Layout,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  await mkdir(layout.stateDir, { recursive: true, mode: 0o700 });
  const log = await open(layout.daemonLog, 'a', 0o600);
  let exit: { code: number | null } | undefined;
  try {
    // A small young generation keeps an idle daemon's RSS down; single-threaded GC keeps
    // V8's background collector from competing with zstd for 2 cores during a pull
    // (BENCHMARKS.md has both measurements).
    const child = spawn(
      process.execPath,
      ['--max-semi-space-size=1', '--single-threaded-gc', DAEMON_ENTRY],
      {
        detached: true,
        stdio: ['ignore', log.fd, log.fd],
        // glibc's mmap threshold fixed at 128 KiB: a burst of large buffers (requests,
        // archives) is returned to the OS when freed instead of staying in the heap.
        env: { MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_TRIM_THRESHOLD_: '131072', ...env },
      },
    );
    child.once('exit', (code) => (exit = { code }));
    child.once('error', () => (exit = { code: null }));
    child.unref();
  } finally {
    await log.close();
  }
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      (await dial(layout.socket)).destroy();
      return;
    } catch (err) {
      if (!isAbsent(err)) throw err;
    }
    if (exit && exit.code !== EXIT_ALREADY_RUNNING)
      throw await startFailure(layout, `bangerd exited with code ${exit.code}`);
    if (Date.now() > deadline)
      throw await startFailure(
        layout,
        `bangerd did not open ${layout.socket} within ${READY_TIMEOUT_MS / 1000} s`,
      );
    await new Promise((r) => setTimeout(r, 15));
  }
}

async function startFailure(layout: Layout, what: string): Promise<BangerError> {
  const log = await readFile(layout.daemonLog, 'utf8').catch(() => '');
  // The daemon writes a plain "bangerd: ..." line on stderr for start-up errors: prefer it.
  const plain = log.split('\n').filter((l) => l.startsWith('bangerd: ') || l.startsWith('  '));
  const reason =
    plain.length > 0 ? tailLines(plain.join('\n'), 2).replace(/^bangerd: /, '') : tailLines(log, 3);
  return new BangerError(ErrorCode.DaemonUnavailable, `${what}${reason ? `: ${reason}` : ''}`, {
    hint: `see ${layout.daemonLog}`,
  });
}
