import { mkdir, readFile, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Layout } from '../config/layout.js';
import type { FileSyncEntry } from '../config/schema.js';
import { isValidName, nameProblem } from '../config/names.js';
import { formatSize } from '../config/size.js';
import { BangerError, ErrorCode, errorMessage } from '../errors.js';
import type { ImageRecord } from '../store/images.js';
import type { Store } from '../store/store.js';
import type { VmRecord } from '../store/vms.js';
import { newId, Staging } from '../system/atomic-publish.js';
import { freeLoopbackPort } from '../system/ports.js';
import { KeyedMutex } from '../system/mutex.js';
import type { OpContext } from '../system/operation.js';
import type { Runner } from '../system/runner.js';
import { PortInUseError } from '../vmm/qemu/qemu-vmm.js';
import { kernelCmdline, qemuFiles, USER_NET } from '../vmm/qemu/args.js';
import type { Accel, VmmDriver } from '../vmm/select.js';
import type { LaunchSpec, VmHandles, Vmm } from '../vmm/vmm.js';
import {
  allocatedBytes,
  createOverlay,
  createWorkDisk,
  ensureAuthorizedKey,
  growWorkDisk,
  seedHostKey,
} from './disks.js';
import { readHandles, removeHandles, writeHandles } from './handles.js';
import { syncFiles } from './file-sync.js';
import { generateName } from './name-generator.js';
import {
  parseSessionRows,
  SESSION_SCRIPT,
  sessionError,
  STOP_GRACE_SECONDS,
  type SessionInfo,
} from './sessions.js';
import { exportRepo, GUEST_REPO, importRepo, inspectRepo } from './workspace.js';
import { consoleTail, waitForReadyLine } from './readiness.js';
import {
  ensureMaster,
  ensureSshKey,
  exitMaster,
  remoteCommand,
  sshRun,
  type SshKey,
  type SshTarget,
} from './ssh.js';

/** How long a VM may take from boot to "sshd ready" before vm create/start/run give up. */
export const SSH_WAIT_MS = 90_000;
/** Graceful stop: the guest gets this long to power off before QEMU is told to quit. */
export const STOP_TIMEOUT_MS = 20_000;

export const LIMITS = {
  minMemoryMiB: 256,
  maxVcpu: 64,
  minDiskBytes: 64 * 2 ** 20,
} as const;

export interface VmServiceDeps {
  layout: Layout;
  store: Store;
  runner: Runner;
  log: Logger;
  /** Image lookup with build-or-pull when missing (ImageService.ensure). */
  ensureImage(name: string, ctx: OpContext): Promise<ImageRecord>;
  defaultImage: string;
  /** [[file_sync]] from config, copied onto every new VM's work disk. */
  fileSync?: readonly FileSyncEntry[];
  /** The driver new VMs get, and a driver for VMs already running under another. */
  vmm: { driver: VmmDriver; accel: Accel; forDriver(driver: VmmDriver): Vmm };
  tscKhz: number | undefined;
}

export interface CreateRequest {
  name?: string | undefined;
  image?: string | undefined;
  vcpu: number;
  memoryMiB: number;
  diskBytes: number;
  nat?: boolean | undefined;
  sshWaitMs?: number | undefined;
}

export interface SpecChange {
  vcpu?: number | undefined;
  memoryMiB?: number | undefined;
  diskBytes?: number | undefined;
}

/** A VM as the CLI sees it: the durable record plus what is true right now. */
export interface VmView {
  vm: VmRecord;
  image: string;
  running: boolean;
  handles: VmHandles | undefined;
}

/**
 * VM lifecycle: create, start, stop, kill, restart, set, delete, and the liveness check
 * everything else goes through. Lifecycle operations on one VM take its lock, so two of them
 * never interleave; different VMs never wait for each other.
 */
export class VmService {
  private readonly locks = new KeyedMutex();
  /** Workspace I/O per VM: separate, so `vm stop`/`delete` never wait for a slow import. */
  private readonly workspaceLocks = new KeyedMutex();
  /** Creates reserve their name here until the record exists. */
  private readonly creating = new Set<string>();
  private readonly handles = new Map<string, VmHandles>();
  private key: SshKey | undefined;

  constructor(private readonly deps: VmServiceDeps) {}

  // ---- lookup and liveness ---------------------------------------------------------------

  find(ref: string): VmRecord {
    const vm = this.deps.store.vms.find(ref);
    if (!vm)
      throw new BangerError(ErrorCode.NotFound, `vm "${ref}" not found`, {
        hint: '"banger vm ls" lists VMs',
      });
    return vm;
  }

  /**
   * The one liveness check: the VM has handles (in memory, else from handles.json) and their
   * pid is alive and is our VMM process for this VM.
   */
  async vmAlive(vm: VmRecord): Promise<boolean> {
    return (await this.liveHandles(vm)) !== undefined;
  }

  /** The handles of a VM that passes the liveness check, else undefined (one read, one check). */
  private async liveHandles(vm: VmRecord): Promise<VmHandles | undefined> {
    const handles = this.handles.get(vm.id) ?? (await readHandles(vm.dir));
    if (!handles || !(await this.driver(handles.driver).alive(handles, vm.id))) return undefined;
    this.handles.set(vm.id, handles);
    return handles;
  }

  /**
   * Brings one record in line with reality: a VM recorded running whose process is gone has
   * its leftovers (control socket, pidfile, ssh master, handles.json) removed and becomes
   * stopped. Called at daemon start for every VM and whenever a read finds one dead.
   */
  async reconcile(vm: VmRecord): Promise<VmRecord> {
    if (await this.vmAlive(vm)) {
      if (vm.state !== 'running') this.deps.store.vms.setState(vm.id, 'running', vm.lastError);
      return this.deps.store.vms.find(vm.id) ?? vm;
    }
    const stale = vm.state === 'running' || vm.state === 'created';
    // A stopped VM has nothing to clean unless a crash left its handles behind.
    if (stale || this.handles.has(vm.id) || (await readHandles(vm.dir)))
      await this.cleanupRuntime(vm);
    if (stale) {
      this.deps.log.info({ vm: vm.name }, 'vm process is gone: marking it stopped');
      this.deps.store.vms.setState(vm.id, 'stopped', vm.lastError);
    }
    return this.deps.store.vms.find(vm.id) ?? vm;
  }

  async reconcileAll(): Promise<void> {
    for (const vm of this.deps.store.vms.list()) {
      await this.locks
        .run(vm.id, () => this.reconcile(vm))
        .catch((err: unknown) =>
          this.deps.log.warn({ vm: vm.name, err: errorMessage(err) }, 'reconcile failed'),
        );
    }
  }

  /**
   * The record brought up to date, unless a lifecycle operation holds the VM (a create that
   * is still booting must not be mistaken for a VM whose process died).
   */
  async refresh(vm: VmRecord): Promise<VmRecord> {
    if (this.locks.held(vm.id)) return vm;
    return this.locks.run(vm.id, async () => {
      const current = this.deps.store.vms.find(vm.id);
      return current ? this.reconcile(current) : vm;
    });
  }

  async view(vm: VmRecord): Promise<VmView> {
    const current = await this.refresh(vm);
    const running = current.state === 'running' && (await this.vmAlive(current));
    return {
      vm: current,
      image: this.deps.store.images.findById(current.imageId)?.name ?? current.imageId,
      running,
      handles: running ? this.handles.get(current.id) : undefined,
    };
  }

  // ---- create -------------------------------------------------------------------------

  async create(req: CreateRequest, ctx: OpContext): Promise<VmView> {
    validateSpec(req);
    const name = await this.reserveName(req.name);
    try {
      ctx.progress('resolve image', req.image ?? this.deps.defaultImage);
      const image = await this.deps.ensureImage(req.image ?? this.deps.defaultImage, ctx);
      this.kernelOf(image);
      ctx.signal.throwIfAborted();

      ctx.progress(
        'disks',
        `system overlay on ${image.name}, ${formatSize(req.diskBytes)} work disk`,
      );
      const id = newId();
      const key = await this.sshKey();
      return await this.locks.run(id, async () => {
        const vm = await this.makeVm(id, name, image, req, key, ctx);
        this.creating.delete(name);
        try {
          await this.boot(vm, ctx, req.sshWaitMs ?? SSH_WAIT_MS);
        } catch (err) {
          // A cancelled create leaves nothing; a VM that booted and failed stays for `vm logs`.
          if (ctx.signal.aborted) await this.destroy(vm);
          throw err;
        }
        return this.view(this.find(vm.id));
      });
    } finally {
      this.creating.delete(name);
    }
  }

  /** Disks staged in `<id>.staging`, published by rename together with the record. */
  private async makeVm(
    id: string,
    name: string,
    image: ImageRecord,
    req: CreateRequest,
    key: SshKey,
    ctx: OpContext,
  ): Promise<VmRecord> {
    const { store, layout, runner } = this.deps;
    const staging = await Staging.create(layout.vmsDir, id);
    try {
      await createOverlay(image.rootfsFile, join(staging.dir, 'system.qcow2'), runner);
      await createWorkDisk(join(staging.dir, 'work.ext4'), req.diskBytes, runner);
      await ensureAuthorizedKey(join(staging.dir, 'work.ext4'), key.publicKey, runner);
      await seedHostKey(join(staging.dir, 'work.ext4'), name, runner);
      const fileSync = this.deps.fileSync ?? [];
      if (fileSync.length > 0) {
        ctx.progress('file sync', `${fileSync.length} [[file_sync]] entries onto the work disk`);
        await syncFiles({
          disk: join(staging.dir, 'work.ext4'),
          entries: fileSync,
          home: homedir(),
          runner,
          warn: (message) => ctx.progress('file sync', message),
        });
      }
      const now = new Date().toISOString();
      return await staging.publishWith((dir) => {
        const record: VmRecord = {
          id,
          name,
          imageId: image.id,
          state: 'created',
          vcpu: req.vcpu,
          memoryMiB: req.memoryMiB,
          diskBytes: req.diskBytes,
          networkMode: 'user',
          nat: req.nat ?? false,
          guestIp: USER_NET.ip.split('/')[0]!,
          sshPort: 0,
          dir,
          lastError: null,
          createdAt: now,
          updatedAt: now,
        };
        store.vms.insert(record);
        return record;
      });
    } finally {
      await staging.discard();
    }
  }

  private reserveName(requested: string | undefined): Promise<string> {
    // Synchronous check-and-add: no other create can slip in between.
    return Promise.resolve().then(() => {
      const taken = new Set([...this.deps.store.vms.names(), ...this.creating]);
      if (requested !== undefined) {
        if (!isValidName(requested))
          throw new BangerError(ErrorCode.InvalidParams, nameProblem('VM', requested));
        if (taken.has(requested))
          throw new BangerError(
            ErrorCode.AlreadyExists,
            `a VM named "${requested}" already exists`,
            {
              hint: `pick another --name, or remove it first ("banger vm rm ${requested}")`,
            },
          );
      }
      const name = requested ?? generateName(taken);
      this.creating.add(name);
      return name;
    });
  }

  // ---- start / boot -------------------------------------------------------------------

  async start(ref: string, ctx: OpContext, sshWaitMs = SSH_WAIT_MS): Promise<VmView> {
    const vm = this.find(ref);
    return this.locks.run(vm.id, async () => {
      const current = await this.reconcile(this.find(vm.id));
      if (await this.vmAlive(current))
        throw new BangerError(ErrorCode.Conflict, `vm "${current.name}" is already running`, {
          hint: `"banger vm ssh ${current.name}" connects to it`,
        });
      await ensureAuthorizedKey(
        join(current.dir, 'work.ext4'),
        (await this.sshKey()).publicKey,
        this.deps.runner,
      );
      await this.boot(current, ctx, sshWaitMs);
      return this.view(this.find(vm.id));
    });
  }

  /** Launches the VMM, records its handles, waits for sshd. Caller holds the VM's lock. */
  private async boot(vm: VmRecord, ctx: OpContext, sshWaitMs: number): Promise<void> {
    const { store } = this.deps;
    const image = store.images.findById(vm.imageId);
    if (!image)
      throw new BangerError(ErrorCode.NotFound, `vm "${vm.name}": its image is gone`, {
        hint: `delete the VM ("banger vm rm ${vm.name}")`,
      });
    const kernel = this.kernelOf(image);
    const vmm = this.driver(this.deps.vmm.driver);
    ctx.progress('boot', `${vmm.driver}/${vmm.accel}, ${vm.vcpu} vcpu, ${vm.memoryMiB} MiB`);
    const spec = (sshPort: number): LaunchSpec => ({
      id: vm.id,
      name: vm.name,
      dir: vm.dir,
      kernel: kernel.kernelFile,
      initrd: kernel.initrdFile ?? undefined,
      cmdline: kernelCmdline({
        hostname: vm.name,
        accel: vmm.accel,
        tscKhz: this.deps.tscKhz,
        ...USER_NET,
      }),
      systemDisk: { path: join(vm.dir, 'system.qcow2'), format: 'qcow2' },
      workDisk: join(vm.dir, 'work.ext4'),
      vcpu: vm.vcpu,
      memoryMiB: vm.memoryMiB,
      network: { mode: 'user', sshPort, nat: vm.nat },
    });
    let handles: VmHandles | undefined;
    for (let attempt = 0; !handles; attempt++) {
      // The recorded port first, so a user's ssh config keeps working across restarts.
      const port = attempt === 0 && vm.sshPort > 0 ? vm.sshPort : await this.freePort();
      try {
        handles = await vmm.start(spec(port), ctx.signal);
        if (port !== vm.sshPort) store.vms.setSshPort(vm.id, port);
      } catch (err) {
        await this.killFromPidfile(vm);
        if (err instanceof PortInUseError && attempt < 5) continue;
        store.vms.setState(vm.id, 'error', errorMessage(err));
        throw err;
      }
    }
    this.handles.set(vm.id, handles);
    await writeHandles(vm.dir, handles);
    store.vms.setState(vm.id, 'running', null);
    await this.waitForSsh(this.find(vm.id), handles, ctx, sshWaitMs);
  }

  private async waitForSsh(
    vm: VmRecord,
    handles: VmHandles,
    ctx: OpContext,
    waitMs: number,
  ): Promise<void> {
    ctx.progress('wait for ssh', `guest console: ${handles.consoleLog}`);
    const started = Date.now();
    const deadline = started + waitMs;
    const vmm = this.driver(handles.driver);
    const outcome = await waitForReadyLine({
      consoleLog: handles.consoleLog,
      deadline,
      signal: ctx.signal,
      stillRunning: () => vmm.alive(handles, vm.id),
    });
    if (outcome === 'exited') {
      const tail = consoleTail(await readFile(handles.consoleLog, 'utf8').catch(() => ''));
      const message = `vm "${vm.name}": the VM process exited during boot${tail ? `; the console ends with:\n${tail}` : ''}`;
      await this.cleanupRuntime(vm);
      this.deps.store.vms.setState(vm.id, 'error', `the VM process exited during boot`);
      throw new BangerError(ErrorCode.Subprocess, message, {
        hint: `"banger vm logs ${vm.name}" shows the whole console; "banger vm rm ${vm.name}" cleans up`,
      });
    }
    if (outcome === 'timeout') throw this.sshTimeout(vm, waitMs);
    const ready = Date.now();
    // sshd listens: log in once and keep the connection for every later command.
    const target = await this.sshTarget(vm);
    let lastError: unknown;
    while (Date.now() < deadline) {
      try {
        await ensureMaster(target, join(vm.dir, 'ssh.log'), this.deps.runner, ctx.signal);
        const now = Date.now();
        this.deps.log.info(
          { vm: vm.name, sshdReadyMs: ready - started, loginMs: now - ready },
          'vm ready',
        );
        return;
      } catch (err) {
        ctx.signal.throwIfAborted();
        lastError = err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    throw this.sshTimeout(vm, waitMs, lastError);
  }

  private sshTimeout(vm: VmRecord, waitMs: number, cause?: unknown): BangerError {
    const why = cause ? ` (last attempt: ${errorMessage(cause)})` : '';
    const message =
      `vm "${vm.name}" booted but ssh did not come up within ${formatSeconds(waitMs)}${why}: ` +
      `sshd in the guest is the likely suspect. The VM is still running for inspection`;
    this.deps.store.vms.setState(
      vm.id,
      'running',
      `ssh did not come up within ${formatSeconds(waitMs)}`,
    );
    return new BangerError(ErrorCode.SshTimeout, message, {
      hint: `"banger vm logs ${vm.name}" shows its console; "banger vm delete ${vm.name}" removes it`,
    });
  }

  // ---- stop / kill / restart / delete --------------------------------------------------

  /** Graceful: the guest powers off (over ssh, else the ACPI button), forced after a timeout. */
  async stop(ref: string): Promise<{ name: string; wasRunning: boolean }> {
    const vm = this.find(ref);
    return this.locks.run(vm.id, async () => {
      const current = this.find(vm.id);
      const handles = await this.liveHandles(current);
      if (handles) {
        // The golden image has no ACPI power-button handler (logind is trimmed): ask over ssh.
        await sshRun(
          await this.sshTarget(current),
          ['systemctl', 'poweroff', '--no-block'],
          this.deps.runner,
          {
            timeoutMs: 10_000,
          },
        ).catch(() => undefined);
        await this.driver(handles.driver).stop(handles, STOP_TIMEOUT_MS);
      }
      await this.cleanupRuntime(current);
      this.deps.store.vms.setState(vm.id, 'stopped', null);
      return { name: current.name, wasRunning: handles !== undefined };
    });
  }

  async kill(ref: string): Promise<{ name: string; wasRunning: boolean }> {
    const vm = this.find(ref);
    return this.locks.run(vm.id, async () => {
      const current = this.find(vm.id);
      const handles = await this.liveHandles(current);
      if (handles) await this.driver(handles.driver).kill(handles);
      await this.cleanupRuntime(current);
      this.deps.store.vms.setState(vm.id, 'stopped', null);
      return { name: current.name, wasRunning: handles !== undefined };
    });
  }

  async restart(ref: string, ctx: OpContext, sshWaitMs = SSH_WAIT_MS): Promise<VmView> {
    await this.stop(ref);
    return this.start(ref, ctx, sshWaitMs);
  }

  async delete(ref: string): Promise<{ name: string }> {
    const vm = this.find(ref);
    return this.locks.run(vm.id, async () => {
      const current = this.deps.store.vms.find(vm.id);
      if (!current) return { name: vm.name };
      await this.destroy(current);
      return { name: current.name };
    });
  }

  /** Kills the VMM if it runs, removes the VM's directory, then its record. */
  private async destroy(vm: VmRecord): Promise<void> {
    const handles = await this.liveHandles(vm);
    if (handles) await this.driver(handles.driver).kill(handles);
    await this.cleanupRuntime(vm);
    await rm(vm.dir, { recursive: true, force: true });
    this.deps.store.vms.delete(vm.id);
  }

  /** Removes what a VMM run leaves behind; safe on a VM that never ran. */
  private async cleanupRuntime(vm: VmRecord): Promise<void> {
    this.handles.delete(vm.id);
    await exitMaster(await this.sshTarget(vm), this.deps.runner).catch(() => undefined);
    const files = qemuFiles(vm.dir);
    await rm(files.qmpSocket, { force: true });
    await rm(files.dataSocket, { force: true });
    await rm(files.pidFile, { force: true });
    await removeHandles(vm.dir);
  }

  /** A launch that failed half-way may have left a daemonized QEMU: its pidfile says which. */
  private async killFromPidfile(vm: VmRecord): Promise<void> {
    const text = await readFile(qemuFiles(vm.dir).pidFile, 'utf8').catch(() => '');
    const pid = Number.parseInt(text, 10);
    if (!Number.isInteger(pid) || pid <= 0) return;
    const probe: VmHandles = {
      driver: 'qemu',
      accel: this.deps.vmm.accel,
      pid,
      controlSocket: qemuFiles(vm.dir).qmpSocket,
      consoleLog: qemuFiles(vm.dir).consoleLog,
      sshPort: 1,
      startedAt: '',
    };
    const vmm = this.driver('qemu');
    if (await vmm.alive(probe, vm.id)) await vmm.kill(probe);
  }

  // ---- set --------------------------------------------------------------------------

  async set(ref: string, change: SpecChange): Promise<VmView> {
    const vm = this.find(ref);
    return this.locks.run(vm.id, async () => {
      const current = this.find(vm.id);
      if (await this.vmAlive(current))
        throw new BangerError(
          ErrorCode.Conflict,
          `vm "${current.name}" is running: stop it first`,
          {
            hint: `banger vm stop ${current.name}`,
          },
        );
      const next = {
        vcpu: change.vcpu ?? current.vcpu,
        memoryMiB: change.memoryMiB ?? current.memoryMiB,
        diskBytes: change.diskBytes ?? current.diskBytes,
      };
      validateSpec(next);
      if (next.diskBytes < current.diskBytes)
        throw new BangerError(
          ErrorCode.InvalidParams,
          `the work disk only grows: vm "${current.name}" has ${formatSize(current.diskBytes)}, asked for ${formatSize(next.diskBytes)}`,
          { hint: `give --disk-size ${formatSize(current.diskBytes)} or more` },
        );
      if (next.diskBytes > current.diskBytes)
        await growWorkDisk(join(current.dir, 'work.ext4'), next.diskBytes, this.deps.runner);
      this.deps.store.vms.setSpec(vm.id, next);
      return this.view(this.find(vm.id));
    });
  }

  /** Runs `fn` on a VM that is not running, holding its lock so nothing starts it meanwhile. */
  async whileStopped<T>(ref: string, what: string, fn: (vm: VmRecord) => Promise<T>): Promise<T> {
    const vm = this.find(ref);
    return this.locks.run(vm.id, async () => {
      const current = await this.reconcile(this.find(vm.id));
      if (await this.vmAlive(current))
        throw new BangerError(
          ErrorCode.Conflict,
          `vm "${current.name}" is running: stop it before ${what}`,
          {
            hint: `banger vm stop ${current.name}`,
          },
        );
      return fn(current);
    });
  }

  // ---- workspaces ----------------------------------------------------------------------

  /**
   * A running VM and how to reach it (its ssh master is restarted if it died): for `vm ssh`,
   * sessions and workspaces. The lifecycle lock is held only for this check; workspace I/O
   * then runs under the workspace lock, so lifecycle operations never queue behind a copy
   * and two prepares on one VM take turns.
   */
  async connect(
    ref: string,
    signal: AbortSignal,
  ): Promise<{ vm: VmRecord; target: SshTarget; handles: VmHandles }> {
    const vm = this.find(ref);
    return this.locks.run(vm.id, async () => {
      const current = await this.reconcile(this.find(vm.id));
      const handles = await this.liveHandles(current);
      if (!handles)
        throw new BangerError(ErrorCode.Conflict, `vm "${current.name}" is not running`, {
          hint: `banger vm start ${current.name}`,
        });
      const target = await this.sshTarget(current);
      await ensureMaster(target, join(current.dir, 'ssh.log'), this.deps.runner, signal).catch(
        (err: unknown) =>
          this.deps.log.warn(
            { vm: current.name, err: errorMessage(err) },
            'ssh master not available',
          ),
      );
      return { vm: current, target, handles };
    });
  }

  async prepareWorkspace(
    ref: string,
    req: { path: string; branch?: string | undefined; from?: string | undefined },
    ctx: OpContext,
  ): Promise<{
    name: string;
    root: string;
    base: string;
    files: number;
    via: 'data port' | 'ssh';
    branch?: string;
  }> {
    const { runner } = this.deps;
    const repo = await inspectRepo(req.path, runner);
    const { vm, target, handles } = await this.connect(ref, ctx.signal);
    return this.workspaceLocks.run(vm.id, async () => {
      ctx.progress('workspace', `copying ${repo.root} into ${GUEST_REPO}`);
      const { base, files, via } = await importRepo({
        repo,
        target,
        dataSocket: handles.dataSocket,
        branch: req.branch,
        from: req.from,
        runner,
        signal: ctx.signal,
      });
      this.deps.log.info({ vm: vm.name, files, via }, 'workspace imported');
      return {
        name: vm.name,
        root: repo.root,
        base,
        files,
        via,
        ...(req.branch ? { branch: req.branch } : {}),
      };
    });
  }

  async exportWorkspace(
    ref: string,
    req: { out: string; nameOnly: boolean },
    ctx: OpContext,
  ): Promise<{ name: string; bytes: number }> {
    const { vm, target } = await this.connect(ref, ctx.signal);
    return this.workspaceLocks.run(vm.id, async () => {
      const { bytes } = await exportRepo({
        target,
        out: req.out,
        nameOnly: req.nameOnly,
        runner: this.deps.runner,
        signal: ctx.signal,
      });
      return { name: vm.name, bytes };
    });
  }

  // ---- sessions --------------------------------------------------------------------------

  /** One session operation in the guest (see SESSION_SCRIPT); its listing rows parsed. */
  async session(
    ref: string,
    op: 'start' | 'list' | 'show' | 'send' | 'stop' | 'kill',
    args: { name?: string; command?: readonly string[]; text?: string; enter?: boolean },
    signal: AbortSignal,
  ): Promise<SessionInfo[]> {
    const { vm, target } = await this.connect(ref, signal);
    const name = args.name ?? '';
    const extra =
      op === 'start'
        ? [remoteCommand(args.command ?? []), (args.command ?? []).join(' ')]
        : op === 'send'
          ? [args.text ?? '', args.enter ? 'enter' : '']
          : [];
    const r = await sshRun(
      target,
      ['sh', '-c', SESSION_SCRIPT, 'banger-session', op, name, ...extra],
      this.deps.runner,
      {
        timeoutMs: (STOP_GRACE_SECONDS + 30) * 1000,
        signal,
      },
    );
    if (r.exitCode !== 0) throw sessionError(vm.name, name, r.exitCode, r.stderr);
    return parseSessionRows(r.stdout);
  }

  // ---- ssh, stats, logs ------------------------------------------------------------------

  async sshTarget(vm: VmRecord): Promise<SshTarget> {
    const key = await this.sshKey();
    return {
      host: '127.0.0.1',
      port: this.handles.get(vm.id)?.sshPort ?? vm.sshPort,
      user: 'root',
      keyFile: key.privateKey,
      controlPath: join(this.deps.layout.runtimeDir, 'ssh', vm.id),
    };
  }

  async stats(ref: string): Promise<VmStats> {
    const vm = await this.refresh(this.find(ref));
    const disk = {
      systemBytes: await allocatedBytes(join(vm.dir, 'system.qcow2')),
      workBytes: await allocatedBytes(join(vm.dir, 'work.ext4')),
      workSizeBytes: vm.diskBytes,
    };
    const handles = this.handles.get(vm.id);
    if (!handles || !(await this.vmAlive(vm))) return { name: vm.name, running: false, disk };
    const vmm = this.driver(handles.driver);
    const before = await vmm.stats(handles, vm.memoryMiB);
    const t0 = Date.now();
    const guest = await this.guestStats(vm);
    // CPU use over the time the guest query took (at least 200 ms).
    await new Promise((r) => setTimeout(r, Math.max(0, 200 - (Date.now() - t0))));
    const after = await vmm.stats(handles, vm.memoryMiB);
    const seconds = (Date.now() - t0) / 1000;
    return {
      name: vm.name,
      running: true,
      pid: handles.pid,
      host: {
        cpuSeconds: after.cpuSeconds,
        cpuPercent: Math.round(((after.cpuSeconds - before.cpuSeconds) / seconds) * 1000) / 10,
        rssBytes: after.rssBytes,
        guestResidentBytes: after.guestResidentBytes,
      },
      disk,
      ...(guest ? { guest } : {}),
    };
  }

  private async guestStats(vm: VmRecord): Promise<VmStats['guest']> {
    const r = await sshRun(
      await this.sshTarget(vm),
      ['cat', '/proc/uptime', '/proc/meminfo'],
      this.deps.runner,
      {
        timeoutMs: 10_000,
      },
    ).catch(() => undefined);
    if (!r || r.exitCode !== 0) return undefined;
    const uptime = Number(r.stdout.split(/\s/)[0]);
    const kib = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(r.stdout)?.[1] ?? NaN) * 1024;
    const total = kib('MemTotal');
    const available = kib('MemAvailable');
    if (!Number.isFinite(uptime) || !Number.isFinite(total) || !Number.isFinite(available))
      return undefined;
    return {
      uptimeSeconds: Math.round(uptime),
      memoryTotalBytes: total,
      memoryUsedBytes: total - available,
    };
  }

  consoleLog(ref: string): { name: string; path: string } {
    const vm = this.find(ref);
    return { name: vm.name, path: qemuFiles(vm.dir).consoleLog };
  }

  // ---- helpers ------------------------------------------------------------------------

  private driver(driver: VmmDriver): Vmm {
    return this.deps.vmm.forDriver(driver);
  }

  private kernelOf(image: ImageRecord) {
    const kernel = image.kernelId ? this.deps.store.kernels.findById(image.kernelId) : undefined;
    if (!kernel)
      throw new BangerError(ErrorCode.NotFound, `image "${image.name}" has no kernel`, {
        hint: `register it again with --kernel-ref or --kernel ("banger image register --help")`,
      });
    return kernel;
  }

  private async sshKey(): Promise<SshKey> {
    this.key ??= await ensureSshKey(this.deps.layout.sshDir, this.deps.runner);
    await mkdir(join(this.deps.layout.runtimeDir, 'ssh'), { recursive: true, mode: 0o700 });
    return this.key;
  }

  /** A port on 127.0.0.1 nobody listens on now, and that none of our running VMs holds. */
  private async freePort(): Promise<number> {
    const used = new Set([...this.handles.values()].map((h) => h.sshPort));
    for (;;) {
      const port = await freeLoopbackPort();
      if (!used.has(port)) return port;
    }
  }
}

export interface VmStats {
  name: string;
  running: boolean;
  pid?: number;
  host?: {
    cpuSeconds: number;
    cpuPercent: number;
    rssBytes: number;
    guestResidentBytes: number;
  };
  disk: { systemBytes: number; workBytes: number; workSizeBytes: number };
  guest?: { uptimeSeconds: number; memoryTotalBytes: number; memoryUsedBytes: number } | undefined;
}

export function validateSpec(spec: { vcpu: number; memoryMiB: number; diskBytes: number }): void {
  const bad = (message: string, hint: string) =>
    new BangerError(ErrorCode.InvalidParams, message, { hint });
  if (!Number.isInteger(spec.vcpu) || spec.vcpu < 1 || spec.vcpu > LIMITS.maxVcpu)
    throw bad(`--vcpu ${spec.vcpu} is out of range`, `use 1 to ${LIMITS.maxVcpu}`);
  if (!Number.isInteger(spec.memoryMiB) || spec.memoryMiB < LIMITS.minMemoryMiB)
    throw bad(
      `--memory ${spec.memoryMiB} MiB is too small`,
      `use at least ${LIMITS.minMemoryMiB}M`,
    );
  if (!Number.isSafeInteger(spec.diskBytes) || spec.diskBytes < LIMITS.minDiskBytes)
    throw bad(
      `--disk-size ${formatSize(spec.diskBytes)} is too small`,
      `use at least ${formatSize(LIMITS.minDiskBytes)}`,
    );
}

function formatSeconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)}s` : `${ms}ms`;
}
