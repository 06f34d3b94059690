import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileName, vmFiles } from '../../config/layout.js';
import { BangerError, ErrorCode, errorMessage } from '../../errors.js';
import type { VmRecord } from '../../store/vms.js';
import { newId, Staging } from '../../system/atomic-publish.js';
import type { OpContext } from '../../system/operation.js';
import type { VmContext } from '../context.js';
import { reserveNames } from '../create.js';
import { isPaused, liveHandles, sshTarget, type VmView } from '../lookup.js';
import { copyDisk } from '../disks.js';
import { findBootId } from '../warm/boot-id.js';
import { startHook, stopHook } from '../warm/guest-hook.js';
import { restoreVm } from '../warm/restore.js';
import { templateFiles } from '../warm/templates.js';

// vm fork: copies of a running VM, memory and disks, each resumed as a new VM. The copy is
// made the way a warm start's template is kept — a RAM file and device state alone — so the
// children resume from it exactly as warm VMs do (copy-on-write RAM shared between them, own
// disks, own identity through the hook, which is started in the parent just before the copy
// and stopped in it after). The parent is paused only while its device state is saved, the
// pages of RAM that are its own are read out (Snapshots.copyMemory: a RAM file it maps is
// copied before the pause) and its disks are copied; then it runs on.

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
  const names = reserveNames(ctx, parent.name, request);
  const id = newId();
  const staging = await Staging.create(join(ctx.layout.runtimeDir, FileName.forksDir), id);
  const files = templateFiles(staging.dir);
  const pending = vmFiles(parent.dir).forkPending;
  try {
    const target = await sshTarget(ctx, parent);
    op.progress('fork', `preparing ${parent.name}`);
    const who = `vm "${parent.name}"`;
    const bootId = await startHook(target, ctx.runner, who);

    // The parent's pause: its device state, its own pages of RAM and its disks copied.
    const memory = await snapshots.copyMemory(handles, files.memory);
    const pausedAt = Date.now();
    let pausedMs = 0;
    let written: [number, number][] = [];
    await writeFile(pending, '');
    try {
      await snapshots.pause(handles);
      await snapshots.saveDevices(handles, files.state);
      written = await memory.finish();
      await copyDisk(vmFiles(parent.dir).systemDisk, files.systemDisk, ctx.runner);
      await copyDisk(vmFiles(parent.dir).workDisk, files.workDisk, ctx.runner);
    } finally {
      await snapshots.resume(handles);
      pausedMs = Date.now() - pausedAt;
      await rm(pending, { force: true });
      // The parent's hook goes whatever happened (it would hold the data port).
      await stopHook(target, ctx.runner, who).catch((err: unknown) =>
        ctx.log.warn({ vm: parent.name, err: errorMessage(err) }, 'hook left'),
      );
    }
    op.progress('fork', `${parent.name} paused ${pausedMs} ms`);
    const searchedAt = Date.now();
    const bootIdSites = await findBootId(files.memory, bootId, written);
    const searchMs = Date.now() - searchedAt;

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
              egress: parent.egress,
              // A child belongs to whoever the parent belongs to (an MCP session's fork).
              owner: parent.owner ?? undefined,
            },
            ports: [],
          },
          { files, meta: { key: id, bootIdSites }, devicesOnly: true },
          snapshots,
          op,
        ),
      );
      ctx.creating.delete(name);
    }
    ctx.log.info({ vm: parent.name, children: names, pausedMs, searchMs }, 'vm forked');
    return { children, pausedMs };
  } finally {
    for (const name of names) ctx.creating.delete(name);
    await staging.discard();
  }
}

/** At daemon start: a parent a killed daemon left paused for a fork runs on; its copy goes. */
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
    if (handles && snapshots && (await isPaused(ctx, vm))) await snapshots.resume(handles);
    ctx.log.warn({ vm: vm.name }, 'a fork of it was cut short: it runs on');
  }
  const dir = join(ctx.layout.runtimeDir, FileName.forksDir);
  for (const name of await readdir(dir).catch(() => [] as string[]))
    await rm(join(dir, name), { recursive: true, force: true });
}
