import type { ImageSummary } from '../protocol/image.js';
import type { KernelSummary } from '../protocol/kernel.js';
import type { ImageRecord } from '../store/images.js';
import type { KernelRecord } from '../store/kernels.js';

/** Store records → the shapes the protocol answers with. */
export function imageSummary(
  img: ImageRecord,
  kernelName: (id: string) => string | undefined,
): ImageSummary {
  const kernel = img.kernelId ? (kernelName(img.kernelId) ?? img.kernelId) : undefined;
  return {
    id: img.id,
    name: img.name,
    managed: img.managed,
    distro: img.distro,
    arch: img.arch,
    ...(kernel ? { kernel } : {}),
    sizeBytes: img.sizeBytes,
    createdAt: img.createdAt,
    rootfs: img.rootfsFile,
  };
}

export function kernelSummary(k: KernelRecord): KernelSummary {
  return {
    id: k.id,
    name: k.name,
    version: k.version,
    source: k.source,
    kernel: k.kernelFile,
    ...(k.initrdFile ? { initrd: k.initrdFile } : {}),
    createdAt: k.createdAt,
  };
}
