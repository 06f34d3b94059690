import type { VmHandles } from '../vmm.js';

/**
 * A QEMU VM's handles as handles.json holds them, or undefined when a field is missing or
 * of the wrong type (a file that is not ours counts as no handles). `dataSocket` is
 * optional: VMs started before banger had the data port still parse, and copy over ssh;
 * `egressPort` too (user-mode VMs with NAT, tap VMs, VMs from before egress have none).
 */
export function parseQemuHandles(v: Record<string, unknown>): VmHandles | undefined {
  const str = (k: string) => (typeof v[k] === 'string' && v[k] !== '' ? v[k] : undefined);
  const int = (k: string) =>
    typeof v[k] === 'number' && Number.isInteger(v[k]) && v[k] > 0 ? v[k] : undefined;
  const accel = str('accel');
  const pid = int('pid');
  const sshPort = int('sshPort');
  const controlSocket = str('controlSocket');
  const consoleLog = str('consoleLog');
  const startedAt = str('startedAt');
  if (
    v.driver !== 'qemu' ||
    (accel !== 'kvm' && accel !== 'tcg') ||
    !pid ||
    !sshPort ||
    !controlSocket ||
    !consoleLog ||
    !startedAt
  )
    return undefined;
  const dataSocket = str('dataSocket');
  const egressPort = int('egressPort');
  return {
    ...{ driver: 'qemu', accel, pid, sshPort, controlSocket, consoleLog, startedAt },
    ...(dataSocket ? { dataSocket } : {}),
    ...(egressPort ? { egressPort } : {}),
  };
}
