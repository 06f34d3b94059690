import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { STAGING_SUFFIX, vmFiles } from '../../config/layout.js';
import { BangerError, ErrorCode, errorMessage } from '../../errors.js';
import { modulesDiskPath } from '../../kernel/modules-disk.js';
import type { ImageRecord } from '../../store/images.js';
import { KeyedMutex } from '../../system/mutex.js';
import type { OpContext } from '../../system/operation.js';
import { kernelOf } from '../boot.js';
import type { VmContext } from '../context.js';
import type { CreateRequest, NewVm } from '../create.js';
import type { VmView } from '../lookup.js';
import { makeTemplate } from './make-template.js';
import { restoreVm } from './restore.js';
import { destroy } from '../stop.js';
import {
  fileSyncDigest,
  guestDisksDigest,
  TEMPLATE_FORMAT,
  templateKey,
  type TemplateShape,
} from './shape.js';
import { TemplateStore, type TemplateMeta } from './templates.js';

/** The size of a VM as a template is made for it (and its network mode). */
export type Size = Pick<CreateRequest, 'vcpu' | 'memoryMiB' | 'diskBytes' | 'network'>;

/** A template as `image show` lists it. */
export interface TemplateSummary {
  key: string;
  vcpu: number;
  memoryMiB: number;
  diskBytes: number;
  network: string;
  createdAt: string;
  /** Bytes its files occupy on disk. */
  bytes: number;
  /** Whether a new VM of that size would resume it now (same QEMU, key and file sync). */
  current: boolean;
}

/**
 * Warm start, the one interface the rest of banger calls: resume a new VM from its shape's
 * template when there is one, make templates (in the background after a cold boot, or when
 * asked), list and remove them, and clean up after a daemon that died making one.
 */
export class WarmStart {
  private readonly store: TemplateStore;
  private readonly making = new KeyedMutex();
  private readonly queued = new Set<string>();
  private background: Promise<void> = Promise.resolve();
  private readonly closing = new AbortController();

  constructor(
    private readonly ctx: VmContext,
    dir: string,
    /** [warm] auto: make a template in the background after a shape's first cold boot. */
    private readonly auto: boolean,
  ) {
    this.store = new TemplateStore(dir);
  }

  /**
   * The shape a VM of this image and size would resume, or undefined when it cannot be
   * resumed at all: a VMM without saved state.
   */
  async shapeOf(image: ImageRecord, size: Size): Promise<TemplateShape | undefined> {
    const { ctx } = this;
    const kernel = kernelOf(ctx, image);
    const network = size.network ?? ctx.networkDefaults?.mode ?? 'user';
    const vmm = ctx.vmms.current;
    if (!vmm.snapshots) return undefined;
    return {
      format: TEMPLATE_FORMAT,
      imageId: image.id,
      kernelId: kernel.id,
      vcpu: size.vcpu,
      memoryMiB: size.memoryMiB,
      diskBytes: size.diskBytes,
      network,
      vmm: `${vmm.driver}/${vmm.accel} ${await vmm.snapshots.version()}`,
      sshKey: (await ctx.sshKey()).publicKey,
      fileSync: await fileSyncDigest(ctx.fileSync ?? [], homedir()),
      ...(image.oci
        ? {
            guestDisks: await guestDisksDigest([
              ctx.layout.guestKit,
              modulesDiskPath(ctx.layout, kernel),
            ]),
          }
        : {}),
    };
  }

  /** Whether a create of this image and size would resume a template now. */
  async plan(image: ImageRecord, size: Size): Promise<'warm' | 'cold'> {
    const shape = await this.shapeOf(image, size);
    return shape && (await this.store.find(shape)) ? 'warm' : 'cold';
  }

  /**
   * A new VM resumed from its shape's template, or undefined: there is none, or it failed
   * to resume (another QEMU, a damaged file…), in which case it is removed with a warning
   * and the caller boots the VM cold. Only a cancel is thrown.
   */
  async resume(v: Omit<NewVm, 'id'>, op: OpContext): Promise<VmView | undefined> {
    const shape = await this.shapeOf(v.image, v.req);
    const template = shape && (await this.store.find(shape));
    if (!template) return undefined;
    op.progress('warm', `resuming the ${v.image.name} template (${template.key})`);
    try {
      const files = this.store.filesOf(template.key);
      const snapshots = this.ctx.vmms.current.snapshots!;
      return await restoreVm(this.ctx, v, { files, meta: template }, snapshots, op);
    } catch (err) {
      op.signal.throwIfAborted();
      op.progress(
        'warm',
        `the template did not resume (${errorMessage(err)}): removed; booting cold`,
      );
      this.ctx.log.warn({ template: template.key, err: errorMessage(err) }, 'template removed');
      await this.store.remove(template.key);
      return undefined;
    }
  }

  /** After a cold boot: the template of that shape, made in the background if missing. */
  booted(image: ImageRecord, size: Size): void {
    if (!this.auto) return;
    const op: OpContext = {
      signal: this.closing.signal,
      progress: (stage, detail) => this.ctx.log.debug({ stage, detail }, 'warm template'),
    };
    void (async () => {
      const shape = await this.shapeOf(image, size);
      if (!shape) return;
      const key = templateKey(shape);
      if (this.queued.has(key) || (await this.store.find(shape))) return;
      this.queued.add(key);
      // One at a time, after whatever the user asked for: it competes for the same cores.
      this.background = this.background
        .then(() => this.make(image, shape, op))
        .then(
          (meta) => this.ctx.log.info({ template: meta.key, image: image.name }, 'template made'),
          (err: unknown) =>
            this.ctx.log.warn({ image: image.name, err: errorMessage(err) }, 'template failed'),
        )
        .finally(() => this.queued.delete(key));
    })().catch((err: unknown) =>
      this.ctx.log.warn({ image: image.name, err: errorMessage(err) }, 'template not queued'),
    );
  }

  /** `banger image warm`: the template of this shape, made now unless it exists. */
  async warm(image: ImageRecord, size: Size, op: OpContext): Promise<TemplateMeta> {
    if (image.oci) {
      // The kit and modules disks are part of a pulled image's shape: made before it is taken.
      await this.ctx.ensureKit(op);
      await this.ctx.ensureModules(kernelOf(this.ctx, image), op);
    }
    const shape = await this.shapeOf(image, size);
    if (!shape)
      throw new BangerError(
        ErrorCode.NotImplemented,
        `image "${image.name}" cannot be warm-started: ${this.ctx.vmms.current.driver} saves no VM state`,
        { hint: 'VMs of it boot cold' },
      );
    return this.make(image, shape, op);
  }

  async list(image: ImageRecord): Promise<TemplateSummary[]> {
    const all = (await this.store.list()).filter((t) => t.imageId === image.id);
    if (all.length === 0) return [];
    // What the host gives every shape (QEMU build, key, file sync), read once for the lot.
    const host = await this.shapeOf(image, all[0]!);
    return Promise.all(
      all.map(async (t) => {
        const now = host && { ...host, ...pickSize(t) };
        return {
          key: t.key,
          vcpu: t.vcpu,
          memoryMiB: t.memoryMiB,
          diskBytes: t.diskBytes,
          network: t.network,
          createdAt: t.createdAt,
          bytes: await this.store.allocatedBytes(t.key),
          current: now !== undefined && templateKey(now) === t.key,
        };
      }),
    );
  }

  /** Removes the image's templates (of one size when given); returns how many. */
  async remove(image: ImageRecord, size?: Size): Promise<number> {
    const all = (await this.store.list()).filter(
      (t) =>
        t.imageId === image.id &&
        (!size ||
          (t.vcpu === size.vcpu &&
            t.memoryMiB === size.memoryMiB &&
            t.diskBytes === size.diskBytes)),
    );
    for (const t of all) await this.making.run(t.key, () => this.store.remove(t.key));
    return all.length;
  }

  /**
   * At daemon start: a VM a killed daemon was resuming is removed, a template VM it left
   * is killed and its staging removed, and templates of images that are gone are removed.
   */
  async reconcile(): Promise<void> {
    // A VM a killed daemon was resuming has no identity of its own: it never existed.
    for (const vm of this.ctx.store.vms.list()) {
      if (!existsSync(vmFiles(vm.dir).resuming)) continue;
      await this.ctx.locks.run(vm.id, () => destroy(this.ctx, vm));
      this.ctx.log.warn({ vm: vm.name }, 'removed a VM whose resume did not finish');
    }
    const names = await readdir(this.store.dir).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.endsWith(STAGING_SUFFIX))) {
      const dir = join(this.store.dir, name);
      await this.ctx.vmms.current.reap(dir, name.slice(0, -STAGING_SUFFIX.length));
      await rm(dir, { recursive: true, force: true });
      this.ctx.log.warn({ dir }, 'removed an unfinished template');
    }
    await this.prune();
  }

  /** Aborts a background template (its staging is removed) and waits for it. */
  async close(): Promise<void> {
    this.closing.abort(new BangerError(ErrorCode.Cancelled, 'the daemon is shutting down'));
    await this.background;
  }

  private make(image: ImageRecord, shape: TemplateShape, op: OpContext): Promise<TemplateMeta> {
    const key = templateKey(shape);
    return this.making.run(key, async () => {
      const existing = await this.store.find(shape);
      if (existing) return existing;
      const snapshots = this.ctx.vmms.current.snapshots!;
      const meta = await makeTemplate(this.ctx, this.store, image, shape, snapshots, op);
      await this.prune(meta);
      return meta;
    });
  }

  /**
   * Removes templates nobody can resume any more: of an image that is gone (called after an
   * image delete too), or superseded by a newer one of the same image and size.
   */
  async prune(newest?: TemplateMeta): Promise<void> {
    const images = new Set(this.ctx.store.images.list().map((i) => i.id));
    for (const t of await this.store.list()) {
      const superseded =
        newest !== undefined &&
        t.key !== newest.key &&
        t.imageId === newest.imageId &&
        t.vcpu === newest.vcpu &&
        t.memoryMiB === newest.memoryMiB &&
        t.diskBytes === newest.diskBytes &&
        t.network === newest.network;
      if (superseded || !images.has(t.imageId))
        await this.store.remove(t.key).catch(() => undefined);
    }
  }
}

function pickSize(
  t: TemplateShape,
): Pick<TemplateShape, 'vcpu' | 'memoryMiB' | 'diskBytes' | 'network'> {
  return { vcpu: t.vcpu, memoryMiB: t.memoryMiB, diskBytes: t.diskBytes, network: t.network };
}
