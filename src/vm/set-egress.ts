import { formatEgress, parseEgress } from '../egress/policy.js';
import { BangerError, ErrorCode } from '../errors.js';
import type { VmRecord } from '../store/vms.js';
import type { VmContext } from './context.js';
import { findVm, viewOf, type VmView } from './lookup.js';

/**
 * `vm set --egress`: the VM's new egress (caller holds its lock). The proxy reads it at the
 * next connection (open tunnels run on); a running tap VM's NAT rule follows at once. A
 * running user-mode VM keeps the restriction QEMU booted it with, so it cannot switch to or
 * from `all` until it is stopped.
 */
export async function setEgress(ctx: VmContext, vm: VmRecord, text: string): Promise<VmView> {
  const egress = formatEgress(parseEgress(text));
  const nat = egress === 'all';
  const running = ctx.handles.peek(vm.id) !== undefined || vm.state === 'running';
  if (running && nat !== vm.nat) {
    if (vm.networkMode === 'user')
      throw new BangerError(
        ErrorCode.Conflict,
        `vm "${vm.name}" runs with user-mode networking, where egress ${vm.egress} → ${egress} applies only at boot`,
        { hint: `banger vm stop ${vm.name}, then set it, then banger vm start ${vm.name}` },
      );
    await ctx.networks.for(vm.networkMode).setNat?.(vm.id, nat);
  }
  if (parseEgress(egress).kind === 'list' && vm.networkMode === 'user') ctx.egressCheck?.();
  ctx.store.vms.setEgress(vm.id, egress);
  return viewOf(ctx, findVm(ctx, vm.id));
}
