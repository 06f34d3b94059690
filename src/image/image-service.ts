import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { ImageFileName, type Layout } from '../config/layout.js';
import { BangerError, ErrorCode } from '../errors.js';
import type { Store } from '../store/store.js';
import type { ImageRecord } from '../store/images.js';
import type { KernelRecord } from '../store/kernels.js';
import { newId, Staging } from '../system/atomic-publish.js';
import { KeyedMutex } from '../system/mutex.js';
import { downloadProgress, type OpContext } from '../system/operation.js';
import { sha256File } from '../system/sha256.js';
import type { Runner } from '../system/runner.js';
import type { BuildRequest } from './build.js';
import type { PromoteSource } from './promote.js';
import { isExt4, plural, regularFile } from './file-checks.js';
import { EMBEDDED_KERNELS } from '../catalog/embedded.js';

export type { BuildRequest } from './build.js';

/** The kernel an image pulled from a registry boots when the default image has none yet. */
const DEFAULT_KERNEL = EMBEDDED_KERNELS.entries[0]!.name;

export interface ImageDeps {
  layout: Layout;
  store: Store;
  config: Config;
  runner: Runner;
  log: Logger;
}

export interface RegisterRequest {
  name: string;
  rootfs: string;
  kernelRef?: string;
  kernel?: string;
  initrd?: string;
  modules?: string;
}

export interface PullRequest {
  /** A catalog entry's name, or an OCI reference (a catalog miss falls through to OCI). */
  name: string;
  /** The name an OCI image gets (default: derived from the reference). */
  as?: string;
  /** The ext4 size for an OCI image (default: its tree × 1.5, at least 1 GiB). */
  sizeBytes?: number;
  kernelRef?: string;
  kernel?: string;
  initrd?: string;
  modules?: string;
}

/** Who pulls a kernel the image needs (the kernel service; optional to keep tests small). */
export interface KernelPuller {
  pull(name: string, force: boolean, ctx: OpContext): Promise<KernelRecord>;
}

// Catalogs (undici), bundles (tar-stream) and the golden build are imported when an operation
// needs them: an idle daemon never loads them (BENCHMARKS.md, idle RSS).

/** Image use cases that need no catalog: list, show, delete, register, and the golden build. */
export class ImageService {
  /** One operation per image name at a time (two builds of one name would race to publish). */
  readonly locks = new KeyedMutex();

  constructor(
    private readonly deps: ImageDeps,
    private readonly kernels?: KernelPuller,
  ) {}

  get(name: string): ImageRecord {
    const image = this.deps.store.images.findByName(name);
    if (!image)
      throw new BangerError(ErrorCode.NotFound, `image "${name}" not found`, {
        hint: `"banger image ls" lists local images; "banger image pull ${name}" fetches or builds one from the catalog`,
      });
    return image;
  }

  async delete(name: string): Promise<void> {
    await this.locks.run(name, async () => {
      const image = this.get(name);
      const users = this.deps.store.vms.usingImage(image.id);
      if (users.length > 0)
        throw new BangerError(
          ErrorCode.Conflict,
          `image "${name}" is used by ${plural(users.length, 'VM')}: ${users.join(', ')}`,
          {
            hint: `delete ${users.length === 1 ? 'that VM' : 'those VMs'} first ("banger vm delete ${users.join(' ')}")`,
          },
        );
      this.deps.store.images.delete(image.id);
      if (image.managed) await rm(image.dir, { recursive: true, force: true });
      // A kernel registered in place for this image alone goes with it.
      const kernel = image.kernelId ? this.deps.store.kernels.findById(image.kernelId) : undefined;
      if (kernel && !kernel.managed && this.deps.store.kernels.usedBy(kernel.id).length === 0)
        this.deps.store.kernels.delete(kernel.id);
    });
  }

  /** The golden build (build.ts), under this name's lock. */
  async build(request: BuildRequest, ctx: OpContext): Promise<ImageRecord> {
    const name = request.name ?? this.deps.config.defaultImageName;
    const { buildImage, recipeFor } = await import('./build.js');
    const recipe = await recipeFor(name, this.deps.config, ctx.signal);
    return this.locks.run(name, () => buildImage(this.deps, name, recipe, request, ctx));
  }

  /**
   * From the catalogs: a bundle is downloaded (sha256-checked, published atomically), an entry
   * with a recipe is built. The bundle's kernel: --kernel-ref > the entry's > the manifest's >
   * kernel files; a missing kernel that is in the kernel catalog is pulled first.
   */
  async pull(request: PullRequest, ctx: OpContext): Promise<ImageRecord> {
    const { store, config, layout, runner } = this.deps;
    const { findEntry, loadCatalogs } = await import('../catalog/sources.js');
    const { isValidName } = await import('../config/names.js');
    // A reference with a registry, tag or digest can be no catalog name.
    if (!isValidName(request.name)) return this.pullOci(request, ctx);
    const catalogs = await loadCatalogs('images', config.catalog.images, { signal: ctx.signal });
    const hit = findEntry(catalogs, request.name);
    if (!hit) {
      ctx.progress('resolve', `${request.name} is in no catalog: pulling it from a registry`);
      return this.pullOci(request, ctx).catch((err: unknown) => {
        throw err instanceof BangerError && err.code !== ErrorCode.Cancelled
          ? new BangerError(
              err.code,
              `image "${request.name}" is in no catalog, and ${err.message}`,
              {
                hint: `searched: ${catalogs.map((c) => c.source).join(', ')}; add a catalog under [catalog] images in ${layout.configFile}, or give a registry reference`,
              },
            )
          : err;
      });
    }
    const { entry, source } = hit;
    if (!entry.tarballUrl) {
      if (entry.recipe) {
        ctx.progress(
          'resolve',
          `${request.name}: no bundle in ${source}; building it from the ${entry.recipe} recipe`,
        );
        return this.build({ name: request.name }, ctx);
      }
      throw new BangerError(
        ErrorCode.Config,
        `catalog ${source}: entry "${request.name}" has neither tarball_url nor recipe`,
      );
    }
    const url = entry.tarballUrl;
    return this.locks.run(request.name, async () => {
      if (store.images.findByName(request.name))
        throw new BangerError(ErrorCode.AlreadyExists, `image "${request.name}" already exists`, {
          hint: `"banger image rm ${request.name}" first to pull it again`,
        });
      const id = newId();
      const staging = await Staging.create(layout.imagesDir, id);
      try {
        // Extracted as it arrives; nothing is published until the sha256 and size checked out.
        ctx.progress('download', `${url} (extracting rootfs.ext4 as it arrives)`);
        const { fetchBundle } = await import('../catalog/bundle.js');
        const { manifest } = await fetchBundle(url, staging.dir, runner, {
          ...(entry.tarballSha256 ? { sha256: entry.tarballSha256 } : {}),
          ...(entry.sizeBytes ? { expectedBytes: entry.sizeBytes } : {}),
          signal: ctx.signal,
          onProgress: downloadProgress(ctx),
        });
        await rm(join(staging.dir, 'manifest.json'), { force: true });
        const kernelRef = request.kernelRef ?? entry.kernelRef ?? manifest.kernelRef;
        const kernel =
          kernelRef && !request.kernel
            ? await this.kernelOrPull(kernelRef, ctx)
            : request.kernel
              ? await this.kernelInPlace({ ...request, name: request.name, rootfs: '' })
              : undefined;
        if (!kernel)
          throw new BangerError(ErrorCode.InvalidParams, `bundle ${url} names no kernel`, {
            hint: 'give --kernel-ref NAME (or --kernel FILE)',
          });
        ctx.progress('publish', `image ${request.name}`);
        return await staging.publishWith(async (dir) => {
          const record: ImageRecord = {
            id,
            name: request.name,
            managed: true,
            distro: entry.distro ?? manifest.distro ?? '',
            arch: entry.arch ?? manifest.arch ?? 'x86_64',
            description: entry.description ?? manifest.description ?? '',
            source: `pull:${url}`,
            dir,
            rootfsFile: join(dir, ImageFileName.rootfs),
            sizeBytes: (await stat(join(dir, ImageFileName.rootfs))).size,
            kernelId: kernel.id,
            createdAt: new Date().toISOString(),
          };
          this.insertWithKernel(record, kernel);
          return record;
        });
      } finally {
        await staging.discard();
      }
    });
  }

  /** An OCI reference pulled into an image (oci/pull.ts), under the image name's lock. */
  private async pullOci(request: PullRequest, ctx: OpContext): Promise<ImageRecord> {
    const { ociImageName, pullOciImage } = await import('./oci/pull.js');
    const name = request.as ?? ociImageName(request.name);
    const deps = {
      ...this.deps,
      insecureRegistries: this.deps.config.oci.insecureRegistries,
      defaultRegistry: this.deps.config.oci.defaultRegistry,
      kernel: (op: OpContext) =>
        this.kernelOrPull(request.kernelRef ?? this.defaultKernelName(), op),
    };
    return this.locks.run(name, () =>
      pullOciImage(deps, { reference: request.name, name, sizeBytes: request.sizeBytes }, ctx),
    );
  }

  /** The kernel images from registries boot: the default image's, by catalog name. */
  private defaultKernelName(): string {
    const { store, config } = this.deps;
    const golden = store.images.findByName(config.defaultImageName);
    const local = golden?.kernelId ? store.kernels.findById(golden.kernelId) : undefined;
    return local?.name ?? DEFAULT_KERNEL;
  }

  /**
   * The local image, pulled or built first when it is not local (vm create/run). An OCI
   * reference also finds the image an earlier pull of it made (`alpine:3.20` → alpine-3-20).
   */
  async ensure(name: string, ctx: OpContext): Promise<ImageRecord> {
    const { store } = this.deps;
    const local =
      store.images.findByName(name) ?? (await import('./oci/pull.js')).findPulled(store, name);
    if (local) return local;
    ctx.progress('resolve image', `${name} is not local: pulling it from the catalog`);
    return this.pull({ name }, ctx);
  }

  /** A stopped VM's system disk as a new image (promote.ts), under this name's lock. */
  async promote(source: PromoteSource, name: string, ctx: OpContext): Promise<ImageRecord> {
    const { promoteVmDisk } = await import('./promote.js');
    return this.locks.run(name, () => promoteVmDisk(this.deps, source, name, ctx));
  }

  /** Packs a local image as a bundle another host can pull (its kernel is named, not included). */
  async export(
    name: string,
    out: string,
    ctx: OpContext,
  ): Promise<{ path: string; sha256: string; bytes: number }> {
    const image = this.get(name);
    const kernel = image.kernelId ? this.deps.store.kernels.findById(image.kernelId) : undefined;
    ctx.progress('pack', `${image.rootfsFile} → ${out}`);
    await mkdir(dirname(out), { recursive: true });
    const { packBundle } = await import('../catalog/bundle.js');
    const result = await packBundle(
      image.rootfsFile,
      {
        name: image.name,
        ...(image.distro ? { distro: image.distro } : {}),
        arch: image.arch,
        ...(kernel ? { kernelRef: kernel.name } : {}),
        ...(image.description ? { description: image.description } : {}),
      },
      out,
      this.deps.runner,
      { signal: ctx.signal },
    );
    return { path: out, ...result };
  }

  private async kernelOrPull(name: string, ctx: OpContext): Promise<KernelRecord> {
    const local = this.deps.store.kernels.findByName(name);
    if (local) return local;
    if (!this.kernels) throw new BangerError(ErrorCode.NotFound, `kernel "${name}" not found`);
    ctx.progress('kernel', `${name} is not local: pulling it from the kernel catalog`);
    return this.kernels.pull(name, false, ctx);
  }

  /**
   * Registers a rootfs in place (banger never writes or deletes it). The kernel is a local
   * kernel by name (--kernel-ref) or files registered in place as `<name>-kernel`.
   */
  async register(request: RegisterRequest): Promise<ImageRecord> {
    const { store } = this.deps;
    const hasPaths = Boolean(request.kernel ?? request.initrd ?? request.modules);
    if (request.kernelRef && hasPaths)
      throw new BangerError(
        ErrorCode.InvalidParams,
        '--kernel-ref and --kernel/--initrd/--modules are mutually exclusive',
        {
          hint: 'name a local kernel with --kernel-ref, or give the kernel files, not both',
        },
      );
    if (!request.kernelRef && !request.kernel)
      throw new BangerError(
        ErrorCode.InvalidParams,
        'an image needs a kernel: give --kernel-ref NAME or --kernel FILE',
        {
          hint: '"banger kernel ls" lists local kernels',
        },
      );
    return this.locks.run(request.name, async () => {
      if (store.images.findByName(request.name))
        throw new BangerError(ErrorCode.AlreadyExists, `image "${request.name}" already exists`, {
          hint: `"banger image rm ${request.name}" first, or pick another name`,
        });
      await regularFile(request.rootfs, 'rootfs');
      if (!(await isExt4(request.rootfs)))
        throw new BangerError(
          ErrorCode.InvalidParams,
          `rootfs ${request.rootfs} is not an ext4 file system image`,
        );
      const kernel = request.kernelRef
        ? this.kernelByName(request.kernelRef)
        : await this.kernelInPlace(request);
      const info = await stat(request.rootfs);
      const record: ImageRecord = {
        id: newId(),
        name: request.name,
        managed: false,
        distro: '',
        arch: 'x86_64',
        description: '',
        source: `register:${request.rootfs}`,
        dir: dirname(request.rootfs),
        rootfsFile: request.rootfs,
        sizeBytes: info.size,
        kernelId: kernel.id,
        createdAt: new Date().toISOString(),
      };
      this.insertWithKernel(record, kernel);
      return record;
    });
  }

  /** The image row, and its kernel's when that kernel is new (registered in place). */
  private insertWithKernel(image: ImageRecord, kernel: KernelRecord): void {
    const { store } = this.deps;
    store.db.transaction(() => {
      if (!store.kernels.findById(kernel.id)) store.kernels.insert(kernel);
      store.images.insert(image);
    })();
  }

  private kernelByName(name: string): KernelRecord {
    const kernel = this.deps.store.kernels.findByName(name);
    if (!kernel)
      throw new BangerError(ErrorCode.NotFound, `kernel "${name}" not found`, {
        hint: '"banger kernel ls" lists local kernels; "banger kernel import" adds one',
      });
    return kernel;
  }

  private async kernelInPlace(request: RegisterRequest): Promise<KernelRecord> {
    const kernelFile = request.kernel!;
    await regularFile(kernelFile, 'kernel');
    if (request.initrd) await regularFile(request.initrd, 'initrd');
    if (
      request.modules &&
      !(await stat(request.modules).then(
        (s) => s.isDirectory(),
        () => false,
      ))
    )
      throw new BangerError(
        ErrorCode.InvalidParams,
        `modules ${request.modules} is not a directory`,
      );
    const name = `${request.name}-kernel`;
    if (this.deps.store.kernels.findByName(name))
      throw new BangerError(ErrorCode.AlreadyExists, `kernel "${name}" already exists`, {
        hint: `register with --kernel-ref ${name}, or "banger kernel rm ${name}" first`,
      });
    return {
      id: newId(),
      name,
      version: '',
      source: `register:${kernelFile}`,
      dir: dirname(kernelFile),
      kernelFile,
      initrdFile: request.initrd ?? null,
      modulesDir: request.modules ?? null,
      sha256: await sha256File(kernelFile),
      managed: false,
      createdAt: new Date().toISOString(),
    };
  }
}
