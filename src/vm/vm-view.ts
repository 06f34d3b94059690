import type { VmDetail, VmSummary } from '../protocol/vm.js';
import { vmFiles } from '../config/layout.js';
import type { VmView } from './lookup.js';

export function vmSummaryOf(view: VmView): VmSummary {
  const { vm } = view;
  return {
    id: vm.id,
    name: vm.name,
    // A record that says running while no process is ours was reconciled to stopped already.
    state: view.paused ? 'paused' : view.suspended ? 'suspended' : vm.state,
    image: view.image,
    vcpu: vm.vcpu,
    memoryMiB: vm.memoryMiB,
    diskBytes: vm.diskBytes,
    createdAt: vm.createdAt,
    ...(vm.sshPort > 0 ? { sshPort: vm.sshPort } : {}),
    ...(vm.lastError ? { error: vm.lastError } : {}),
    ...(vm.owner ? { owner: vm.owner } : {}),
  };
}

export function vmDetailOf(view: VmView): VmDetail {
  const { vm, handles } = view;
  return {
    ...vmSummaryOf(view),
    nat: vm.nat,
    egress: vm.egress,
    network: vm.networkMode,
    ...(vm.guestIp ? { guestIp: vm.guestIp } : {}),
    dir: vm.dir,
    consoleLog: handles?.consoleLog ?? vmFiles(vm.dir).consoleLog,
    updatedAt: vm.updatedAt,
    ...(handles
      ? {
          pid: handles.pid,
          vmm: `${handles.driver}/${handles.accel}`,
          startedAt: handles.startedAt,
        }
      : {}),
    ...(view.published?.length
      ? { published: view.published.map((p) => ({ guest: p.guestPort, host: p.hostPort })) }
      : {}),
  };
}
