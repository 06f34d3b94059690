import { z } from 'zod';
import { defineMethod } from './method.js';

const name = z.string().min(1).max(63);

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

export const kernelShow = defineMethod({
  name: 'kernel.show',
  params: z.strictObject({ name }),
  result: kernelSummary.extend({
    dir: z.string(),
    modulesDir: z.string().optional(),
    sha256: z.string(),
    usedBy: z.array(z.string()),
  }),
  onDisconnect: 'finish',
  progress: false,
});

export const kernelDelete = defineMethod({
  name: 'kernel.delete',
  params: z.strictObject({ name }),
  result: z.object({ name: z.string() }),
  onDisconnect: 'finish',
  progress: false,
});

export const kernelImport = defineMethod({
  name: 'kernel.import',
  params: z.strictObject({ name, from: z.string().startsWith('/', 'must be an absolute path') }),
  result: kernelSummary,
  onDisconnect: 'finish',
  progress: false,
});

export const kernelPull = defineMethod({
  name: 'kernel.pull',
  params: z.strictObject({ name, force: z.boolean().optional() }),
  result: kernelSummary,
  onDisconnect: 'cancel',
  progress: true,
});

/** The catalogs' kernels, each marked pulled when a local kernel has its name. */
export const kernelCatalog = defineMethod({
  name: 'kernel.catalog',
  params: z.strictObject({}).optional(),
  result: z.object({
    kernels: z.array(
      z.object({
        name: z.string(),
        description: z.string(),
        version: z.string(),
        sizeBytes: z.number().int().optional(),
        source: z.string(),
        local: z.boolean(),
        how: z.enum(['download', 'build']),
      }),
    ),
  }),
  onDisconnect: 'finish',
  progress: false,
});
