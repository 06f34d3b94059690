import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { BangerError, ErrorCode } from '../errors.js';
import type { ImageRecord } from '../store/images.js';
import type { KernelRecord } from '../store/kernels.js';
import { newId, Staging } from '../system/atomic-publish.js';
import type { OpContext } from '../system/operation.js';
import { sha256File } from '../system/sha256.js';
import { removeWorkDir } from '../system/work-dir.js';
import { RECIPES, type Recipe } from './golden/recipe.js';
import type { ImageDeps } from './image-service.js';
import { CacheName, ImageFileName, KernelFileName } from '../config/layout.js';

export interface BuildRequest {
  name?: string;
  sizeBytes?: number;
  packages?: string[];
  mirror?: string;
}

/**
 * `image build`: the golden image and its kernel, staged in `images/` and `kernels/`, the
 * tree in a scratch dir under the cache; both published, or on any failure or cancel all
 * three removed before this settles. The caller holds the image name's lock.
 */
export async function buildImage(
  deps: ImageDeps,
  name: string,
  recipe: Recipe,
  request: BuildRequest,
  ctx: OpContext,
): Promise<ImageRecord> {
  const { layout, store, config, runner, log } = deps;
  if (store.images.findByName(name))
    throw new BangerError(ErrorCode.AlreadyExists, `image "${name}" already exists`, {
      hint: `"banger image rm ${name}" first to rebuild it`,
    });
  const sources = await mirrorsFor(deps, recipe, request.mirror);
  const imageId = newId();
  const kernelId = newId();
  const workDir = join(layout.cacheDir, CacheName.build, imageId);
  const image = await Staging.create(layout.imagesDir, imageId);
  const kernel = await Staging.create(layout.kernelsDir, kernelId).catch(async (err) => {
    await image.discard();
    throw err;
  });
  try {
    const { buildGoldenImage } = await import('./golden/build.js');
    const result = await buildGoldenImage({
      recipe,
      ...sources,
      extraPackages: [...config.imageBuild.packages, ...(request.packages ?? [])],
      aptCacheDir: join(layout.cacheDir, CacheName.aptArchives),
      workDir,
      imageDir: image.dir,
      kernelDir: kernel.dir,
      sizeBytes: request.sizeBytes,
      runner,
      signal: ctx.signal,
      progress: ctx.progress,
    });
    ctx.progress('publish', `image ${name} and kernel ${recipe.kernelName}`);
    const kernelRecord = await publishKernel(
      deps,
      recipe,
      kernel,
      kernelId,
      result.kernelVersion,
      result.directBoot,
    );
    const record = await image.publishWith((imageDir) => {
      const built: ImageRecord = {
        id: imageId,
        name,
        managed: true,
        distro: recipe.distro,
        arch: recipe.arch,
        description: recipe.description,
        source: `build:${recipe.name}`,
        dir: imageDir,
        rootfsFile: join(imageDir, ImageFileName.rootfs),
        sizeBytes: result.rootfsBytes,
        kernelId: kernelRecord.id,
        createdAt: new Date().toISOString(),
      };
      store.images.insert(built);
      return built;
    });
    log.info({ image: name, kernel: kernelRecord.name }, 'image built');
    return record;
  } finally {
    // Each step runs whatever the others do: the call is answered (and a Ctrl-C'd CLI
    // returns) only after all three, and one that failed is logged, not left unsaid.
    const steps = await Promise.allSettled([
      image.discard(),
      kernel.discard(),
      removeWorkDir(workDir, runner),
    ]);
    for (const step of steps)
      if (step.status === 'rejected')
        log.warn({ err: step.reason as Error, image: name }, 'build cleanup failed');
  }
}

/** A recipe by its own name, or the recipe a catalog entry of that name points at. */
export async function recipeFor(
  name: string,
  config: Config,
  signal: AbortSignal,
): Promise<Recipe> {
  const direct = RECIPES.get(name);
  if (direct) return direct;
  const { findEntry, loadCatalogs } = await import('../catalog/sources.js');
  const hit = findEntry(await loadCatalogs('images', config.catalog.images, { signal }), name);
  const recipe = hit?.entry.recipe ? RECIPES.get(hit.entry.recipe) : undefined;
  if (recipe) return { ...recipe, name };
  throw new BangerError(ErrorCode.NotFound, `no build recipe for image "${name}"`, {
    hint: `banger can build: ${[...RECIPES.keys()].join(', ')}${hit ? '; this one is pulled: "banger image pull ' + name + '"' : ''}`,
  });
}

async function mirrorsFor(deps: ImageDeps, recipe: Recipe, override: string | undefined) {
  const configured = override ?? deps.config.imageBuild.mirror;
  const { debianMirror, hostAptSources, securityMirror } = await import('./golden/apt-sources.js');
  const sources = await hostAptSources();
  const mirror = configured ?? debianMirror(sources, recipe.suite);
  if (!mirror)
    throw new BangerError(
      ErrorCode.Config,
      `no Debian mirror for ${recipe.suite} in this host's apt sources`,
      {
        hint: `set image_build.mirror in ${deps.layout.configFile} (e.g. "http://deb.debian.org/debian")`,
      },
    );
  // A configured mirror is taken to carry the security suite too only if the host's does.
  return {
    mirror,
    securityMirror: configured ? undefined : securityMirror(sources, recipe.suite),
  };
}

/**
 * The kernel a build produced. The same kernel already registered under the recipe's name is
 * reused; a different one replaces it when no image uses it, else gets a versioned name.
 */
async function publishKernel(
  deps: ImageDeps,
  recipe: Recipe,
  staging: Staging,
  id: string,
  version: string,
  directBoot: boolean,
): Promise<KernelRecord> {
  const { store } = deps;
  const sha256 = await sha256File(join(staging.dir, KernelFileName.bzImage));
  let name = recipe.kernelName;
  const existing = store.kernels.findByName(name);
  // One from before kernels kept their modules is replaced (or named apart) like a new one.
  if (existing?.sha256 === sha256 && existing.modulesDir !== null) return existing;
  if (existing && store.kernels.usedBy(existing.id).length === 0) {
    store.kernels.delete(existing.id);
    if (existing.managed) await rm(existing.dir, { recursive: true, force: true });
  } else if (existing) {
    name = `${recipe.kernelName}-${sha256.slice(0, 8)}`;
  }
  return staging.publishWith((dir) => {
    const record: KernelRecord = {
      id,
      name,
      version,
      source: `build:${recipe.name}`,
      dir,
      kernelFile: join(dir, directBoot ? KernelFileName.vmlinux : KernelFileName.bzImage),
      initrdFile: join(dir, KernelFileName.initrd),
      modulesDir: join(dir, KernelFileName.modules),
      sha256,
      managed: true,
      createdAt: new Date().toISOString(),
    };
    store.kernels.insert(record);
    return record;
  });
}
