import { copyFile, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Layout } from '../config/layout.js';
import { BangerError, ErrorCode } from '../errors.js';
import { sha256File } from '../image/image-service.js';
import type { KernelRecord } from '../store/kernels.js';
import type { Store } from '../store/store.js';
import { newId, Staging } from '../system/atomic-publish.js';
import type { Runner } from '../system/runner.js';
import { discoverKernel } from './discover.js';

export interface KernelDeps {
  layout: Layout;
  store: Store;
  runner: Runner;
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
    if (kernel.managed) await rm(kernel.dir, { recursive: true, force: true });
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
      const kernelName = basename(found.kernel).startsWith('vmlinux') ? 'vmlinux' : 'vmlinuz';
      await copyFile(found.kernel, join(staging.dir, kernelName));
      if (found.initrd) await copyFile(found.initrd, join(staging.dir, 'initrd.img'));
      // cp -a keeps the module tree's symlinks and modes exactly.
      if (found.modulesDir)
        await runner.run('cp', ['-a', '--', `${found.modulesDir}/.`, join(staging.dir, 'modules')]);
      const sha256 = await sha256File(join(staging.dir, kernelName));
      const dir = await staging.publish();
      const record: KernelRecord = {
        id,
        name,
        version: found.version,
        source: `import:${from}`,
        dir,
        kernelFile: join(dir, kernelName),
        initrdFile: found.initrd ? join(dir, 'initrd.img') : null,
        modulesDir: found.modulesDir ? join(dir, 'modules') : null,
        sha256,
        managed: true,
        createdAt: new Date().toISOString(),
      };
      try {
        store.kernels.insert(record);
      } catch (err) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
      return record;
    } finally {
      await staging.discard();
    }
  }
}
