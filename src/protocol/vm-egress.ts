import { z } from 'zod';
import { ANY_STATE, defineMethod } from './method.js';
import { ref, vmDetail } from './vm.js';

/**
 * `vm set NAME --egress …`: what the guest may reach outside, changed in any state. The
 * proxy reads a VM's list at each new connection; a running tap VM's rules follow at once;
 * a running user-mode VM cannot switch to or from `all` (QEMU fixes that at boot).
 */
export const vmEgressSet = defineMethod({
  name: 'vm.egress.set',
  params: z.strictObject({ ref, egress: z.string().min(1).max(4096) }),
  result: vmDetail,
  onDisconnect: 'finish',
  progress: false,
  vm: { states: ANY_STATE, lock: 'operation' },
});
