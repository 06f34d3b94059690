import { BangerError, ErrorCode } from '../errors.js';
import type { VmRecord } from '../store/vms.js';
import type { Snapshots, VmHandles } from '../vmm/vmm.js';
import type { VmContext } from './context.js';
import { findVm, liveHandles, viewOf, type VmView } from './lookup.js';

// vm pause / vm resume: the VM's vCPUs stop and continue; its memory, its processes, the
// ssh master and its forwarded ports stay as they are. Whether a VM is paused is asked of
// the VMM each time (lookup.isPaused), never recorded: a daemon restart cannot get it wrong.

/** Caller holds the VM's lock and has checked it runs and is not paused. */
export async function pauseVm(ctx: VmContext, vm: VmRecord): Promise<VmView> {
  const { handles, snapshots } = await snapshotsOf(ctx, vm, 'pause');
  await snapshots.pause(handles);
  return viewOf(ctx, findVm(ctx, vm.id));
}

/** Caller holds the VM's lock and has checked it is paused. */
export async function resumeVm(ctx: VmContext, vm: VmRecord): Promise<VmView> {
  const { handles, snapshots } = await snapshotsOf(ctx, vm, 'resume');
  await snapshots.resume(handles);
  return viewOf(ctx, findVm(ctx, vm.id));
}

/** The running VM's handles and its driver's snapshot capability, or why there are none. */
export async function snapshotsOf(
  ctx: VmContext,
  vm: VmRecord,
  what: string,
): Promise<{ handles: VmHandles; snapshots: Snapshots }> {
  const handles = await liveHandles(ctx, vm);
  if (!handles)
    throw new BangerError(ErrorCode.Conflict, `vm "${vm.name}" is not running`, {
      hint: `start it first: banger vm start ${vm.name}`,
    });
  const snapshots = ctx.vmms.forDriver(handles.driver).snapshots;
  if (!snapshots)
    throw new BangerError(
      ErrorCode.NotImplemented,
      `vm "${vm.name}" runs on ${handles.driver}, which cannot ${what} a VM`,
    );
  return { handles, snapshots };
}

/** How long a save another operation started may still run before it counts as failed. */
const SAVE_WAIT_MS = 120_000;

/**
 * Waits for a save of the VM that may still be running to end (never continue a VM while
 * QEMU migrates it: the migration's end would stop it again); true when it completed.
 */
export function saveEnded(snapshots: Snapshots, handles: VmHandles): Promise<boolean> {
  return snapshots.saveCompleted(handles, AbortSignal.timeout(SAVE_WAIT_MS)).catch(() => false);
}
