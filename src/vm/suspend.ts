import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { vmFiles } from '../config/layout.js';
import { BangerError, ErrorCode, errorMessage } from '../errors.js';
import { ensureMaster, sshRun } from '../ssh/connection.js';
import type { VmRecord } from '../store/vms.js';
import { fsyncFile } from '../system/atomic-publish.js';
import type { OpContext } from '../system/operation.js';
import type { Snapshots, VmHandles } from '../vmm/vmm.js';
import { launch, launchSpec, running, writeSshConfig } from './boot.js';
import type { VmContext } from './context.js';
import { findVm, isPaused, liveHandles, sshTarget, viewOf, type VmView } from './lookup.js';
import { saveEnded, snapshotsOf } from './pause.js';
import { cleanupRuntime } from './reconcile.js';
import type { Stopped } from './stop.js';

// vm stop --save and the vm start that resumes it. The save is a migration of the whole VM
// (RAM included: a booted VM's RAM is anonymous, a resumed one's a private mapping) into
// saved.state next to its disks; the disks themselves are never touched or switched, so a
// save that fails leaves the VM running as it was, and one that succeeded resumes on
// exactly the disks it was saved with — checked, with the QEMU build, before it loads.

/** What saved.json records: enough to refuse a state that no longer fits. */
interface SavedMeta {
  vmm: string;
  savedAt: string;
  vcpu: number;
  memoryMiB: number;
  stateBytes: number;
  /** Size and mtime of each disk after the save: a disk changed since means another state. */
  disks: Record<'system' | 'work', { size: number; mtimeMs: number }>;
}

const PARTIAL = '.partial';

/** `vm stop --save`. Caller holds the VM's lock. */
export async function suspendVm(ctx: VmContext, vm: VmRecord, op: OpContext): Promise<Stopped> {
  const { handles, snapshots } = await snapshotsOf(ctx, vm, 'save');
  const files = vmFiles(vm.dir);
  const partial = `${files.savedState}${PARTIAL}`;
  try {
    await snapshots.save(handles, partial, op.signal);
  } catch (err) {
    // A migration still running ends first (continuing the VM before would have its end
    // stop it again); one that completed after all is a good save.
    if (await saveEnded(snapshots, handles)) return finishSave(ctx, vm, handles, snapshots);
    await rm(partial, { force: true });
    // The guest goes on as it was: nothing of it was touched.
    await snapshots.resume(handles).catch(() => undefined);
    throw new BangerError(
      ErrorCode.Subprocess,
      `vm "${vm.name}": its state could not be saved (${errorMessage(err)}); it is still running`,
      { hint: `"banger vm stop ${vm.name}" stops it without saving` },
    );
  }
  return finishSave(ctx, vm, handles, snapshots);
}

/** The save completed: the process ends, the state is made durable and then counts. */
async function finishSave(
  ctx: VmContext,
  vm: VmRecord,
  handles: VmHandles,
  snapshots: Snapshots,
): Promise<Stopped> {
  const files = vmFiles(vm.dir);
  const partial = `${files.savedState}${PARTIAL}`;
  // Saved and paused: the process can go. QEMU flushed its disks when the save completed.
  await ctx.vmms.forDriver(handles.driver).kill(handles);
  await cleanupRuntime(ctx, vm);
  // Durable before it counts: the state describes these disks, after a host crash too.
  for (const file of [partial, files.systemDisk, files.workDisk]) await fsyncFile(file);
  const stateBytes = (await stat(partial)).size;
  await rename(partial, files.savedState);
  const meta: SavedMeta = {
    vmm: await vmmVersion(snapshots, handles),
    savedAt: new Date().toISOString(),
    vcpu: vm.vcpu,
    memoryMiB: vm.memoryMiB,
    stateBytes,
    disks: { system: await diskStamp(files.systemDisk), work: await diskStamp(files.workDisk) },
  };
  await writeFile(`${files.savedMeta}${PARTIAL}`, `${JSON.stringify(meta, null, 2)}\n`, {
    mode: 0o600,
  });
  await fsyncFile(`${files.savedMeta}${PARTIAL}`);
  await rename(`${files.savedMeta}${PARTIAL}`, files.savedMeta);
  ctx.store.vms.setState(vm.id, 'stopped', null);
  return { name: vm.name, wasRunning: true, savedBytes: stateBytes };
}

/**
 * `vm start` of a suspended VM: the saved state checked against the disks and the QEMU it
 * would load into, loaded, run, and logged into again; the clock set to now (it stood still
 * while saved). The saved files go once the VM runs: from then on its disks move on.
 */
export async function resumeSaved(ctx: VmContext, vm: VmRecord, op: OpContext): Promise<VmView> {
  const files = vmFiles(vm.dir);
  const vmm = ctx.vmms.current;
  const snapshots = vmm.snapshots;
  if (!snapshots) throw notResumable(vm, `${vmm.driver} cannot resume saved state`);
  const meta = await readMeta(files.savedMeta);
  const why = await mismatch(meta, vm, files, await snapshots.version(), vmm);
  if (why) throw notResumable(vm, why);
  const image = ctx.store.images.findById(vm.imageId);
  if (!image) throw notResumable(vm, 'its image is gone');
  op.progress('resume', `from its saved state (${meta.savedAt})`);
  await writeSshConfig(ctx);
  const network = await ctx.networks.for(vm.networkMode).attach(vm);
  const spec = await launchSpec(ctx, vm, image, network, op);
  const handles = await launch(
    ctx,
    vm,
    { ...spec, restore: { stateFile: files.savedState } },
    network,
    op,
  );
  await snapshots.resume(handles);
  await running(ctx, vm, handles, op);
  await discardSaved(vm);
  const target = await sshTarget(ctx, findVm(ctx, vm.id));
  await ensureMaster(target, files.sshLog, ctx.runner, op.signal);
  const now = (Date.now() / 1000).toFixed(3);
  await sshRun(target, ['date', '-u', '-s', `@${now}`], ctx.runner).catch(() => undefined);
  return viewOf(ctx, findVm(ctx, vm.id));
}

/** Removes a VM's saved state (vm start --cold, delete, or once it resumed). */
export async function discardSaved(vm: Pick<VmRecord, 'dir'>): Promise<void> {
  const files = vmFiles(vm.dir);
  // Meta first: without it the state is never used, whatever happens next.
  for (const file of [files.savedMeta, files.savedState]) await rm(file, { force: true });
}

/**
 * At daemon start, for a VM a killed daemon was saving: a save QEMU completed on its own is
 * finished (the VM is suspended, nothing lost); one that did not is removed and the VM runs
 * on as it was. (A VM QEMU completed a save of is not continued: its disks were handed over.)
 */
export async function reconcileSave(ctx: VmContext, vm: VmRecord): Promise<void> {
  const files = vmFiles(vm.dir);
  const partial = `${files.savedState}${PARTIAL}`;
  if (
    !(await stat(partial).then(
      () => true,
      () => false,
    ))
  )
    return;
  await rm(`${files.savedMeta}${PARTIAL}`, { force: true });
  const handles = await liveHandles(ctx, vm);
  const snapshots = handles && ctx.vmms.forDriver(handles.driver).snapshots;
  if (handles && snapshots) {
    if (await saveEnded(snapshots, handles)) {
      await finishSave(ctx, vm, handles, snapshots);
      ctx.log.warn({ vm: vm.name }, 'finished a save a killed daemon left: the VM is suspended');
      return;
    }
    await rm(partial, { force: true });
    if (await isPaused(ctx, vm)) await snapshots.resume(handles);
    ctx.log.warn({ vm: vm.name }, 'removed an unfinished save; the VM runs on');
    return;
  }
  await rm(partial, { force: true });
}

async function mismatch(
  meta: SavedMeta,
  vm: VmRecord,
  files: ReturnType<typeof vmFiles>,
  version: string,
  vmm: { driver: string; accel: string },
): Promise<string | undefined> {
  if (meta.vmm !== `${vmm.driver}/${vmm.accel} ${version}`)
    return `it was saved by ${meta.vmm}, and this is ${vmm.driver}/${vmm.accel} ${version}`;
  if (meta.vcpu !== vm.vcpu || meta.memoryMiB !== vm.memoryMiB)
    return 'its size changed since it was saved';
  const state = await stat(files.savedState).catch(() => undefined);
  if (!state || state.size !== meta.stateBytes) return 'its saved state file is damaged';
  for (const [disk, path] of [
    ['system', files.systemDisk],
    ['work', files.workDisk],
  ] as const) {
    const now = await diskStamp(path).catch(() => undefined);
    const then = meta.disks[disk];
    if (!now || now.size !== then.size || now.mtimeMs !== then.mtimeMs)
      return `its ${disk} disk changed since it was saved`;
  }
  return undefined;
}

function notResumable(vm: VmRecord, why: string): BangerError {
  return new BangerError(
    ErrorCode.Conflict,
    `vm "${vm.name}" has a saved state banger will not resume: ${why}`,
    {
      hint: `boot it from its disks instead (the saved state is discarded): banger vm start ${vm.name} --cold`,
    },
  );
}

async function readMeta(path: string): Promise<SavedMeta> {
  return JSON.parse(await readFile(path, 'utf8')) as SavedMeta;
}

async function vmmVersion(snapshots: Snapshots, handles: VmHandles): Promise<string> {
  return `${handles.driver}/${handles.accel} ${await snapshots.version()}`;
}

async function diskStamp(path: string): Promise<{ size: number; mtimeMs: number }> {
  const s = await stat(path);
  return { size: s.size, mtimeMs: s.mtimeMs };
}
