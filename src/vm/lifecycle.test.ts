import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { vmFiles } from '../config/layout.js';
import { realRunner } from '../system/runner.js';
import { addVm, vmKit, type Kit } from '../../test/helpers/vm-kit.js';
import { startVm } from './boot.js';
import { createVm } from './create.js';
import { withVm } from './guard.js';
import { setVm } from './set.js';
import { parseGuestStats, vmStats } from './stats.js';
import { destroy, stopVm } from './stop.js';

// The VM use cases end to end on a real store and real files, the VMM scripted: what each
// leaves in SQLite, in the VM's directory and in what it asked the VMM and the host to run.

let kit: Kit;
before(async () => (kit = await vmKit()));
after(() => kit.close());

const op = () => ({ signal: new AbortController().signal, progress: () => undefined });
const base = { vcpu: 2, memoryMiB: 1024, diskBytes: 256 * 2 ** 20 };
const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

test('create rejects bad names, sizes and workspaces before resolving the image', async () => {
  const before = await readdir(kit.layout.vmsDir);
  kit.ensured.length = 0;
  await addVm(kit, 'stopped'); // vm-N exists
  const taken = kit.store.vms.list().at(-1)!.name;
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ name: 'Bad_Name' }, /"Bad_Name" is not a valid VM name/],
    [{ name: taken }, new RegExp(`a VM named "${taken}" already exists`)],
    [{ vcpu: 0 }, /vm.create vcpu 0 is out of range/],
    [{ memoryMiB: 16 }, /vm.create memoryMiB 16 MiB is below the 256 MiB minimum/],
    [{ diskBytes: 1024 }, /vm.create diskBytes .* is below the 64M minimum/],
    [{ workspace: '/nonexistent/repo' }, /\/nonexistent\/repo is not a directory/],
  ];
  for (const [change, message] of cases)
    await assert.rejects(createVm(kit.ctx, { ...base, ...change }, op()), message);
  assert.deepEqual(kit.ensured, []);
  assert.deepEqual((await readdir(kit.layout.vmsDir)).length, before.length + 1);
});

test('create: an image that cannot be had stops it before any disk, and frees the name', async () => {
  const before = await readdir(kit.layout.vmsDir);
  const req = { ...base, name: 'later', image: 'nope' };
  await assert.rejects(createVm(kit.ctx, req, op()), /image "nope" not found/);
  assert.deepEqual(await readdir(kit.layout.vmsDir), before);
  assert.equal(kit.store.vms.findByName('later'), undefined);
  await assert.rejects(createVm(kit.ctx, req, op()), /image "nope" not found/);
});

test('create: disks staged and published, the VMM given the VM, running once sshd is up', async () => {
  kit.calls.length = 0;
  kit.vmm.onStart = 'ready';
  const view = await createVm(kit.ctx, { ...base, name: 'fresh' }, op());
  assert.equal(view.running, true);
  const vm = kit.store.vms.findByName('fresh')!;
  assert.equal(vm.state, 'running');
  assert.equal(vm.guestIp, '10.0.2.15');
  assert.ok(vm.sshPort > 0, 'the port the VMM bound is recorded');
  const spec = kit.vmm.started.at(-1)!;
  assert.equal(spec.id, vm.id);
  assert.equal(spec.kernel, kit.store.kernels.findById('krn1')!.kernelFile);
  assert.ok(spec.cmdline.includes('banger.hostname=fresh'), spec.cmdline.join(' '));
  assert.ok(spec.cmdline.includes('banger.ip=10.0.2.15/24'));
  assert.deepEqual(spec.network, { mode: 'user', sshPort: 0, nat: false });
  assert.equal(spec.systemDisk.path, vmFiles(vm.dir).systemDisk);
  // The overlay is on the image's rootfs; the work disk is the VM's own ext4.
  assert.ok(
    kit.calls.some((c) => /^qemu-img create .* -b \S+rootfs\.ext4 \S+system\.qcow2$/.test(c)),
  );
  // The work disk is a real ext4 with banger's key where sshd looks for it.
  const keys = await realRunner.run('debugfs', [
    '-R',
    'cat /.ssh/authorized_keys',
    vmFiles(vm.dir).workDisk,
  ]);
  assert.match(keys.stdout, /^ssh-ed25519 /);
  // Logged in once: the master connection, started in the background.
  assert.ok(kit.calls.some((c) => c.startsWith('ssh ') && c.includes(' -f -N root@127.0.0.1')));
  assert.equal((await kit.ctx.handles.get(vm))?.sshPort, vm.sshPort);
  assert.equal(
    (await readdir(kit.layout.vmsDir)).some((d) => d.endsWith('.staging')),
    false,
  );
});

test('start: a VM whose process exits during boot is an error with the console tail', async () => {
  const vm = await addVm(kit, 'stopped');
  kit.vmm.onStart = 'dies';
  await assert.rejects(
    withVm(kit.ctx, vm.name, { states: ['stopped'], what: 'vm start' }, (v) =>
      startVm(kit.ctx, v, op(), 5000),
    ),
    /the VM process exited during boot; the console ends with:\nKernel panic/,
  );
  const after = kit.store.vms.find(vm.id)!;
  assert.equal(after.state, 'error');
  assert.equal(await exists(vmFiles(vm.dir).handles), false, 'no handles left');
  kit.vmm.onStart = 'ready';
});

test('start reuses the recorded port; a VMM failure leaves the VM in error with its text', async () => {
  const vm = await addVm(kit, 'stopped');
  await startVm(kit.ctx, vm, op(), 5000);
  assert.deepEqual(kit.vmm.started.at(-1)!.network, {
    mode: 'user',
    sshPort: vm.sshPort,
    nat: false,
  });
  await stopVm(kit.ctx, kit.store.vms.find(vm.id)!);
  kit.vmm.onStart = new Error('qemu-system-x86_64 exited 1: could not open kernel file');
  await assert.rejects(startVm(kit.ctx, kit.store.vms.find(vm.id)!, op()), /could not open/);
  assert.equal(kit.store.vms.find(vm.id)!.state, 'error');
  assert.match(kit.store.vms.find(vm.id)!.lastError ?? '', /could not open kernel file/);
  kit.vmm.onStart = 'ready';
});

test('the state guard: one error text naming the VM, the command and what it needs', async () => {
  kit.vmm.living.add(501);
  const running = await addVm(kit, 'running', 501);
  await assert.rejects(
    withVm(kit.ctx, running.name, { states: ['stopped', 'created', 'error'], what: 'vm set' }, () =>
      Promise.resolve(),
    ),
    (err: Error & { hint?: string }) =>
      err.message === `vm "${running.name}" is running: "banger vm set" needs it stopped` &&
      err.hint === `stop it first: banger vm stop ${running.name}`,
  );
  const stopped = await addVm(kit, 'stopped');
  await assert.rejects(
    withVm(kit.ctx, stopped.name, { states: ['running'], what: 'vm ssh' }, () => Promise.resolve()),
    new RegExp(`vm "${stopped.name}" is stopped: "banger vm ssh" needs it running`),
  );
  // A VM recorded running whose process is gone is reconciled first: it is stopped now.
  const dead = await addVm(kit, 'running', 502);
  assert.equal(
    await withVm(kit.ctx, dead.name, { states: ['stopped'], what: 'vm start' }, (v) =>
      Promise.resolve(v.state),
    ),
    'stopped',
  );
});

test('stop: asks the guest over ssh, then the VMM; handles and runtime files go', async () => {
  kit.vmm.living.add(601);
  const vm = await addVm(kit, 'running', 601);
  kit.calls.length = 0;
  const r = await stopVm(kit.ctx, vm);
  assert.deepEqual(r, { name: vm.name, wasRunning: true });
  assert.ok(
    kit.calls.some((c) => c.startsWith('ssh ') && c.includes('systemctl poweroff --no-block')),
  );
  assert.deepEqual(kit.vmm.stopped.at(-1), 601);
  assert.equal(kit.store.vms.find(vm.id)!.state, 'stopped');
  for (const f of ['handles', 'qmpSocket', 'pidFile'] as const)
    assert.equal(await exists(vmFiles(vm.dir)[f]), false, f);
  // A VMM without a power button is killed instead of asked.
  kit.vmm.capabilities = { gracefulStop: false, dataPort: true };
  kit.vmm.living.add(602);
  const other = await addVm(kit, 'running', 602);
  await stopVm(kit.ctx, other);
  assert.equal(kit.vmm.stopped.at(-1), 601, 'stop() not called');
  assert.equal(kit.vmm.living.has(602), false);
  kit.vmm.capabilities = { gracefulStop: true, dataPort: true };
  // Stopping a stopped VM is no error.
  assert.deepEqual(await stopVm(kit.ctx, kit.store.vms.find(vm.id)!), {
    name: vm.name,
    wasRunning: false,
  });
});

test('delete: the process killed, the directory and the record gone', async () => {
  kit.vmm.living.add(701);
  const vm = await addVm(kit, 'running', 701);
  await destroy(kit.ctx, vm);
  assert.equal(kit.vmm.living.has(701), false);
  assert.equal(await exists(vm.dir), false);
  assert.equal(kit.store.vms.find(vm.id), undefined);
});

test('set: sizes change on a stopped VM; the work disk grows and never shrinks', async () => {
  const vm = await addVm(kit, 'stopped');
  kit.calls.length = 0;
  const view = await setVm(kit.ctx, vm, { vcpu: 4, diskBytes: 128 * 2 ** 20 });
  assert.equal(view.vm.vcpu, 4);
  assert.equal(view.vm.memoryMiB, vm.memoryMiB);
  assert.equal(kit.store.vms.find(vm.id)!.diskBytes, 128 * 2 ** 20);
  assert.equal((await stat(vmFiles(vm.dir).workDisk)).size, 128 * 2 ** 20, 'the file grew');
  // resize2fs grew the filesystem too: dumpe2fs sees the new size.
  const info = await realRunner.run('dumpe2fs', ['-h', vmFiles(vm.dir).workDisk]);
  const blocks = Number(/Block count:\s+(\d+)/.exec(info.stdout)?.[1]);
  const blockSize = Number(/Block size:\s+(\d+)/.exec(info.stdout)?.[1]);
  assert.equal(blocks * blockSize, 128 * 2 ** 20);
  await assert.rejects(
    setVm(kit.ctx, kit.store.vms.find(vm.id)!, { diskBytes: 64 * 2 ** 20 }),
    /the work disk only grows/,
  );
  await assert.rejects(setVm(kit.ctx, vm, { memoryMiB: 100 }), /vm.set memoryMiB 100 MiB is below/);
});

test('stats: VMM figures for a running VM, guest memory from /proc over ssh', async () => {
  kit.vmm.living.add(801);
  const vm = await addVm(kit, 'running', 801);
  kit.answers.push([
    /cat \/proc\/uptime \/proc\/meminfo$/,
    { stdout: '123.45 99.0\nMemTotal:        1000 kB\nMemAvailable:     250 kB\n' },
  ]);
  const s = await vmStats(kit.ctx, vm.name);
  assert.equal(s.running, true);
  assert.equal(s.pid, 801);
  assert.equal(s.host?.rssBytes, 3 * 2 ** 20);
  assert.equal(s.host?.cpuPercent, 0, 'the scripted VMM used no CPU between the samples');
  assert.deepEqual(s.guest, {
    uptimeSeconds: 123,
    memoryTotalBytes: 1024000,
    memoryUsedBytes: 768000,
  });
  assert.ok(s.disk.workBytes > 0, 'the work disk file occupies blocks');
  const stopped = await vmStats(kit.ctx, (await addVm(kit, 'stopped')).name);
  assert.equal(stopped.running, false);
  assert.equal(stopped.host, undefined);
  assert.equal(parseGuestStats('garbage'), undefined);
});

test('a VM from a pulled image boots with the guest kit and the kernel modules disk', async () => {
  const kernel = kit.store.kernels.findByName('debian-bookworm-cloud')!;
  kit.store.kernels.insert({
    ...kernel,
    id: 'krn-mod',
    name: 'with-modules',
    modulesDir: join(kit.root, 'modules'),
  });
  kit.store.images.insert({
    ...kit.store.images.findByName('debian-bookworm')!,
    kernelId: 'krn-mod',
    id: 'img-oci',
    name: 'pulled',
    source: 'oci:127.0.0.1:5000/team/app:1',
    oci: {
      reference: '127.0.0.1:5000/team/app:1',
      digest: 'sha256:0',
      env: [],
      workingDir: '',
      user: '',
    },
  });
  kit.vmm.onStart = 'ready';
  await createVm(kit.ctx, { ...base, name: 'from-oci', image: 'pulled' }, op());
  const spec = kit.vmm.started.at(-1)!;
  assert.deepEqual(spec.readOnlyDisks, [
    join(kit.root, 'guest-kit.ext4'),
    join(kit.root, 'modules-krn-mod.ext4'),
  ]);
  assert.ok(spec.cmdline.includes('banger.kit=/dev/vdc'), spec.cmdline.join(' '));
  assert.ok(spec.cmdline.includes('banger.modules=/dev/vdd'), spec.cmdline.join(' '));
  assert.ok(spec.cmdline.includes('init=/run/banger-kit/libexec/banger-init'));
  // The golden image boots without it.
  await createVm(kit.ctx, { ...base, name: 'golden' }, op());
  assert.deepEqual(kit.vmm.started.at(-1)!.readOnlyDisks, []);
  assert.equal(
    kit.vmm.started.at(-1)!.cmdline.some((a) => /^banger\.(kit|modules)=/.test(a)),
    false,
  );
});
