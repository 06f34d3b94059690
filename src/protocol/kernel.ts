import { z } from 'zod';
import { defineMethod } from './method.js';

export const kernelSummary = z.object({
  id: z.string(),
  name: z.string(),
  version: z.string(),
  source: z.string(),
  kernel: z.string(),
  initrd: z.string().optional(),
  createdAt: z.string(),
});
export type KernelSummary = z.output<typeof kernelSummary>;

export const kernelList = defineMethod({
  name: 'kernel.list',
  params: z.strictObject({}).optional(),
  result: z.object({ kernels: z.array(kernelSummary) }),
  onDisconnect: 'finish',
  progress: false,
});
