import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { resolveLayout, vmFiles, type Layout } from '../../src/config/layout.js';
import { BangerError, ErrorCode } from '../../src/errors.js';
import { Store } from '../../src/store/store.js';
import type { VmRecord, VmState } from '../../src/store/vms.js';
import { realRunner, type RunResult, type Runner } from '../../src/system/runner.js';
import { SSHD_READY_LINE } from '../../src/vm/readiness.js';
import { vmContext, type VmContext } from '../../src/vm/context.js';
import { createWorkDisk } from '../../src/vm/disks.js';
import type {
  HostStats,
  LaunchSpec,
  Snapshots,
  StartOptions,
  VmHandles,
  Vmm,
  VmmCapabilities,
} from '../../src/vmm/vmm.js';
import { parseQemuHandles } from '../../src/vmm/qemu/handles.js';

// The VM use cases on a real SQLite store and real files, with a VMM whose processes the
// test scripts (the qemu driver has its own tests against real QEMU) and a runner that
// records every other program (qemu-img, ssh), answering from a script the test gives.

export class ScriptedVmm implements Vmm {
  readonly driver = 'qemu' as const;
  readonly accel = 'tcg' as const;
  capabilities: VmmCapabilities = { gracefulStop: true, dataPort: true };
  readonly living = new Set<number>();
  readonly started: LaunchSpec[] = [];
  readonly stopped: number[] = [];
  readonly cleaned: string[] = [];
  /** What a start does: boots (writes the ready line) unless told to die or fail. */
  onStart: 'ready' | 'dies' | Error = 'ready';
  /** The port the VMM "binds": the spec's, else one from freePort. */
  private nextPid = 900_000;
  /** Pids whose vCPUs are stopped; saves "write" their file; what each call was asked. */
  readonly paused = new Set<number>();
  readonly snapshotCalls: string[] = [];
  /** What saveCompleted answers (a save a killed daemon left). */
  saveDone = false;
  readonly snapshots: Snapshots = {
    pause: (h) => {
      this.snapshotCalls.push(`pause ${h.pid}`);
      this.paused.add(h.pid);
      return Promise.resolve();
    },
    resume: (h) => {
      this.snapshotCalls.push(`resume ${h.pid}`);
      this.paused.delete(h.pid);
      return Promise.resolve();
    },
    paused: (h) => Promise.resolve(this.paused.has(h.pid)),
    save: async (h, file) => {
      this.snapshotCalls.push(`save ${h.pid}`);
      this.paused.add(h.pid);
      await writeFile(file, 'device state and memory');
    },
    saveCompleted: () => Promise.resolve(this.saveDone),
    saveDevices: async (h, file) => {
      this.snapshotCalls.push(`save devices ${h.pid}`);
      await writeFile(file, 'device state');
    },
    copyMemory: (h, target) => {
      this.snapshotCalls.push(`copy memory ${h.pid}`);
      return Promise.resolve({
        finish: async () => {
          await writeFile(target, 'memory');
          return [[0, 6]];
        },
      });
    },
    writeMemory: (h, _file, writes) => {
      this.snapshotCalls.push(`write ${h.pid} ${writes.length}`);
      return Promise.resolve();
    },
    version: () => Promise.resolve('scripted 1'),
  };

  async start(spec: LaunchSpec, options: StartOptions): Promise<VmHandles> {
    this.started.push(spec);
    if (this.onStart instanceof Error) throw this.onStart;
    const pid = ++this.nextPid;
    const files = vmFiles(spec.dir);
    const net = spec.network;
    const port = net.mode === 'tap' ? 22 : net.sshPort > 0 ? net.sshPort : await options.freePort();
    if (this.onStart === 'ready') {
      this.living.add(pid);
      // A restore starts paused with its state loaded, as QEMU's -incoming does.
      if (spec.restore) this.paused.add(pid);
      await writeFile(files.consoleLog, `booting\n${SSHD_READY_LINE}\n`);
    } else await writeFile(files.consoleLog, 'Kernel panic - not syncing\n');
    await writeFile(files.qmpSocket, '');
    return {
      driver: 'qemu',
      accel: 'tcg',
      pid,
      controlSocket: files.qmpSocket,
      consoleLog: files.consoleLog,
      sshPort: port,
      startedAt: new Date().toISOString(),
      dataSocket: files.dataSocket,
    };
  }
  stop(handles: VmHandles): Promise<void> {
    this.stopped.push(handles.pid);
    this.living.delete(handles.pid);
    return Promise.resolve();
  }
  kill(handles: VmHandles): Promise<void> {
    this.living.delete(handles.pid);
    return Promise.resolve();
  }
  alive(handles: VmHandles): Promise<boolean> {
    return Promise.resolve(this.living.has(handles.pid));
  }
  stats(): Promise<HostStats> {
    return Promise.resolve({ cpuSeconds: 1, rssBytes: 3 * 2 ** 20, guestResidentBytes: 2 ** 20 });
  }
  async cleanup(vmDir: string): Promise<void> {
    this.cleaned.push(vmDir);
    const files = vmFiles(vmDir);
    for (const f of [files.qmpSocket, files.dataSocket, files.pidFile])
      await rm(f, { force: true });
  }
  parseHandles(value: Record<string, unknown>): VmHandles | undefined {
    return parseQemuHandles(value);
  }
  reap(): Promise<void> {
    return Promise.resolve();
  }
  /** Processes the OS would show running for a VM id (what QEMU's `-name` says). */
  readonly orphans = new Map<string, VmHandles>();
  adopt(_dir: string, id: string): Promise<VmHandles | undefined> {
    return Promise.resolve(this.orphans.get(id));
  }
}

/** Run for real: the disk tools (the work disk is a real ext4) and ssh-keygen. */
const REAL = new Set(['ssh-keygen', 'mkfs.ext4', 'debugfs', 'e2fsck', 'resize2fs']);

export interface Kit {
  root: string;
  layout: Layout;
  store: Store;
  vmm: ScriptedVmm;
  ctx: VmContext;
  /** Every program run but the REAL ones, as one line each. */
  calls: string[];
  /** Canned answers: the first whose pattern matches the command line. */
  answers: [RegExp, Partial<RunResult>][];
  ensured: string[];
  close(): Promise<void>;
}

export async function vmKit(): Promise<Kit> {
  const root = await mkdtemp(join(tmpdir(), 'bgr-vmkit-'));
  const layout = resolveLayout({
    HOME: root,
    XDG_STATE_HOME: join(root, 'state'),
    XDG_RUNTIME_DIR: join(root, 'run'),
  });
  await mkdir(layout.vmsDir, { recursive: true });
  const store = Store.open(join(root, 'banger.db'));
  const calls: string[] = [];
  const answers: [RegExp, Partial<RunResult>][] = [];
  const ensured: string[] = [];
  const runner: Runner = {
    run(file, args, options) {
      if (REAL.has(file)) return realRunner.run(file, args, options);
      const line = [file, ...args].join(' ');
      calls.push(line);
      const answer = answers.find(([re]) => re.test(line))?.[1] ?? {};
      return Promise.resolve({ command: file, exitCode: 0, stdout: '', stderr: '', ...answer });
    },
    stream: (file, args, options) => realRunner.stream(file, args, options),
  };
  const vmm = new ScriptedVmm();
  const ctx = vmContext({
    layout,
    store,
    runner,
    log: pino({ level: 'silent' }),
    vmms: { current: vmm, forDriver: () => vmm },
    ensureImage: (name) => {
      ensured.push(name);
      const image = store.images.findByName(name);
      if (image) return Promise.resolve(image);
      return Promise.reject(new BangerError(ErrorCode.NotFound, `image "${name}" not found`));
    },
    defaultImage: 'debian-bookworm',
    // The kit's disk as a path only: nothing boots it here.
    ensureKit: () => Promise.resolve(join(root, 'guest-kit.ext4')),
    ensureModules: (kernel) =>
      Promise.resolve(kernel.modulesDir ? join(root, `modules-${kernel.id}.ext4`) : undefined),
  });
  store.kernels.insert({
    id: 'krn1',
    name: 'debian-bookworm-cloud',
    managed: true,
    version: '6.1',
    source: 'test',
    dir: join(root, 'kernel'),
    kernelFile: join(root, 'kernel', 'vmlinux'),
    initrdFile: null,
    modulesDir: null,
    sha256: '0',
    createdAt: new Date().toISOString(),
  });
  store.images.insert({
    id: 'img1',
    name: 'debian-bookworm',
    managed: true,
    distro: 'debian',
    arch: 'x86_64',
    description: '',
    source: '',
    dir: join(root, 'image'),
    rootfsFile: join(root, 'image', 'rootfs.ext4'),
    sizeBytes: 1,
    kernelId: 'krn1',
    createdAt: new Date().toISOString(),
  });
  return {
    root,
    layout,
    store,
    vmm,
    ctx,
    calls,
    answers,
    ensured,
    async close() {
      store.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

let seq = 0;
/** A VM record with its directory (and a work disk file); with a pid, handles as if it ran. */
export async function addVm(kit: Kit, state: VmState, pid?: number): Promise<VmRecord> {
  const id = `vm${String(++seq).padStart(14, '0')}`;
  const dir = join(kit.layout.vmsDir, id);
  await mkdir(dir, { recursive: true });
  await createWorkDisk(vmFiles(dir).workDisk, 64 * 2 ** 20, realRunner);
  const now = new Date().toISOString();
  const record: VmRecord = {
    id,
    name: `vm-${seq}`,
    imageId: 'img1',
    state,
    vcpu: 2,
    memoryMiB: 1024,
    diskBytes: 64 * 2 ** 20,
    networkMode: 'user',
    nat: false,
    egress: 'none',
    guestIp: '10.0.2.15',
    sshPort: 40000 + seq,
    dir,
    lastError: null,
    createdAt: now,
    updatedAt: now,
    owner: null,
  };
  kit.store.vms.insert(record);
  if (pid !== undefined) {
    const files = vmFiles(dir);
    // As a daemon that just started finds it: the file is there, memory is empty.
    const handles: VmHandles = {
      driver: 'qemu',
      accel: 'tcg',
      pid,
      controlSocket: files.qmpSocket,
      consoleLog: files.consoleLog,
      sshPort: record.sshPort,
      startedAt: now,
    };
    await writeFile(files.handles, JSON.stringify(handles));
    await writeFile(files.qmpSocket, '');
    await writeFile(files.pidFile, `${pid}\n`);
  }
  return record;
}
