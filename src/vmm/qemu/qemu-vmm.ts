import { readFile, rm } from 'node:fs/promises';
import { vmFiles } from '../../config/layout.js';
import { BangerError, ErrorCode, SubprocessError } from '../../errors.js';
import {
  pidExists,
  processArgs,
  processUsage,
  residentOfMappingSized,
  waitForExit,
} from '../../system/proc.js';
import type { Runner } from '../../system/runner.js';
import {
  GUEST_SSH_PORT,
  type Accel,
  type HostStats,
  type Snapshots,
  type LaunchSpec,
  type StartOptions,
  type VmHandles,
  type Vmm,
  type VmmCapabilities,
} from '../vmm.js';
import { vmLimits, type HostLimits } from '../../limits/host-limits.js';
import { qemuArgs } from './args.js';
import { parseQemuHandles } from './handles.js';
import { findRunningQemu } from './adopt.js';
import { qemuHostForwarding } from './hostfwd.js';
import { QmpClient } from './qmp.js';
import { loadState, qemuSnapshots } from './snapshots.js';

export const QEMU_BINARY = 'qemu-system-x86_64';
/** A port taken between our check and QEMU's bind is retried this many times. */
const PORT_ATTEMPTS = 6;

/** QEMU could not bind the forwarded ssh port: start() picks another and retries. */
export class PortInUseError extends BangerError {
  constructor(port: number) {
    super(ErrorCode.Conflict, `port ${port} on 127.0.0.1 is already in use`);
  }
}

export interface QemuOptions {
  binary?: string | undefined;
  /** The host's TSC rate, for the kernel command line under TCG. */
  tscKhz?: number | undefined;
  /** Confines each QEMU to its VM's memory and vCPUs; unconfined without. */
  limits?: HostLimits | undefined;
}

export class QemuVmm implements Vmm {
  readonly driver = 'qemu' as const;
  readonly capabilities: VmmCapabilities = {
    gracefulStop: true,
    dataPort: true,
  };
  readonly hostForwarding = qemuHostForwarding;
  readonly snapshots: Snapshots;
  private readonly binary: string;
  private readonly tscKhz: number | undefined;
  private readonly limits: HostLimits | undefined;

  constructor(
    readonly accel: Accel,
    private readonly runner: Runner,
    options: QemuOptions = {},
  ) {
    this.binary = options.binary ?? QEMU_BINARY;
    this.tscKhz = options.tscKhz;
    this.limits = options.limits;
    this.snapshots = qemuSnapshots(this.binary, runner);
  }

  async start(spec: LaunchSpec, options: StartOptions): Promise<VmHandles> {
    const net = spec.network;
    if (net.mode === 'tap')
      return this.launch(spec, options).catch(async (err: unknown) => {
        await this.reap(spec.dir, spec.id);
        throw err;
      });
    let port = net.sshPort > 0 ? net.sshPort : await options.freePort();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.launch({ ...spec, network: { ...net, sshPort: port } }, options);
      } catch (err) {
        await this.reap(spec.dir, spec.id);
        if (!(err instanceof PortInUseError) || attempt >= PORT_ATTEMPTS) throw err;
        port = await options.freePort();
      }
    }
  }

  private async launch(spec: LaunchSpec, options: StartOptions): Promise<VmHandles> {
    const files = vmFiles(spec.dir);
    await rm(files.pidFile, { force: true });
    await rm(files.qmpSocket, { force: true });
    // QEMU appends to the console (so the daemon can cap it in place): each run starts empty.
    await rm(files.consoleLog, { force: true });
    await rm(`${files.consoleLog}.1`, { force: true });
    const qemu = [this.binary, ...qemuArgs(spec, this.accel, this.tscKhz)];
    const [command = this.binary, ...args] = this.limits
      ? await this.limits.wrap(spec.id, vmLimits(spec.vcpu, spec.memoryMiB), qemu)
      : qemu;
    try {
      await this.runner.run(command, args, {
        signal: options.signal,
        timeoutMs: 60_000,
        cwd: spec.dir,
      });
      this.limits?.settled(spec.id);
    } catch (err) {
      this.limits?.settled(spec.id);
      const net = spec.network;
      if (
        net.mode === 'user' &&
        err instanceof SubprocessError &&
        /hostfwd|host forwarding/i.test(err.stderrTail)
      )
        throw new PortInUseError(net.sshPort);
      throw err;
    }
    const pid = Number.parseInt(await readFile(files.pidFile, 'utf8'), 10);
    if (!Number.isInteger(pid) || pid <= 0)
      throw new BangerError(ErrorCode.Internal, `qemu wrote no pid to ${files.pidFile}`);
    if (spec.restore) await loadState(files.qmpSocket, spec.restore.stateFile, options.signal);
    return this.handlesOf(spec, pid, new Date().toISOString());
  }

  private handlesOf(spec: LaunchSpec, pid: number, startedAt: string): VmHandles {
    const files = vmFiles(spec.dir);
    return {
      driver: 'qemu',
      accel: this.accel,
      pid,
      controlSocket: files.qmpSocket,
      consoleLog: files.consoleLog,
      sshPort: spec.network.mode === 'tap' ? GUEST_SSH_PORT : spec.network.sshPort,
      startedAt,
      dataSocket: files.dataSocket,
      ...(spec.network.mode === 'user' && spec.network.egress && !spec.network.nat
        ? { egressPort: spec.network.egress.port }
        : {}),
    };
  }

  /** A launch that failed half-way (or a dead daemon) may have left a daemonized QEMU: its pidfile says which. */
  async reap(dir: string, id: string): Promise<void> {
    const text = await readFile(vmFiles(dir).pidFile, 'utf8').catch(() => '');
    const pid = Number.parseInt(text, 10);
    if (!Number.isInteger(pid) || pid <= 0) return;
    const files = vmFiles(dir);
    const probe: VmHandles = {
      driver: 'qemu',
      accel: this.accel,
      pid,
      controlSocket: files.qmpSocket,
      consoleLog: files.consoleLog,
      sshPort: 0,
      startedAt: '',
    };
    if (await this.alive(probe, id)) await this.kill(probe);
  }

  /**
   * ACPI power button, then QMP quit (QEMU flushes its disk caches), then SIGKILL. A guest
   * without an ACPI power-button handler ignores the first step; the stop use case asks
   * such guests over ssh before calling this.
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

  async cleanup(vmDir: string): Promise<void> {
    const files = vmFiles(vmDir);
    for (const file of [files.qmpSocket, files.dataSocket, files.pidFile])
      await rm(file, { force: true });
    await this.limits?.sweep();
  }

  adopt(dir: string, id: string): Promise<VmHandles | undefined> {
    return findRunningQemu(dir, id);
  }

  parseHandles(value: Record<string, unknown>): VmHandles | undefined {
    return parseQemuHandles(value);
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
