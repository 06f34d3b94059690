import { z } from 'zod';
import { defineMethod } from './method.js';

export const imageSummary = z.object({
  id: z.string(),
  name: z.string(),
  managed: z.boolean(),
  distro: z.string(),
  arch: z.string(),
  kernel: z.string().optional(),
  sizeBytes: z.number().int(),
  createdAt: z.string(),
  rootfs: z.string(),
});
export type ImageSummary = z.output<typeof imageSummary>;

export const imageList = defineMethod({
  name: 'image.list',
  params: z.strictObject({}).optional(),
  result: z.object({ images: z.array(imageSummary) }),
  onDisconnect: 'finish',
  progress: false,
});
