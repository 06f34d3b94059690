import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { resolveLayout, type Layout } from '../config/layout.js';
import { BangerError, ErrorCode } from '../errors.js';
import { Store } from '../store/store.js';
import type { VmRecord, VmState } from '../store/vms.js';
import { realRunner, type Runner } from '../system/runner.js';
import type { HostStats, LaunchSpec, VmHandles, Vmm } from '../vmm/vmm.js';
import { handlesPath, readHandles, writeHandles } from './handles.js';
import { VmService } from './vm-service.js';

// Reconcile decisions and create's up-front validation, on a real SQLite store and real
// files, with a VMM whose liveness the test decides (the qemu driver has its own tests).

class ScriptedVmm implements Vmm {
  readonly driver = 'qemu' as const;
  readonly accel = 'tcg' as const;
  readonly capabilities = { gracefulStop: true, qcow2: true };
  readonly living = new Set<number>();
  start(_spec: LaunchSpec): Promise<VmHandles> {
    return Promise.reject(new Error('not booted in unit tests'));
  }
  stop(): Promise<void> {
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
    return Promise.resolve({ cpuSeconds: 0, rssBytes: 0, guestResidentBytes: 0 });
  }
}

/** Real ssh-keygen (the service makes its key), every other program only recorded. */
function recordingRunner(calls: string[]): Runner {
  return {
    run(file, args, options) {
      if (file === 'ssh-keygen') return realRunner.run(file, args, options);
      calls.push([file, ...args].join(' '));
      return Promise.resolve({ command: file, exitCode: 0, stdout: '', stderr: '' });
    },
    stream: (file, args, options) => realRunner.stream(file, args, options),
  };
}

let root: string;
let layout: Layout;
let store: Store;
const vmm = new ScriptedVmm();
const calls: string[] = [];
let ensured: string[] = [];
let service: VmService;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'bgr-vmsvc-'));
  layout = resolveLayout({
    HOME: root,
    XDG_STATE_HOME: join(root, 'state'),
    XDG_RUNTIME_DIR: join(root, 'run'),
  });
  await mkdir(layout.vmsDir, { recursive: true });
  store = Store.open(join(root, 'banger.db'));
  store.images.insert({
    id: 'img1',
    name: 'debian-bookworm',
    managed: true,
    distro: 'debian',
    arch: 'x86_64',
    description: '',
    source: '',
    dir: '/images/img1',
    rootfsFile: '/images/img1/rootfs.ext4',
    sizeBytes: 1,
    kernelId: null,
    createdAt: new Date().toISOString(),
  });
  service = new VmService({
    layout,
    store,
    runner: recordingRunner(calls),
    log: pino({ level: 'silent' }),
    ensureImage: (name) => {
      ensured.push(name);
      return Promise.reject(new BangerError(ErrorCode.NotFound, `image "${name}" not found`));
    },
    defaultImage: 'debian-bookworm',
    vmm: { driver: 'qemu', accel: 'tcg', forDriver: () => vmm },
    tscKhz: undefined,
  });
});
after(async () => {
  store.close();
  await rm(root, { recursive: true, force: true });
});

let seq = 0;
async function vm(state: VmState, pid?: number): Promise<VmRecord> {
  const id = `vm${String(++seq).padStart(14, '0')}`;
  const dir = join(layout.vmsDir, id);
  await mkdir(dir, { recursive: true });
  const now = new Date().toISOString();
  const record: VmRecord = {
    id,
    name: `vm-${seq}`,
    imageId: 'img1',
    state,
    vcpu: 2,
    memoryMiB: 1024,
    diskBytes: 8 * 2 ** 30,
    networkMode: 'user',
    nat: false,
    guestIp: '10.0.2.15',
    sshPort: 40000 + seq,
    dir,
    lastError: null,
    createdAt: now,
    updatedAt: now,
  };
  store.vms.insert(record);
  if (pid !== undefined) {
    await writeHandles(dir, {
      driver: 'qemu',
      accel: 'tcg',
      pid,
      controlSocket: join(dir, 'qmp.sock'),
      consoleLog: join(dir, 'console.log'),
      sshPort: record.sshPort,
      startedAt: now,
    });
    await writeFile(join(dir, 'qmp.sock'), '');
    await writeFile(join(dir, 'qemu.pid'), `${pid}\n`);
  }
  return record;
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

test('reconcile keeps a running VM whose process is alive, with its handles', async () => {
  vmm.living.add(101);
  const v = await vm('running', 101);
  const after = await service.reconcile(v);
  assert.equal(after.state, 'running');
  assert.equal((await readHandles(v.dir))?.pid, 101);
  assert.equal(await exists(join(v.dir, 'qmp.sock')), true);
});

test('reconcile stops a running VM whose process is gone and removes its leftovers', async () => {
  const v = await vm('running', 102);
  const after = await service.reconcile(v);
  assert.equal(after.state, 'stopped');
  for (const f of ['handles.json', 'qmp.sock', 'qemu.pid'])
    assert.equal(await exists(join(v.dir, f)), false, f);
  // Its ssh master is told to exit (the control socket may be stale): never left behind.
  assert.equal(await exists(join(layout.runtimeDir, 'ssh', v.id)), false);
});

test('reconcile: running with no handles.json, or unreadable handles, is stopped', async () => {
  const a = await vm('running');
  assert.equal((await service.reconcile(a)).state, 'stopped');
  const b = await vm('running');
  await writeFile(handlesPath(b.dir), 'garbage');
  assert.equal((await service.reconcile(b)).state, 'stopped');
});

test('reconcile: a create the daemon died in (state created) becomes stopped', async () => {
  const v = await vm('created', 103);
  assert.equal((await service.reconcile(v)).state, 'stopped');
});

test('reconcile leaves stopped and failed VMs as they are, error text included', async () => {
  const s = await vm('stopped');
  assert.equal((await service.reconcile(s)).state, 'stopped');
  const e = await vm('error');
  store.vms.setState(e.id, 'error', 'the VM process exited during boot');
  const after = await service.reconcile(store.vms.find(e.id)!);
  assert.equal(after.state, 'error');
  assert.equal(after.lastError, 'the VM process exited during boot');
});

test('a pid that is alive but not ours (the VMM says no) counts as dead', async () => {
  // ScriptedVmm.alive is the driver's "pid alive AND our qemu for this VM" check.
  const v = await vm('running', process.pid);
  assert.equal(await service.vmAlive(v), false);
  assert.equal((await service.reconcile(v)).state, 'stopped');
});

test('reconcileAll runs over every VM and never throws for one', async () => {
  vmm.living.add(104);
  const alive = await vm('running', 104);
  const dead = await vm('running', 105);
  await service.reconcileAll();
  assert.equal(store.vms.find(alive.id)?.state, 'running');
  assert.equal(store.vms.find(dead.id)?.state, 'stopped');
});

test('create rejects bad names and sizes before resolving the image or making a file', async () => {
  const ctx = { signal: new AbortController().signal, progress: () => undefined };
  const base = { vcpu: 2, memoryMiB: 1024, diskBytes: 8 * 2 ** 30 };
  const before = await readdir(layout.vmsDir);
  ensured = [];
  const cases: [Partial<typeof base> & { name?: string }, RegExp][] = [
    [{ name: 'Bad_Name' }, /"Bad_Name" is not a valid VM name/],
    [{ name: 'vm-1' }, /a VM named "vm-1" already exists/],
    [{ vcpu: 0 }, /--vcpu 0 is out of range/],
    [{ memoryMiB: 16 }, /--memory 16 MiB is too small/],
    [{ diskBytes: 1024 }, /--disk-size .* is too small/],
  ];
  for (const [change, message] of cases)
    await assert.rejects(service.create({ ...base, ...change }, ctx), message);
  assert.deepEqual(ensured, []);
  assert.deepEqual(await readdir(layout.vmsDir), before);
});

test('create: an image that cannot be had stops it before any disk is made', async () => {
  const ctx = { signal: new AbortController().signal, progress: () => undefined };
  const before = await readdir(layout.vmsDir);
  await assert.rejects(
    service.create(
      { name: 'later', image: 'nope', vcpu: 2, memoryMiB: 1024, diskBytes: 8 * 2 ** 30 },
      ctx,
    ),
    /image "nope" not found/,
  );
  assert.deepEqual(await readdir(layout.vmsDir), before);
  assert.equal(store.vms.findByName('later'), undefined);
  // The name is free again.
  await assert.rejects(
    service.create(
      { name: 'later', image: 'nope', vcpu: 2, memoryMiB: 1024, diskBytes: 8 * 2 ** 30 },
      ctx,
    ),
    /image "nope" not found/,
  );
});
