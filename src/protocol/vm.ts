import { z } from 'zod';
import { defineMethod } from './method.js';

export const vmState = z.enum(['created', 'running', 'stopped', 'error', 'broken']);

/** One row of `vm list`: a VM whose state cannot be read is 'broken' with its error. */
export const vmSummary = z.object({
  id: z.string(),
  name: z.string(),
  state: vmState,
  image: z.string(),
  vcpu: z.number().int(),
  memoryMiB: z.number().int(),
  diskBytes: z.number().int(),
  createdAt: z.string(),
  error: z.string().optional(),
});
export type VmSummary = z.output<typeof vmSummary>;

export const vmList = defineMethod({
  name: 'vm.list',
  params: z.strictObject({}).optional(),
  result: z.object({ vms: z.array(vmSummary) }),
  onDisconnect: 'finish',
  progress: false,
});

/** Names only, for shell completion: no per-VM inspection, as cheap as the store read. */
export const vmNames = defineMethod({
  name: 'vm.names',
  params: z.strictObject({}).optional(),
  result: z.object({ names: z.array(z.string()) }),
  onDisconnect: 'cancel',
  progress: false,
});
