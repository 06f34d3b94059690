import assert from 'node:assert/strict';
import { stat, writeFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { sshControlPath, vmFiles } from '../config/layout.js';
import { addVm, vmKit, type Kit } from '../../test/helpers/vm-kit.js';
import type { VmHandles } from '../vmm/vmm.js';
import { vmAlive } from './lookup.js';
import { reconcile, reconcileAll } from './reconcile.js';

// Reconcile decisions on a real SQLite store and real files; the VMM's liveness is scripted.

let kit: Kit;
before(async () => (kit = await vmKit()));
after(() => kit.close());

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

test('reconcile keeps a running VM whose process is alive, with its handles', async () => {
  kit.vmm.living.add(101);
  const v = await addVm(kit, 'running', 101);
  const after = await reconcile(kit.ctx, v);
  assert.equal(after.state, 'running');
  assert.equal((await kit.ctx.handles.get(v))?.pid, 101);
  assert.equal(await exists(vmFiles(v.dir).qmpSocket), true);
  assert.deepEqual(kit.ctx.handles.ports(), new Set([v.sshPort]), 'its port is held');
});

test('reconcile stops a running VM whose process is gone and removes its leftovers', async () => {
  const v = await addVm(kit, 'running', 102);
  // A master connection the dead VM left: its control socket is there.
  await kit.ctx.sshKey(); // makes the control-socket dir, as a daemon that ran VMs has it
  const control = sshControlPath(kit.layout, v.id);
  await writeFile(control, '');
  kit.calls.length = 0;
  const after = await reconcile(kit.ctx, v);
  assert.equal(after.state, 'stopped');
  for (const f of ['handles', 'qmpSocket', 'pidFile'] as const)
    assert.equal(await exists(vmFiles(v.dir)[f]), false, f);
  // The master is told to exit, and its control socket is gone.
  assert.ok(
    kit.calls.some((c) => c.startsWith('ssh ') && c.includes(' -O exit ')),
    kit.calls.join('\n'),
  );
  assert.equal(await exists(control), false);
  assert.deepEqual(kit.vmm.cleaned.at(-1), v.dir, 'the driver removed its runtime files');
});

test('reconcile: running with no handles.json, or unreadable handles, is stopped', async () => {
  const a = await addVm(kit, 'running');
  assert.equal((await reconcile(kit.ctx, a)).state, 'stopped');
  const b = await addVm(kit, 'running');
  await writeFile(vmFiles(b.dir).handles, 'garbage');
  assert.equal((await reconcile(kit.ctx, b)).state, 'stopped');
  assert.equal(await exists(vmFiles(b.dir).handles), false, 'the garbage is removed');
});

test('reconcile: a VM whose VMM runs without handles.json (or with a broken one) is adopted, not orphaned', async () => {
  for (const [state, atStart] of [
    ['running', false],
    ['stopped', true],
  ] as const) {
    const v = await addVm(kit, state);
    await writeFile(vmFiles(v.dir).handles, 'garbage');
    const found: VmHandles = {
      driver: 'qemu',
      accel: 'tcg',
      pid: 4100 + v.sshPort,
      controlSocket: vmFiles(v.dir).qmpSocket,
      consoleLog: vmFiles(v.dir).consoleLog,
      sshPort: v.sshPort || 40123,
      startedAt: new Date().toISOString(),
    };
    kit.vmm.living.add(found.pid);
    kit.vmm.orphans.set(v.id, found);
    const after = await reconcile(kit.ctx, v, atStart);
    assert.equal(after.state, 'running', state);
    assert.equal((await kit.ctx.handles.get(v))?.pid, found.pid);
    kit.vmm.orphans.delete(v.id);
  }
  // A read does not look in the OS for a VM the store calls stopped.
  const quiet = await addVm(kit, 'stopped');
  kit.vmm.living.add(4242);
  kit.vmm.orphans.set(quiet.id, {
    driver: 'qemu',
    accel: 'tcg',
    pid: 4242,
    controlSocket: vmFiles(quiet.dir).qmpSocket,
    consoleLog: vmFiles(quiet.dir).consoleLog,
    sshPort: 40124,
    startedAt: new Date().toISOString(),
  });
  assert.equal((await reconcile(kit.ctx, quiet)).state, 'stopped');
  kit.vmm.orphans.clear();
});

test('reconcile: a create the daemon died in (state created) becomes stopped', async () => {
  const v = await addVm(kit, 'created', 103);
  assert.equal((await reconcile(kit.ctx, v)).state, 'stopped');
});

test('reconcile leaves stopped and failed VMs as they are, error text included', async () => {
  const s = await addVm(kit, 'stopped');
  kit.vmm.cleaned.length = 0;
  assert.equal((await reconcile(kit.ctx, s)).state, 'stopped');
  assert.deepEqual(kit.vmm.cleaned, [], 'nothing to clean on a cleanly stopped VM');
  const e = await addVm(kit, 'error');
  kit.store.vms.setState(e.id, 'error', 'the VM process exited during boot');
  const after = await reconcile(kit.ctx, kit.store.vms.find(e.id)!);
  assert.equal(after.state, 'error');
  assert.equal(after.lastError, 'the VM process exited during boot');
});

test('a VM whose process came back (handles alive) is marked running again', async () => {
  kit.vmm.living.add(106);
  const v = await addVm(kit, 'stopped', 106);
  assert.equal((await reconcile(kit.ctx, v)).state, 'running');
});

test('a pid that is alive but not ours (the VMM says no) counts as dead', async () => {
  // ScriptedVmm.alive is the driver's "pid alive AND our qemu for this VM" check.
  const v = await addVm(kit, 'running', process.pid);
  assert.equal(await vmAlive(kit.ctx, v), false);
  assert.equal((await reconcile(kit.ctx, v)).state, 'stopped');
});

test('reconcileAll runs over every VM and never throws for one', async () => {
  kit.vmm.living.add(104);
  const alive = await addVm(kit, 'running', 104);
  const dead = await addVm(kit, 'running', 105);
  const broken = await addVm(kit, 'running', 107);
  // A VM whose directory cannot be cleaned (a file where its dir should be) fails alone.
  kit.store.vms.delete(broken.id);
  kit.store.vms.insert({ ...broken, dir: '/proc/version' });
  await reconcileAll(kit.ctx);
  assert.equal(kit.store.vms.find(alive.id)?.state, 'running');
  assert.equal(kit.store.vms.find(dead.id)?.state, 'stopped');
});
