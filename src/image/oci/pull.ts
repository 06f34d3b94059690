import { createReadStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CacheName, ImageFileName, type Layout } from '../../config/layout.js';
import { formatSizeApprox } from '../../config/size.js';
import { applyOwnership, buildExt4 } from '../../disk/ext4.js';
import { BangerError, ErrorCode } from '../../errors.js';
import type { ImageRecord } from '../../store/images.js';
import type { KernelRecord } from '../../store/kernels.js';
import type { Store } from '../../store/store.js';
import { newId, Staging } from '../../system/atomic-publish.js';
import type { OpContext } from '../../system/operation.js';
import type { Runner } from '../../system/runner.js';
import { roomOn } from '../../system/disk-full.js';
import { removeWorkDir } from '../../system/work-dir.js';
import { BlobCache } from './blob-cache.js';
import { flattenLayers, imageSizeFor } from './flatten-layers.js';
import { layerProgress } from './layer-progress.js';
import { formatReference, imageNameFor, parseReference } from './reference.js';
import { RegistryClient } from './registry.js';
import { displayReference } from './registry-request.js';

export interface OciPullDeps {
  layout: Layout;
  store: Store;
  runner: Runner;
  /** Registries (host[:port]) reached over plain HTTP; loopback always is. */
  insecureRegistries: readonly string[];
  /** Where a reference without a registry goes (Docker Hub unless configured). */
  defaultRegistry?: string | undefined;
  /** The kernel a pulled image boots: banger's default one (pulled or built if missing). */
  kernel(op: OpContext): Promise<KernelRecord>;
  /** Where credentials are looked up; the daemon's environment and home by default. */
  credentials?: { env?: NodeJS.ProcessEnv; home?: string };
}

export interface OciPullRequest {
  reference: string;
  /** The image's name; derived from the reference when not given (`debian:bookworm` → `debian-bookworm`). */
  name?: string | undefined;
  sizeBytes?: number | undefined;
}

/** The name an image pulled by `reference` gets unless the caller names it. */
export function ociImageName(reference: string): string {
  return imageNameFor(parseReference(reference));
}

/** The image an earlier pull of `reference` made under its derived name, if any. */
export function findPulled(store: Store, reference: string): ImageRecord | undefined {
  let name: string;
  try {
    name = ociImageName(reference);
  } catch {
    return undefined; // not a reference either: the pull says why
  }
  const image = store.images.findByName(name);
  return image?.oci ? image : undefined;
}

/**
 * `image pull REF` for an OCI reference: the linux/amd64 manifest and config resolved, the
 * layers fetched into the blob cache (verified, in parallel, resumable), flattened in order
 * into a scratch tree, then an ext4 with the owners the layers say, published with the
 * image's record. Nothing is published, and no unverified blob is kept, unless every step
 * succeeded; verified blobs stay cached for the next pull.
 */
export async function pullOciImage(
  deps: OciPullDeps,
  request: OciPullRequest,
  op: OpContext,
): Promise<ImageRecord> {
  const { layout, store, runner } = deps;
  const ref = parseReference(request.reference, deps.defaultRegistry);
  const shown = displayReference(ref);
  const name = request.name ?? imageNameFor(ref);
  if (store.images.findByName(name))
    throw new BangerError(ErrorCode.AlreadyExists, `image "${name}" already exists`, {
      hint: `"banger image rm ${name}" first to pull it again, or give another --name`,
    });
  const client = new RegistryClient({
    insecure: deps.insecureRegistries,
    credentials: deps.credentials ?? { env: process.env, home: homedir() },
  });
  try {
    op.progress('resolve', shown);
    const image = await client.resolve(ref, op.signal);
    const total = image.layers.reduce((n, l) => n + l.size, 0);
    op.progress(
      'download',
      `${image.layers.length} layers, ${formatSizeApprox(total)} (${image.digest.slice(0, 19)})`,
    );
    const cache = new BlobCache(join(layout.cacheDir, ...CacheName.ociBlobs.split('/')));
    const paths = await cache.fetchAll(image.layers, client.blobSource(ref), {
      signal: op.signal,
      onProgress: layerProgress(op, image.layers),
    });
    const kernel = await deps.kernel(op);

    const id = newId();
    const staging = await Staging.create(layout.imagesDir, id);
    const workDir = join(layout.cacheDir, CacheName.build, id);
    try {
      const tree = join(workDir, 'tree');
      await mkdir(tree, { recursive: true });
      op.progress('flatten', `${image.layers.length} layers`);
      const room = await roomOn(tree);
      const flat = await flattenLayers(
        image.layers.map((layer, i) => ({
          digest: layer.digest,
          mediaType: layer.mediaType,
          open: () => createReadStream(paths[i]!),
        })),
        tree,
        {
          runner,
          signal: op.signal,
          room: {
            bytes: room.bytes,
            tooBig: (bytes) =>
              new BangerError(
                ErrorCode.DiskFull,
                `${shown} unpacks to more than the disk holding banger's cache can take: past ${formatSizeApprox(bytes)}, with ${formatSizeApprox(room.bytes)} free on ${room.mountPoint}${room.source ? ` (${room.source})` : ''} besides the ${formatSizeApprox(room.reserve)} kept for the host; nothing was kept`,
                {
                  hint: `free space on ${room.mountPoint}, or move banger's cache (XDG_CACHE_HOME) to a bigger disk`,
                },
              ),
          },
        },
      );
      // The tree is complete here: refuse it before an ext4 is made of it.
      if (!flat.hasShell)
        throw new BangerError(
          ErrorCode.Config,
          `${shown} cannot become a banger image: it has no /bin/sh`,
          {
            hint: 'banger runs commands with /bin/sh: the image needs a shell there (a file, or a symlink that leads to one inside the image, such as busybox or dash)',
          },
        );
      const size = imageSizeFor(flat.treeBytes, request.sizeBytes);
      op.progress('ext4', `${Math.round(size / 2 ** 20)} MiB file system`);
      const rootfs = join(staging.dir, ImageFileName.rootfs);
      await buildExt4(tree, rootfs, size, runner);
      // As root the extraction chowned every file already; otherwise debugfs sets owners.
      if (process.getuid?.() !== 0) {
        op.progress('ownership', 'setting owners and modes with debugfs');
        await applyOwnership(rootfs, flat.metadata, runner);
      }
      op.signal.throwIfAborted();
      op.progress('publish', `image ${name}`);
      return await staging.publishWith(async (dir) => {
        const record: ImageRecord = {
          id,
          name,
          managed: true,
          distro: '',
          arch: 'x86_64',
          description: `${shown} (${image.digest.slice(0, 19)})`,
          source: `oci:${formatReference(ref)}`,
          dir,
          rootfsFile: join(dir, ImageFileName.rootfs),
          sizeBytes: (await stat(join(dir, ImageFileName.rootfs))).size,
          kernelId: kernel.id,
          createdAt: new Date().toISOString(),
          oci: {
            reference: formatReference(ref),
            digest: image.digest,
            env: image.config.env,
            workingDir: image.config.workingDir ?? '',
            user: image.config.user ?? '',
          },
        };
        store.images.insert(record);
        return record;
      });
    } finally {
      await removeWorkDir(workDir, runner);
      await staging.discard();
    }
  } finally {
    await client.close();
  }
}
