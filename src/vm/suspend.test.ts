import assert from 'node:assert/strict';
import { stat, utimes, writeFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { vmFiles } from '../config/layout.js';
import { STARTABLE, NOT_RUNNING, RUNNING } from '../protocol/method.js';
import { addVm, vmKit, type Kit } from '../../test/helpers/vm-kit.js';
import { startVm } from './boot.js';
import { withVm } from './guard.js';
import { viewOf } from './lookup.js';
import { pauseVm, resumeVm } from './pause.js';
import { reconcileSave, resumeSaved, suspendVm } from './suspend.js';
import { stopVm } from './stop.js';

// Pause and suspend on the scripted VMM: the states the daemon reads off the VM, what each
// operation asks of the VMM, and what a save leaves in the VM's directory.

let kit: Kit;
before(async () => (kit = await vmKit()));
after(() => kit.close());

const op = () => ({ signal: new AbortController().signal, progress: () => undefined });
const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

async function runningVm() {
  const vm = await addVm(kit, 'stopped');
  await writeFile(vmFiles(vm.dir).systemDisk, 'overlay');
  await startVm(kit.ctx, vm, op(), 5000);
  return kit.store.vms.find(vm.id)!;
}

test('pause: listed paused, refused by what needs the guest, resumed first by stop', async () => {
  const vm = await runningVm();
  const pid = (await kit.ctx.handles.get(vm))!.pid;
  await pauseVm(kit.ctx, vm);
  assert.equal((await viewOf(kit.ctx, vm)).paused, true);
  await assert.rejects(
    withVm(kit.ctx, vm.name, { states: RUNNING, what: 'vm ssh' }, () => Promise.resolve()),
    (err: Error & { hint?: string }) =>
      /vm "vm-\d+" is paused: "banger vm ssh" needs it running/.test(err.message) &&
      /resume it first: banger vm resume vm-\d+/.test(err.hint ?? ''),
  );
  await resumeVm(kit.ctx, vm);
  assert.equal((await viewOf(kit.ctx, vm)).paused, false);
  await pauseVm(kit.ctx, vm);
  kit.vmm.snapshotCalls.length = 0;
  await stopVm(kit.ctx, vm);
  assert.deepEqual(kit.vmm.snapshotCalls, [`resume ${pid}`]);
});

test('suspend: state then meta written, the process gone, suspended; set refused, start resumes', async () => {
  const vm = await runningVm();
  const files = vmFiles(vm.dir);
  const r = await suspendVm(kit.ctx, vm, op());
  assert.equal(r.savedBytes, 'device state and memory'.length);
  assert.ok(await exists(files.savedState));
  assert.ok(await exists(files.savedMeta));
  assert.equal(await exists(`${files.savedState}.partial`), false);
  const view = await viewOf(kit.ctx, kit.store.vms.find(vm.id)!);
  assert.equal(view.running, false);
  assert.equal(view.suspended, true);
  await assert.rejects(
    withVm(kit.ctx, vm.name, { states: NOT_RUNNING, what: 'vm set' }, () => Promise.resolve()),
    (err: Error & { hint?: string }) =>
      /is suspended \(its memory is saved\): "banger vm set" needs it stopped/.test(err.message) &&
      /banger vm start vm-\d+ --cold/.test(err.hint ?? ''),
  );
  await withVm(kit.ctx, vm.name, { states: STARTABLE, what: 'vm start' }, (v) =>
    resumeSaved(kit.ctx, v, op()),
  );
  const spec = kit.vmm.started.at(-1)!;
  assert.deepEqual(spec.restore, { stateFile: files.savedState });
  assert.equal(await exists(files.savedMeta), false, 'the saved state goes once it runs');
  assert.equal(await exists(files.savedState), false);
  assert.equal(kit.store.vms.find(vm.id)!.state, 'running');
});

test('suspend: a disk changed since the save is refused, nothing started', async () => {
  const vm = await runningVm();
  await suspendVm(kit.ctx, vm, op());
  const later = new Date(Date.now() + 10_000);
  await utimes(vmFiles(vm.dir).systemDisk, later, later);
  const starts = kit.vmm.started.length;
  await assert.rejects(
    resumeSaved(kit.ctx, kit.store.vms.find(vm.id)!, op()),
    /has a saved state banger will not resume: its system disk changed since it was saved/,
  );
  assert.equal(kit.vmm.started.length, starts);
  assert.ok(await exists(vmFiles(vm.dir).savedMeta), 'kept for vm start --cold to discard');
});

test('a save a killed daemon left: not completed → removed and the VM resumed; completed → suspended', async () => {
  const vm = await runningVm();
  const files = vmFiles(vm.dir);
  const pid = (await kit.ctx.handles.get(vm))!.pid;
  kit.vmm.paused.add(pid);
  await writeFile(`${files.savedState}.partial`, 'half');
  kit.vmm.saveDone = false;
  await reconcileSave(kit.ctx, vm);
  assert.equal(await exists(`${files.savedState}.partial`), false);
  assert.equal(kit.vmm.paused.has(pid), false, 'the VM runs on');
  assert.equal(await exists(files.savedMeta), false);

  await writeFile(`${files.savedState}.partial`, 'whole');
  kit.vmm.paused.add(pid);
  kit.vmm.saveDone = true;
  await reconcileSave(kit.ctx, vm);
  assert.ok(await exists(files.savedMeta), 'finished: suspended');
  assert.equal(kit.vmm.living.has(pid), false);
  assert.equal(kit.store.vms.find(vm.id)!.state, 'stopped');
  kit.vmm.saveDone = false;
});
