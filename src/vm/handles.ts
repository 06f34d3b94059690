import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { vmFiles } from '../config/layout.js';
import type { VmHandles, VmmRegistry } from '../vmm/vmm.js';

// What is currently true of a running VM (pid, control socket, forwarded port) lives in
// memory and in `handles.json` in the VM's directory, never in SQLite: after a daemon
// restart the file says which process to look for, and /proc says whether it is still there.

/**
 * The handles of every VM the daemon has seen running: memory first, handles.json behind it.
 * The file's shape belongs to the driver that wrote it, so the driver parses it back.
 */
export class HandlesCache {
  private readonly byId = new Map<string, VmHandles>();

  constructor(private readonly vmms: Pick<VmmRegistry, 'forDriver'>) {}

  /** What memory holds, without reading the file. */
  peek(vmId: string): VmHandles | undefined {
    return this.byId.get(vmId);
  }

  async get(vm: { id: string; dir: string }): Promise<VmHandles | undefined> {
    return this.byId.get(vm.id) ?? (await this.read(vm.dir));
  }

  /** Remembered in memory only (a liveness check confirmed the file's handles). */
  remember(vmId: string, handles: VmHandles): void {
    this.byId.set(vmId, handles);
  }

  async set(vm: { id: string; dir: string }, handles: VmHandles): Promise<void> {
    this.byId.set(vm.id, handles);
    const path = vmFiles(vm.dir).handles;
    const tmp = `${path}.tmp`;
    await writeFile(tmp, `${JSON.stringify(handles, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, path);
  }

  async drop(vm: { id: string; dir: string }): Promise<void> {
    this.byId.delete(vm.id);
    await rm(vmFiles(vm.dir).handles, { force: true });
  }

  /** Whether memory or the file has handles (a crash may have left the file). */
  async has(vm: { id: string; dir: string }): Promise<boolean> {
    return (await this.get(vm)) !== undefined;
  }

  /** The forwarded ports our running VMs hold. */
  ports(): Set<number> {
    return new Set([...this.byId.values()].map((h) => h.sshPort));
  }

  /** The recorded handles, or undefined when the file is missing or not ours (corrupt). */
  private async read(vmDir: string): Promise<VmHandles | undefined> {
    const text = await readFile(vmFiles(vmDir).handles, 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value !== 'object' || value === null) return undefined;
      const driver = (value as { driver?: unknown }).driver;
      if (driver !== 'qemu' && driver !== 'firecracker') return undefined;
      return this.vmms.forDriver(driver).parseHandles(value as Record<string, unknown>);
    } catch {
      return undefined;
    }
  }
}
