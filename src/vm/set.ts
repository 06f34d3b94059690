import { vmFiles } from '../config/layout.js';
import { formatSize } from '../config/size.js';
import { BangerError, ErrorCode } from '../errors.js';
import type { VmRecord } from '../store/vms.js';
import type { VmContext } from './context.js';
import { growWorkDisk } from './disks.js';
import { findVm, viewOf, type VmView } from './lookup.js';
import { validateSpec } from './spec.js';

export interface SpecChange {
  vcpu?: number | undefined;
  memoryMiB?: number | undefined;
  diskBytes?: number | undefined;
}

/** `vm set`: a new size for a VM that is not running (caller holds its lock). */
export async function setVm(ctx: VmContext, vm: VmRecord, change: SpecChange): Promise<VmView> {
  const next = {
    vcpu: change.vcpu ?? vm.vcpu,
    memoryMiB: change.memoryMiB ?? vm.memoryMiB,
    diskBytes: change.diskBytes ?? vm.diskBytes,
  };
  validateSpec(next, 'vm.set');
  if (next.diskBytes < vm.diskBytes)
    throw new BangerError(
      ErrorCode.InvalidParams,
      `the work disk only grows: vm "${vm.name}" has ${formatSize(vm.diskBytes)}, asked for ${formatSize(next.diskBytes)}`,
      { hint: `give --disk-size ${formatSize(vm.diskBytes)} or more` },
    );
  if (next.diskBytes > vm.diskBytes)
    await growWorkDisk(vmFiles(vm.dir).workDisk, next.diskBytes, ctx.runner);
  ctx.store.vms.setSpec(vm.id, next);
  return viewOf(ctx, findVm(ctx, vm.id));
}
