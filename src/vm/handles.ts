import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VmHandles } from '../vmm/vmm.js';

// What is currently true of a running VM (pid, control socket, forwarded port) lives in
// memory and in `handles.json` in the VM's directory, never in SQLite: after a daemon
// restart the file says which process to look for, and /proc says whether it is still there.

export const HANDLES_FILE = 'handles.json';

export function handlesPath(vmDir: string): string {
  return join(vmDir, HANDLES_FILE);
}

export async function writeHandles(vmDir: string, handles: VmHandles): Promise<void> {
  const path = handlesPath(vmDir);
  const tmp = `${path}.tmp`;
  await writeFile(tmp, `${JSON.stringify(handles, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

/** The recorded handles, or undefined when the file is missing or not ours (corrupt). */
export async function readHandles(vmDir: string): Promise<VmHandles | undefined> {
  const text = await readFile(handlesPath(vmDir), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return parseHandles(JSON.parse(text));
  } catch {
    return undefined;
  }
}

export async function removeHandles(vmDir: string): Promise<void> {
  await rm(handlesPath(vmDir), { force: true });
}

export function parseHandles(value: unknown): VmHandles | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const str = (k: string) => (typeof v[k] === 'string' ? v[k] : undefined);
  const int = (k: string) =>
    typeof v[k] === 'number' && Number.isInteger(v[k]) && v[k] > 0 ? v[k] : undefined;
  const driver = str('driver');
  const accel = str('accel');
  const pid = int('pid');
  const sshPort = int('sshPort');
  const controlSocket = str('controlSocket');
  const consoleLog = str('consoleLog');
  const startedAt = str('startedAt');
  if (
    (driver !== 'qemu' && driver !== 'firecracker') ||
    (accel !== 'kvm' && accel !== 'tcg') ||
    !pid ||
    !sshPort ||
    !controlSocket ||
    !consoleLog ||
    !startedAt
  )
    return undefined;
  const dataSocket = str('dataSocket');
  return {
    ...{ driver, accel, pid, sshPort, controlSocket, consoleLog, startedAt },
    ...(dataSocket ? { dataSocket } : {}),
  };
}
