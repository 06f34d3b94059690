import { copyFile, mkdir, rm } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import type { Layout } from '../config/layout.js';
import { BangerError, ErrorCode } from '../errors.js';
import { downloadProgress, type OpContext } from '../system/operation.js';
import { sha256File } from '../system/sha256.js';
import type { KernelRecord } from '../store/kernels.js';
import type { Store } from '../store/store.js';
import { newId, Staging } from '../system/atomic-publish.js';
import type { Runner } from '../system/runner.js';
import { discoverKernel } from './discover.js';
import { removeModulesDisk } from './modules-disk.js';
import { KernelFileName } from '../config/layout.js';

export interface KernelDeps {
  layout: Layout;
  store: Store;
  runner: Runner;
  /** Kernel catalog sources from config ([catalog] kernels), searched before the embedded one. */
  catalogSources: readonly string[];
}

export interface KernelCatalogItem {
  name: string;
  description: string;
  version: string;
  sizeBytes?: number;
  source: string;
  local: boolean;
  how: 'download' | 'build';
}

/** Local kernels: what `kernel list/show/rm/import` do. */
export class KernelService {
  constructor(private readonly deps: KernelDeps) {}

  get(name: string): KernelRecord {
    const kernel = this.deps.store.kernels.findByName(name);
    if (!kernel)
      throw new BangerError(ErrorCode.NotFound, `kernel "${name}" not found`, {
        hint: '"banger kernel ls" lists local kernels; "banger kernel ls --available" the catalog',
      });
    return kernel;
  }

  async delete(name: string): Promise<void> {
    const kernel = this.get(name);
    const users = this.deps.store.kernels.usedBy(kernel.id);
    if (users.length > 0)
      throw new BangerError(
        ErrorCode.Conflict,
        `kernel "${name}" is used by image${users.length === 1 ? '' : 's'} ${users.join(', ')}`,
        {
          hint: `delete ${users.length === 1 ? 'that image' : 'those images'} first ("banger image rm ${users.join(' ')}")`,
        },
      );
    this.deps.store.kernels.delete(kernel.id);
    await removeModulesDisk(this.deps.layout, kernel);
    if (kernel.managed) await rm(kernel.dir, { recursive: true, force: true });
  }

  /** Every kernel the catalogs offer (first source wins a name), marked when local. */
  async catalog(signal?: AbortSignal): Promise<KernelCatalogItem[]> {
    const seen = new Set<string>();
    const items: KernelCatalogItem[] = [];
    const { loadCatalogs } = await import('../catalog/sources.js');
    for (const { source, catalog } of await loadCatalogs('kernels', this.deps.catalogSources, {
      signal,
    })) {
      for (const e of catalog.entries) {
        if (seen.has(e.name)) continue;
        seen.add(e.name);
        items.push({
          name: e.name,
          description: e.description ?? '',
          version: e.kernelVersion ?? '',
          ...(e.sizeBytes ? { sizeBytes: e.sizeBytes } : {}),
          source,
          local: Boolean(this.deps.store.kernels.findByName(e.name)),
          how: e.tarballUrl ? 'download' : 'build',
        });
      }
    }
    return items;
  }

  /** Downloads a kernel tarball from the catalog (sha256-checked) and registers it. */
  async pull(name: string, force: boolean, ctx: OpContext): Promise<KernelRecord> {
    const { layout, store, runner } = this.deps;
    const { findEntry, loadCatalogs } = await import('../catalog/sources.js');
    const catalogs = await loadCatalogs('kernels', this.deps.catalogSources, {
      signal: ctx.signal,
    });
    const hit = findEntry(catalogs, name);
    if (!hit)
      throw new BangerError(ErrorCode.NotFound, `kernel "${name}" is in no catalog`, {
        hint: `"banger kernel ls --available" lists what the catalogs offer`,
      });
    const { entry } = hit;
    if (!entry.tarballUrl) {
      const recipe = entry.recipe ?? name;
      throw new BangerError(
        ErrorCode.NotFound,
        `kernel "${name}" is built with the ${recipe} image, not downloaded`,
        {
          hint: `"banger image build ${recipe}" builds and registers it`,
        },
      );
    }
    const existing = store.kernels.findByName(name);
    if (existing && !force)
      throw new BangerError(ErrorCode.AlreadyExists, `kernel "${name}" is already local`, {
        hint: `"banger kernel pull ${name} --force" replaces it`,
      });
    if (existing && store.kernels.usedBy(existing.id).length > 0)
      throw new BangerError(
        ErrorCode.Conflict,
        `kernel "${name}" is used by images ${store.kernels.usedBy(existing.id).join(', ')}`,
        {
          hint: 'delete those images first, or pull the kernel under another catalog name',
        },
      );
    const id = newId();
    const staging = await Staging.create(layout.kernelsDir, id);
    try {
      ctx.progress('download', entry.tarballUrl);
      const file = join(staging.dir, 'kernel.tar.zst');
      const { download } = await import('../catalog/download.js');
      await download(entry.tarballUrl, file, {
        ...(entry.tarballSha256 ? { sha256: entry.tarballSha256 } : {}),
        ...(entry.sizeBytes ? { expectedBytes: entry.sizeBytes } : {}),
        signal: ctx.signal,
        onProgress: downloadProgress(ctx),
      });
      ctx.progress('extract', 'kernel, initrd and modules');
      const tree = join(staging.dir, 'tree');
      await mkdir(tree);
      const { extractKernelTarball } = await import('../catalog/kernel-tarball.js');
      const paths = await extractKernelTarball(file, tree, runner, { signal: ctx.signal });
      await rm(file, { force: true });
      const sha256 = await sha256File(paths.kernel);
      const inFinal = (dir: string, p: string) => join(dir, relative(staging.dir, p));
      const record = await staging.publishWith((dir) => {
        const pulled: KernelRecord = {
          id,
          name,
          version: entry.kernelVersion ?? '',
          source: `pull:${entry.tarballUrl}`,
          dir,
          kernelFile: inFinal(dir, paths.kernel),
          initrdFile: paths.initrd ? inFinal(dir, paths.initrd) : null,
          modulesDir: paths.modulesDir ? inFinal(dir, paths.modulesDir) : null,
          sha256,
          managed: true,
          createdAt: new Date().toISOString(),
        };
        // --force: the old record goes in the same transaction the new one arrives in.
        store.db.transaction(() => {
          if (existing) store.kernels.delete(existing.id);
          store.kernels.insert(pulled);
        })();
        return pulled;
      });
      if (existing?.managed) await rm(existing.dir, { recursive: true, force: true });
      return record;
    } finally {
      await staging.discard();
    }
  }

  /** Copies a kernel (and its initrd and modules) from a directory into banger's store. */
  async import(name: string, from: string): Promise<KernelRecord> {
    const { layout, store, runner } = this.deps;
    if (store.kernels.findByName(name))
      throw new BangerError(ErrorCode.AlreadyExists, `kernel "${name}" already exists`, {
        hint: `"banger kernel rm ${name}" first, or pick another name`,
      });
    const found = await discoverKernel(from);
    const id = newId();
    const staging = await Staging.create(layout.kernelsDir, id);
    try {
      const kernelName = basename(found.kernel).startsWith('vmlinux')
        ? KernelFileName.vmlinux
        : KernelFileName.bzImage;
      await copyFile(found.kernel, join(staging.dir, kernelName));
      if (found.initrd) await copyFile(found.initrd, join(staging.dir, KernelFileName.initrd));
      // cp -a keeps the module tree's symlinks and modes exactly.
      if (found.modulesDir)
        await runner.run('cp', [
          '-a',
          '--',
          `${found.modulesDir}/.`,
          join(staging.dir, KernelFileName.modules),
        ]);
      const sha256 = await sha256File(join(staging.dir, kernelName));
      return await staging.publishWith((dir) => {
        const record: KernelRecord = {
          id,
          name,
          version: found.version,
          source: `import:${from}`,
          dir,
          kernelFile: join(dir, kernelName),
          initrdFile: found.initrd ? join(dir, KernelFileName.initrd) : null,
          modulesDir: found.modulesDir ? join(dir, KernelFileName.modules) : null,
          sha256,
          managed: true,
          createdAt: new Date().toISOString(),
        };
        store.kernels.insert(record);
        return record;
      });
    } finally {
      await staging.discard();
    }
  }
}
