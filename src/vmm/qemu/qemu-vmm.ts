import { readFile, rm } from 'node:fs/promises';
import { BangerError, ErrorCode, SubprocessError } from '../../errors.js';
import {
  pidExists,
  processArgs,
  processUsage,
  residentOfMappingSized,
  waitForExit,
} from '../../system/proc.js';
import type { Runner } from '../../system/runner.js';
import type { Accel } from '../select.js';
import type { HostStats, LaunchSpec, VmHandles, Vmm } from '../vmm.js';
import { qemuArgs, qemuFiles } from './args.js';
import { QmpClient } from './qmp.js';

export const QEMU_BINARY = 'qemu-system-x86_64';

/** QEMU could not bind the forwarded ssh port: the caller picks another and retries. */
export class PortInUseError extends BangerError {
  constructor(port: number) {
    super(ErrorCode.Conflict, `port ${port} on 127.0.0.1 is already in use`);
  }
}

export class QemuVmm implements Vmm {
  readonly driver = 'qemu' as const;
  readonly capabilities = { gracefulStop: true, qcow2: true };

  constructor(
    readonly accel: Accel,
    private readonly runner: Runner,
    private readonly binary = QEMU_BINARY,
  ) {}

  async start(spec: LaunchSpec, signal: AbortSignal): Promise<VmHandles> {
    const files = qemuFiles(spec.dir);
    await rm(files.pidFile, { force: true });
    await rm(files.qmpSocket, { force: true });
    try {
      await this.runner.run(this.binary, qemuArgs(spec, this.accel), {
        signal,
        timeoutMs: 60_000,
        cwd: spec.dir,
      });
    } catch (err) {
      if (err instanceof SubprocessError && /hostfwd|host forwarding/i.test(err.stderrTail))
        throw new PortInUseError(spec.network.sshPort);
      throw err;
    }
    const pid = Number.parseInt(await readFile(files.pidFile, 'utf8'), 10);
    if (!Number.isInteger(pid) || pid <= 0)
      throw new BangerError(ErrorCode.Internal, `qemu wrote no pid to ${files.pidFile}`);
    return {
      driver: 'qemu',
      accel: this.accel,
      pid,
      controlSocket: files.qmpSocket,
      consoleLog: files.consoleLog,
      sshPort: spec.network.sshPort,
      startedAt: new Date().toISOString(),
      dataSocket: files.dataSocket,
    };
  }

  /**
   * ACPI power button, then QMP quit (QEMU flushes its disk caches), then SIGKILL. A guest
   * without an ACPI power-button handler ignores the first step; the VM service asks such
   * guests over ssh before calling this.
   */
  async stop(handles: VmHandles, timeoutMs: number): Promise<void> {
    if (!pidExists(handles.pid)) return;
    await this.qmp(handles, 'system_powerdown');
    if (await waitForExit(handles.pid, timeoutMs)) return;
    await this.qmp(handles, 'quit');
    if (await waitForExit(handles.pid, 5000)) return;
    await this.kill(handles);
  }

  async kill(handles: VmHandles): Promise<void> {
    try {
      process.kill(handles.pid, 'SIGKILL');
    } catch {
      return; // gone already
    }
    await waitForExit(handles.pid, 10_000);
  }

  async alive(handles: VmHandles, vmId: string): Promise<boolean> {
    if (!pidExists(handles.pid)) return false;
    const args = await processArgs(handles.pid);
    const name = args.indexOf('-name');
    return name >= 0 && args[name + 1] === `banger-${vmId}` && /qemu-system/.test(args[0] ?? '');
  }

  async stats(handles: VmHandles, memoryMiB: number): Promise<HostStats> {
    const [usage, guestResidentBytes] = await Promise.all([
      processUsage(handles.pid),
      residentOfMappingSized(handles.pid, memoryMiB * 2 ** 20),
    ]);
    return { ...usage, guestResidentBytes };
  }

  /** One QMP command; a VM whose QMP socket is gone or dead is left to the next step. */
  private async qmp(handles: VmHandles, command: string): Promise<void> {
    let client: QmpClient | undefined;
    try {
      client = await QmpClient.connect(handles.controlSocket, 2000);
      await client.execute(command);
    } catch {
      // the caller escalates
    } finally {
      client?.close();
    }
  }
}
