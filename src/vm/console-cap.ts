import { open, rename, stat, truncate, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { vmFiles } from '../config/layout.js';
import { errorMessage } from '../errors.js';
import type { Store } from '../store/store.js';

// A guest that prints to its serial console forever must not fill the host's disk. QEMU
// appends to console.log (O_APPEND); while a VM runs the daemon looks at its size every few
// seconds, and past the cap keeps the newest half of it as console.log.1 (replacing the
// older one) and truncates console.log in place: QEMU's next write lands at its new end.
// What the guest writes between the copy and the truncate is lost (a console, not a log
// of record). At most twice the cap per VM is on disk.

export const CONSOLE_CHECK_MS = 5_000;

/**
 * Rotates `file` when it is over `maxBytes`: its last `maxBytes / 2` bytes become
 * `file.1`, then it is emptied. Returns whether it rotated.
 */
export async function rotateIfOver(file: string, maxBytes: number): Promise<boolean> {
  const size = await stat(file).then(
    (s) => s.size,
    () => 0,
  );
  if (size <= maxBytes) return false;
  const tail = Buffer.alloc(Math.floor(maxBytes / 2));
  const src = await open(file, 'r');
  try {
    await src.read(tail, 0, tail.length, size - tail.length);
  } finally {
    await src.close();
  }
  const staged = `${file}.1.tmp`;
  await writeFile(staged, tail, { mode: 0o600 });
  await rename(staged, `${file}.1`);
  await truncate(file, 0);
  return true;
}

/** The daemon's watcher over every running VM's console. */
export function capConsoles(
  store: Store,
  log: Pick<Logger, 'info' | 'warn'>,
  maxBytes: number,
  intervalMs = CONSOLE_CHECK_MS,
): { close(): void } {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      for (const vm of store.vms.list()) {
        if (vm.state !== 'running') continue;
        const file = vmFiles(vm.dir).consoleLog;
        await rotateIfOver(file, maxBytes).then(
          (rotated) => rotated && log.info({ vm: vm.name }, 'console log rotated'),
          (err: unknown) =>
            log.warn({ vm: vm.name, err: errorMessage(err) }, 'console log not rotated'),
        );
      }
    })().finally(() => (busy = false));
  }, intervalMs);
  timer.unref();
  return { close: () => clearInterval(timer) };
}
