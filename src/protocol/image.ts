import { z } from 'zod';
import { defineMethod, NOT_RUNNING } from './method.js';

const name = z.string().min(1).max(63);
const absolutePath = z.string().startsWith('/', 'must be an absolute path');

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

/** A warm-start template of the image: one VM size, booted once and saved. */
export const templateSummary = z.object({
  key: z.string(),
  vcpu: z.number().int(),
  memoryMiB: z.number().int(),
  diskBytes: z.number().int(),
  network: z.string(),
  createdAt: z.string(),
  bytes: z.number().int(),
  /** A new VM of that size resumes it now (false: made by another QEMU, key or file sync). */
  current: z.boolean(),
});
export type TemplateSummary = z.output<typeof templateSummary>;

const size = {
  vcpu: z.number().int().positive(),
  memoryMiB: z.number().int().positive(),
  diskBytes: z.number().int().positive(),
};

/**
 * `image warm`: the image's template for a VM size, made now (booting one VM) unless it
 * exists; cancelled with the client, leaving nothing. `remove` deletes the image's
 * templates instead (of that size when one is given).
 */
export const imageWarm = defineMethod({
  name: 'image.warm',
  params: z.strictObject({
    name,
    vcpu: size.vcpu.optional(),
    memoryMiB: size.memoryMiB.optional(),
    diskBytes: size.diskBytes.optional(),
    /** user or tap: templates are per network mode (default: network.mode). */
    network: z.enum(['user', 'tap']).optional(),
    remove: z.boolean().optional(),
  }),
  result: z.object({
    name: z.string(),
    template: templateSummary.optional(),
    removed: z.number().int().optional(),
  }),
  onDisconnect: 'cancel',
  progress: true,
});

export const imageDetail = imageSummary.extend({
  description: z.string(),
  source: z.string(),
  dir: z.string(),
  kernelFile: z.string().optional(),
  initrdFile: z.string().optional(),
  usedBy: z.array(z.string()),
  /** Its warm-start templates (VM sizes that resume instead of booting). */
  templates: z.array(templateSummary).optional(),
  /** For an image pulled from an OCI registry: what it was, and how its config runs things. */
  oci: z
    .object({
      reference: z.string(),
      digest: z.string(),
      env: z.array(z.string()),
      workingDir: z.string(),
      user: z.string(),
    })
    .optional(),
});

export const imageList = defineMethod({
  name: 'image.list',
  params: z.strictObject({}).optional(),
  result: z.object({ images: z.array(imageSummary) }),
  onDisconnect: 'finish',
  progress: false,
});

export const imageShow = defineMethod({
  name: 'image.show',
  params: z.strictObject({ name }),
  result: imageDetail,
  onDisconnect: 'finish',
  progress: false,
});

/** Cancelled with the client: a build leaves nothing behind but its apt cache. */
export const imageBuild = defineMethod({
  name: 'image.build',
  params: z.strictObject({
    name: name.optional(),
    sizeBytes: z.number().int().positive().optional(),
    packages: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/, 'not a Debian package name'))
      .optional(),
    mirror: z
      .string()
      .regex(/^(https?|file):\/\/\S+$/, 'not an http(s) or file URL')
      .optional(),
  }),
  result: imageSummary,
  onDisconnect: 'cancel',
  progress: true,
});

export const imageDelete = defineMethod({
  name: 'image.delete',
  params: z.strictObject({ name }),
  result: z.object({ name: z.string() }),
  onDisconnect: 'finish',
  progress: false,
});

export const imageRegister = defineMethod({
  name: 'image.register',
  params: z.strictObject({
    name,
    rootfs: absolutePath,
    kernelRef: name.optional(),
    kernel: absolutePath.optional(),
    initrd: absolutePath.optional(),
    modules: absolutePath.optional(),
  }),
  result: imageSummary,
  onDisconnect: 'finish',
  progress: false,
});

/** Cancelled with the client: the flattened copy is staged, so nothing is published. */
export const imagePromote = defineMethod({
  name: 'image.promote',
  /** `ref`: the VM whose system disk becomes the image; it must not be running. */
  params: z.strictObject({ ref: z.string().min(1).max(63), name }),
  result: imageSummary,
  onDisconnect: 'cancel',
  progress: true,
  vm: { states: NOT_RUNNING, lock: 'operation' },
});

/** From a catalog: a bundle download, or the entry's local build recipe. */
/** A catalog name or an OCI reference (`[registry/]repo[:tag|@sha256:…]`). */
export const imageRef = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[^\s-]\S*$/, 'not an image name or reference');

export const imagePull = defineMethod({
  name: 'image.pull',
  params: z.strictObject({
    name: imageRef,
    /** An OCI image's name, instead of the one derived from its reference. */
    as: name.optional(),
    sizeBytes: z.number().int().positive().optional(),
    kernelRef: name.optional(),
    kernel: absolutePath.optional(),
    initrd: absolutePath.optional(),
    modules: absolutePath.optional(),
  }),
  result: imageSummary,
  onDisconnect: 'cancel',
  progress: true,
});

export const imageExport = defineMethod({
  name: 'image.export',
  params: z.strictObject({ name, out: absolutePath }),
  result: z.object({ path: z.string(), sha256: z.string(), bytes: z.number().int() }),
  onDisconnect: 'cancel',
  progress: true,
});
