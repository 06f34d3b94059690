import { errorMessage } from '../errors.js';
import { exitMaster } from '../ssh/connection.js';
import { hostKeyAlias, keepOnlyPins } from '../ssh/known-hosts.js';
import type { VmRecord } from '../store/vms.js';
import type { VmContext } from './context.js';
import { sshTarget, vmAlive } from './lookup.js';
import { restoreForwards } from './ports.js';
import { reconcileSave } from './suspend.js';

/**
 * Brings one record in line with reality: a VM recorded running whose process is gone has
 * its leftovers (VMM runtime files, ssh master, handles.json) removed and becomes stopped.
 * Called at daemon start for every VM and whenever a read finds one dead. Caller holds the
 * VM's lock.
 */
export async function reconcile(ctx: VmContext, vm: VmRecord, atStart = false): Promise<VmRecord> {
  // A VM the store calls stopped is only looked for in the OS at daemon start (a daemon
  // killed between a launch and its bookkeeping); reads do not scan /proc for it.
  const look = atStart || vm.state === 'running' || vm.state === 'created';
  if ((await vmAlive(ctx, vm)) || (look && (await adopt(ctx, vm)))) {
    if (vm.state !== 'running') ctx.store.vms.setState(vm.id, 'running', vm.lastError);
    return ctx.store.vms.find(vm.id) ?? vm;
  }
  const stale = vm.state === 'running' || vm.state === 'created';
  // A stopped VM has nothing to clean unless a crash left its handles behind.
  if (stale || (await ctx.handles.has(vm))) await cleanupRuntime(ctx, vm);
  if (stale) {
    ctx.log.info({ vm: vm.name }, 'vm process is gone: marking it stopped');
    ctx.store.vms.setState(vm.id, 'stopped', vm.lastError);
  }
  return ctx.store.vms.find(vm.id) ?? vm;
}

/**
 * A VM whose handles.json is missing or damaged but whose VMM still runs (found by the
 * driver from the OS: QEMU's `-name`) gets its handles back instead of being orphaned.
 */
async function adopt(ctx: VmContext, vm: VmRecord): Promise<boolean> {
  if (await ctx.handles.has(vm)) return false;
  const handles = await ctx.vmms.current.adopt?.(vm.dir, vm.id);
  if (!handles) return false;
  await ctx.handles.set(vm, handles);
  ctx.log.warn(
    { vm: vm.name, pid: handles.pid },
    'found the VM running without its handles: adopted',
  );
  return true;
}

/**
 * At daemon start: every VM, then every network provider with the VMs that exist, then the
 * pinned host keys (a create or delete cut short may have left a line of a VM that is gone),
 * then the published ports of the running ones.
 */
export async function reconcileAll(ctx: VmContext): Promise<void> {
  for (const vm of ctx.store.vms.list()) {
    await ctx.locks
      .run(vm.id, async () => {
        const current = await reconcile(ctx, vm, true);
        await reconcileSave(ctx, current);
      })
      .catch((err: unknown) =>
        ctx.log.warn({ vm: vm.name, err: errorMessage(err) }, 'reconcile failed'),
      );
  }
  const vms = ctx.store.vms.list();
  for (const network of ctx.networks.all())
    await network
      .reconcile(vms)
      .catch((err: unknown) =>
        ctx.log.warn({ network: network.mode, err: errorMessage(err) }, 'reconcile failed'),
      );
  await keepOnlyPins(ctx.layout.knownHosts, new Set(vms.map((vm) => hostKeyAlias(vm.name)))).catch(
    (err: unknown) => ctx.log.warn({ err: errorMessage(err) }, 'known_hosts reconcile failed'),
  );
  await restoreForwards(ctx);
}

/** Removes what a VMM run leaves behind; safe on a VM that never ran. */
export async function cleanupRuntime(ctx: VmContext, vm: VmRecord): Promise<void> {
  const handles = await ctx.handles.get(vm);
  await exitMaster(await sshTarget(ctx, vm), ctx.runner).catch(() => undefined);
  await ctx.vmms.forDriver(handles?.driver ?? ctx.vmms.current.driver).cleanup(vm.dir);
  await ctx.networks.for(vm.networkMode).detach(vm);
  await ctx.forwards.release(vm.id);
  await ctx.handles.drop(vm);
}
