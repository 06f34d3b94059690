import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileName, STAGING_SUFFIX, TemplateFileName, vmFiles } from '../../config/layout.js';
import { BangerError, ErrorCode, errorMessage } from '../../errors.js';
import type { VmRecord } from '../../store/vms.js';
import { newId, Staging } from '../../system/atomic-publish.js';
import type { OpContext } from '../../system/operation.js';
import type { Snapshots, VmHandles } from '../../vmm/vmm.js';
import { launchSpec } from '../boot.js';
import type { VmContext } from '../context.js';
import { reserveNames } from '../create.js';
import { isPaused, liveHandles, sshTarget, type VmView } from '../lookup.js';
import { copyDisk } from '../disks.js';
import { saveEnded } from '../pause.js';
import { findBootId } from '../warm/boot-id.js';
import { startHook, stopHook } from '../warm/guest-hook.js';
import { templateRecord } from '../warm/make-template.js';
import { restoreVm } from '../warm/restore.js';
import { templateFiles } from '../warm/templates.js';

// vm fork: copies of a running VM, memory and disks, each resumed as a new VM. The parent is
// paused only while its whole state is written and its disks copied; after it runs on, the
// copy is turned into a template — a "freezer" QEMU loads the whole state into a shared RAM
// file and saves its device state alone — and every child resumes from it exactly as a warm
// start does (copy-on-write RAM shared between the children, own disks, own identity through
// the hook, which was started in the parent just before the copy and stopped in it after).

export interface ForkResult {
  children: VmView[];
  /** How long the parent was paused. */
  pausedMs: number;
}

/** Caller holds the parent's lock and has checked it runs. */
export async function forkVm(
  ctx: VmContext,
  parent: VmRecord,
  request: { names?: readonly string[]; count?: number },
  op: OpContext,
): Promise<ForkResult> {
  const handles = await liveHandles(ctx, parent);
  const vmm = handles && ctx.vmms.forDriver(handles.driver);
  const snapshots = vmm?.snapshots;
  if (!handles || !snapshots)
    throw new BangerError(ErrorCode.NotImplemented, `vm "${parent.name}" cannot be forked here`);
  const image = ctx.store.images.findById(parent.imageId);
  if (!image) throw new BangerError(ErrorCode.NotFound, `vm "${parent.name}": its image is gone`);
  if (image.oci)
    throw new BangerError(
      ErrorCode.InvalidParams,
      `vm "${parent.name}" cannot be forked yet: it runs a pulled OCI image (the guest kit has no perl for the identity hook)`,
      { hint: 'fork VMs of images banger built or registered' },
    );
  const names = reserveNames(ctx, parent.name, request);
  const id = newId();
  const staging = await Staging.create(join(ctx.layout.runtimeDir, FileName.forksDir), id);
  const files = templateFiles(staging.dir);
  const whole = join(staging.dir, TemplateFileName.wholeState);
  const pending = vmFiles(parent.dir).forkPending;
  try {
    const target = await sshTarget(ctx, parent);
    op.progress('fork', `preparing ${parent.name}`);
    const who = `vm "${parent.name}"`;
    const bootId = await startHook(target, ctx.runner, who);

    // The parent's pause: its whole state written, its disks copied, then it runs on.
    const pausedAt = Date.now();
    let pausedMs = 0;
    await writeFile(pending, '');
    try {
      await snapshots.save(handles, whole, op.signal, { ignoreShared: false });
      await copyDisk(vmFiles(parent.dir).systemDisk, files.systemDisk, ctx.runner);
      await copyDisk(vmFiles(parent.dir).workDisk, files.workDisk, ctx.runner);
    } finally {
      await saveEnded(snapshots, handles);
      await snapshots.resume(handles);
      pausedMs = Date.now() - pausedAt;
      await rm(pending, { force: true });
      // The parent's hook goes whatever happened (it would hold the data port).
      await stopHook(target, ctx.runner, who).catch((err: unknown) =>
        ctx.log.warn({ vm: parent.name, err: errorMessage(err) }, 'hook left'),
      );
    }
    op.progress('fork', `${parent.name} paused ${pausedMs} ms; freezing the copy`);

    const frozenAt = Date.now();
    await freeze(ctx, parent, image, staging.dir, whole, snapshots, op);
    await rm(whole, { force: true });
    const bootIdSites = await findBootId(files.memory, bootId);
    const freezeMs = Date.now() - frozenAt;

    const children: VmView[] = [];
    for (const name of names) {
      op.progress('fork', `child ${name}`);
      children.push(
        await restoreVm(
          ctx,
          {
            name,
            image,
            req: {
              vcpu: parent.vcpu,
              memoryMiB: parent.memoryMiB,
              diskBytes: parent.diskBytes,
              network: parent.networkMode,
              nat: parent.nat,
            },
            ports: [],
          },
          { files, meta: { key: id, bootIdSites } },
          snapshots,
          op,
        ),
      );
      ctx.creating.delete(name);
    }
    ctx.log.info({ vm: parent.name, children: names, pausedMs, freezeMs }, 'vm forked');
    return { children, pausedMs };
  } finally {
    for (const name of names) ctx.creating.delete(name);
    await staging.discard();
  }
}

/**
 * The parent's whole state loaded into a QEMU whose RAM is a shared file, never run, then
 * saved as device state alone: the copy becomes a template children map copy-on-write.
 */
async function freeze(
  ctx: VmContext,
  parent: VmRecord,
  image: NonNullable<ReturnType<VmContext['store']['images']['findById']>>,
  dir: string,
  whole: string,
  snapshots: Snapshots,
  op: OpContext,
): Promise<void> {
  const files = templateFiles(dir);
  const id = dir.split('/').at(-1)!.replace(STAGING_SUFFIX, '');
  const record = templateRecord(id, image, { ...parent, network: parent.networkMode }, dir);
  // The freezer's NIC has the parent's kind of backend: virtio-net's features depend on it
  // (a tap's offloads), and a state with features the backend lacks does not load.
  const provider = ctx.networks.for(parent.networkMode);
  const vmm = ctx.vmms.current;
  let handles: VmHandles | undefined;
  try {
    record.guestIp = (await provider.allocate({ id, name: record.name, nat: false })).guestIp;
    const network = await provider.attach(record);
    const spec = await launchSpec(ctx, record, image, network, op);
    handles = await vmm.start(
      {
        ...spec,
        memory: { file: files.memory, shared: true },
        restore: { stateFile: whole, ignoreShared: false },
      },
      { signal: op.signal, freePort: () => network.freePort() },
    );
    await snapshots.save(handles, files.state, op.signal);
  } finally {
    if (handles) await vmm.kill(handles);
    await vmm.cleanup(dir);
    await provider.detach(record).catch(() => undefined);
    await provider.release(record).catch(() => undefined);
  }
  // No fsync: a fork's copy lives only until its children run (a template's is kept).
}

/**
 * At daemon start: a parent a killed daemon left paused for a fork runs on, and a fork's
 * staging (its freezer QEMU killed first) is removed.
 */
export async function reconcileForks(ctx: VmContext): Promise<void> {
  for (const vm of ctx.store.vms.list()) {
    const pending = vmFiles(vm.dir).forkPending;
    if (
      !(await rm(pending).then(
        () => true,
        () => false,
      ))
    )
      continue;
    const handles = await liveHandles(ctx, vm);
    const snapshots = handles && ctx.vmms.forDriver(handles.driver).snapshots;
    if (handles && snapshots) {
      // A copy QEMU is still writing ends first: continuing the VM meanwhile would have the
      // migration's end stop it again.
      await saveEnded(snapshots, handles);
      if (await isPaused(ctx, vm)) await snapshots.resume(handles);
    }
    ctx.log.warn({ vm: vm.name }, 'a fork of it was cut short: it runs on');
  }
  const dir = join(ctx.layout.runtimeDir, FileName.forksDir);
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    await ctx.vmms.current
      .reap(join(dir, name), name.replace(STAGING_SUFFIX, ''))
      .catch((err: unknown) => ctx.log.warn({ err: errorMessage(err) }, 'fork leftover'));
    await rm(join(dir, name), { recursive: true, force: true });
  }
}
