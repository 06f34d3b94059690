import { z } from 'zod';
import { imageRef } from './image.js';
import { defineMethod, PAUSED, RUNNING } from './method.js';
import { ref, spec, vmDetail } from './vm.js';

// The methods of warm start, pause and fork: how a create would start, and what is done to
// a running VM's memory. (vm stop --save and vm start --cold are vm.stop's and vm.start's.)

/**
 * How a create with these params would start the VM: `warm` when its image is local and
 * has a template of that size (for the CLI's spec: line), else `cold`. Reads only.
 */
export const vmPlan = defineMethod({
  name: 'vm.plan',
  params: z.strictObject({
    image: imageRef.optional(),
    ...spec,
    network: z.enum(['user', 'tap']).optional(),
    cold: z.boolean().optional(),
  }),
  result: z.object({ start: z.enum(['warm', 'cold']) }),
  onDisconnect: 'finish',
  progress: false,
});

/**
 * Copies of a running VM, memory and disks, each a new VM with its own identity: `names`,
 * or `count` children named <parent>-1, <parent>-2… The parent is paused only while it is
 * copied. Finished when the client goes: a fork half-done would leave a paused parent.
 */
export const vmFork = defineMethod({
  name: 'vm.fork',
  params: z.strictObject({
    ref,
    names: z.array(z.string().min(1).max(63)).min(1).max(16).optional(),
    count: z.number().int().min(1).max(16).optional(),
  }),
  result: z.object({ children: z.array(vmDetail), pausedMs: z.number().int() }),
  onDisconnect: 'finish',
  progress: true,
  vm: { states: RUNNING, lock: 'operation' },
});

/** vCPUs stopped, memory and processes kept; the ssh master and ports stay open. */
export const vmPause = defineMethod({
  name: 'vm.pause',
  params: z.strictObject({ ref }),
  result: vmDetail,
  onDisconnect: 'finish',
  progress: false,
  vm: { states: RUNNING, lock: 'operation' },
});

export const vmResume = defineMethod({
  name: 'vm.resume',
  params: z.strictObject({ ref }),
  result: vmDetail,
  onDisconnect: 'finish',
  progress: false,
  vm: { states: PAUSED, lock: 'operation' },
});
