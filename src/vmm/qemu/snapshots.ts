import { open, readFile } from 'node:fs/promises';
import { BangerError, ErrorCode } from '../../errors.js';
import type { Runner } from '../../system/runner.js';
import type { Snapshots, VmHandles } from '../vmm.js';
import { copyMemory } from './memory-copy.js';
import { QmpClient } from './qmp.js';

// Pause, resume and saved state over QMP. A save is a migration to a file: with the guest's
// RAM in a shared file backend and `x-ignore-shared` on, the stream carries only device
// state (~80 KB, tens of ms); otherwise it carries the RAM too. A restore starts QEMU with
// `-S -incoming defer` and the same devices, then migrate-incoming reads the file back.
// ../shared/SNAPSHOT-FACTS.md has the measured figures behind this.

/** How often a migration's progress is polled. */
const POLL_MS = 10;
/** A save or load that has not finished by then has failed. */
const MIGRATION_TIMEOUT_MS = 120_000;

export function qemuSnapshots(binary: string, runner: Runner): Snapshots {
  let version: Promise<string> | undefined;
  return {
    pause: (handles) => withQmp(handles, async (qmp) => void (await qmp.execute('stop'))),
    resume: (handles) => withQmp(handles, async (qmp) => void (await qmp.execute('cont'))),
    paused: (handles) =>
      withQmp(handles, async (qmp) => {
        const status = (await qmp.execute('query-status')) as { running: boolean };
        return !status.running;
      }),
    save: (handles, stateFile, signal) =>
      withQmp(handles, async (qmp) => {
        await qmp.execute('migrate-set-capabilities', IGNORE_SHARED);
        await qmp.execute('stop');
        await qmp.execute('migrate', { uri: `exec:cat > ${shellQuote(stateFile)}` });
        await waitForMigration(qmp, signal, `saving the state of ${handles.controlSocket}`);
      }),
    saveCompleted: (handles, signal) =>
      withQmp(handles, async (qmp) => {
        for (;;) {
          const info = (await qmp.execute('query-migrate')) as { status?: string };
          if (info.status === 'completed') return true;
          if (info.status !== 'setup' && info.status !== 'active') return false;
          await delay(POLL_MS, signal);
        }
      }),
    saveDevices: (handles, stateFile) =>
      withQmp(handles, async (qmp) => {
        // QEMU's device-state-only save (named for Xen, whose toolstack saves RAM itself).
        await qmp.execute('xen-save-devices-state', { filename: stateFile, live: false });
      }),
    copyMemory: (handles, target) =>
      withQmp(handles, (qmp) => copyMemory(qmp, handles.pid, target, runner)),
    writeMemory: (handles, memoryFile, writes) => writeMemory(handles.pid, memoryFile, writes),
    version() {
      version ??= runner.run(binary, ['--version']).then((r) => r.stdout.split('\n')[0]!.trim());
      return version;
    },
  };
}

/**
 * Loads the saved state into a QEMU started with `-S -incoming defer`; the VM stays paused
 * until the caller resumes it (after writing to its memory, if it has to).
 * A state that does not fit (another QEMU, other devices, a damaged file) fails here with
 * QEMU's reason; the caller kills the process.
 */
export async function loadState(
  controlSocket: string,
  stateFile: string,
  signal: AbortSignal,
): Promise<void> {
  const qmp = await QmpClient.connect(controlSocket, 5000);
  try {
    // Must match the save: the stream's layout depends on it.
    await qmp.execute('migrate-set-capabilities', IGNORE_SHARED);
    await qmp.execute('migrate-incoming', { uri: `exec:cat ${shellQuote(stateFile)}` });
    // QEMU 7.2 exits when an incoming migration fails (the connection closes: an error
    // here); a good one ends paused (-S).
    const deadline = Date.now() + MIGRATION_TIMEOUT_MS;
    for (;;) {
      const status = (await qmp.execute('query-status')) as { status: string };
      if (status.status === 'paused') break;
      if (status.status !== 'inmigrate' || Date.now() > deadline)
        throw new BangerError(
          ErrorCode.Subprocess,
          `loading ${stateFile}: the VM is in state "${status.status}"`,
        );
      await delay(POLL_MS, signal);
    }
  } finally {
    qmp.close();
  }
}

/**
 * Writes into the guest's RAM through QEMU's own mapping of its memory file
 * (/proc/PID/mem, as a debugger does): a private mapping takes the write copy-on-write, so
 * only this VM sees it and the file is untouched. The VM must be paused.
 */
async function writeMemory(
  pid: number,
  memoryFile: string,
  writes: readonly { offset: number; bytes: Buffer }[],
): Promise<void> {
  if (writes.length === 0) return;
  const maps = await readFile(`/proc/${pid}/maps`, 'utf8');
  const regions = maps
    .split('\n')
    .filter((line) => line.endsWith(` ${memoryFile}`))
    .map((line) => {
      const [range = '', , fileOffset = '0'] = line.split(/\s+/);
      const [start = 0, end = 0] = range.split('-').map((h) => Number.parseInt(h, 16));
      const from = Number.parseInt(fileOffset, 16);
      return { start, end, from, to: from + (end - start) };
    });
  const mem = await open(`/proc/${pid}/mem`, 'r+');
  try {
    for (const { offset, bytes } of writes) {
      const region = regions.find((r) => offset >= r.from && offset + bytes.length <= r.to);
      if (!region)
        throw new BangerError(
          ErrorCode.Internal,
          `offset ${offset} of ${memoryFile} is not mapped by process ${pid}`,
        );
      await mem.write(bytes, 0, bytes.length, region.start + (offset - region.from));
    }
  } finally {
    await mem.close();
  }
}

/** With it on, RAM in a shared file backend stays out of the stream (it is in the file). */
const IGNORE_SHARED = { capabilities: [{ capability: 'x-ignore-shared', state: true }] };

async function waitForMigration(qmp: QmpClient, signal: AbortSignal, what: string): Promise<void> {
  const deadline = Date.now() + MIGRATION_TIMEOUT_MS;
  for (;;) {
    const info = (await qmp.execute('query-migrate')) as { status?: string; 'error-desc'?: string };
    // An incoming migration reports nothing until it starts; `none` then means not yet.
    if (info.status === 'completed') return;
    if (info.status === 'failed' || info.status === 'cancelled')
      throw new BangerError(
        ErrorCode.Subprocess,
        `${what}: ${info['error-desc'] ?? `migration ${info.status}`}`,
      );
    if (Date.now() > deadline)
      throw new BangerError(
        ErrorCode.Subprocess,
        `${what}: no end after ${MIGRATION_TIMEOUT_MS / 1000}s`,
      );
    await delay(POLL_MS, signal);
  }
}

async function withQmp<T>(handles: VmHandles, fn: (qmp: QmpClient) => Promise<T>): Promise<T> {
  const qmp = await QmpClient.connect(handles.controlSocket, 5000);
  try {
    return await fn(qmp);
  } finally {
    qmp.close();
  }
}

/** The state file goes through QEMU's `exec:` (a shell): quoted whole. */
function shellQuote(path: string): string {
  return `'${path.replace(/'/g, `'\\''`)}'`;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  return new Promise((resolve) => setTimeout(resolve, ms));
}
