import { rm } from 'node:fs/promises';
import { inKit, KitPath } from '../guest/kit/layout.js';
import { sshRun } from '../ssh/connection.js';
import type { VmRecord } from '../store/vms.js';
import type { VmContext } from './context.js';
import { unpinVmHostKey } from './host-key.js';
import { isPaused, liveHandles, sshTarget } from './lookup.js';
import { cleanupRuntime } from './reconcile.js';

/** Graceful stop: the guest gets this long to power off before the VMM is told to quit. */
export const STOP_TIMEOUT_MS = 20_000;

/**
 * Powers the guest off from inside: systemd's way where it runs, else (a pulled image booted
 * with the guest kit, whose PID 1 is a sleep) the disks synced and the kernel told directly.
 */
const POWEROFF = `if command -v systemctl >/dev/null 2>&1; then systemctl poweroff --no-block; else sync; ${inKit(KitPath.busybox)} poweroff -f; fi`;

export interface Stopped {
  name: string;
  wasRunning: boolean;
  /** vm stop --save: bytes of the saved state. */
  savedBytes?: number;
}

/**
 * Graceful: the guest powers off (asked over ssh, then the VMM's power button when it has
 * one), forced after a timeout. Caller holds the VM's lock; a stopped VM stays stopped.
 */
export async function stopVm(ctx: VmContext, vm: VmRecord): Promise<Stopped> {
  const handles = await liveHandles(ctx, vm);
  if (handles) {
    // A paused guest cannot power itself off: it runs again first.
    const vmm = ctx.vmms.forDriver(handles.driver);
    if (await isPaused(ctx, vm)) await vmm.snapshots?.resume(handles).catch(() => undefined);
    // The golden image has no ACPI power-button handler (logind is trimmed): ask over ssh.
    await sshRun(await sshTarget(ctx, vm), ['sh', '-c', POWEROFF], ctx.runner, {
      timeoutMs: 10_000,
    }).catch(() => undefined);
    if (vmm.capabilities.gracefulStop) await vmm.stop(handles, STOP_TIMEOUT_MS);
    else await vmm.kill(handles);
  }
  await cleanupRuntime(ctx, vm);
  ctx.store.vms.setState(vm.id, 'stopped', null);
  return { name: vm.name, wasRunning: handles !== undefined };
}

export async function killVm(ctx: VmContext, vm: VmRecord): Promise<Stopped> {
  const handles = await liveHandles(ctx, vm);
  if (handles) await ctx.vmms.forDriver(handles.driver).kill(handles);
  await cleanupRuntime(ctx, vm);
  ctx.store.vms.setState(vm.id, 'stopped', null);
  return { name: vm.name, wasRunning: handles !== undefined };
}

/**
 * Kills the VMM if it runs, gives back its network, removes the VM's directory and its
 * pinned host key, then its record. Caller holds the VM's lock.
 */
export async function destroy(ctx: VmContext, vm: VmRecord): Promise<void> {
  await killVm(ctx, vm);
  await ctx.networks.for(vm.networkMode).release(vm);
  await rm(vm.dir, { recursive: true, force: true });
  await unpinVmHostKey(ctx, vm);
  ctx.store.vms.delete(vm.id);
}
