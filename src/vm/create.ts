import { homedir } from 'node:os';
import { vmFiles, type VmFiles } from '../config/layout.js';
import { isValidName, nameProblem } from '../config/names.js';
import { formatSize } from '../config/size.js';
import { BangerError, ErrorCode } from '../errors.js';
import type { ImageRecord } from '../store/images.js';
import type { PublishRequest } from '../protocol/vm.js';
import type { PublishedPort } from '../store/published-ports.js';
import type { VmRecord } from '../store/vms.js';
import { newId, Staging } from '../system/atomic-publish.js';
import type { OpContext } from '../system/operation.js';
import { inspectRepo } from '../workspace/git-transfer.js';
import { boot, kernelOf } from './boot.js';
import type { VmContext } from './context.js';
import { createOverlay, createWorkDisk, ensureAuthorizedKey, seedHostKey } from './disks.js';
import { syncFiles } from './file-sync.js';
import type { NetworkMode } from '../net/network.js';
import { pinVmHostKey } from './host-key.js';
import { findVm, viewOf, type VmView } from './lookup.js';
import { formatEgress, parseEgress } from '../egress/policy.js';
import { generateName } from './name-generator.js';
import { createFix, resolvePublish } from './ports.js';
import { validateSpec } from './spec.js';
import { destroy } from './stop.js';

export interface CreateRequest {
  name?: string | undefined;
  image?: string | undefined;
  vcpu: number;
  memoryMiB: number;
  diskBytes: number;
  /** Default: the config's network.mode. */
  network?: NetworkMode | undefined;
  /** What the guest may reach outside (egress/policy.ts); default: the config's network.egress. */
  egress?: string | undefined;
  /** The older spelling of egress all (true) or none (false). */
  nat?: boolean | undefined;
  sshWaitMs?: number | undefined;
  /** A repository the caller will copy in once the VM runs: checked before anything boots. */
  workspace?: string | undefined;
  /** Who deletes it when they end (VmRecord.owner). */
  owner?: string | undefined;
  /** Ports to publish on 127.0.0.1: checked before anything is made. */
  publish?: readonly PublishRequest[] | undefined;
  /** Boot even when a warm-start template matches. */
  cold?: boolean | undefined;
}

/**
 * Makes a VM and boots it: spec, name and workspace checked first, then the image (built
 * or pulled when missing), the disks staged and published with the record, then the boot.
 * A cancelled create leaves nothing; a VM that booted and failed stays for `vm logs`.
 */
export async function createVm(
  ctx: VmContext,
  request: CreateRequest,
  op: OpContext,
): Promise<VmView> {
  validateSpec(request, 'vm.create');
  const req = { ...request, egress: egressOf(ctx, request) };
  if (
    parseEgress(req.egress).kind === 'list' &&
    (req.network ?? ctx.networkDefaults?.mode) !== 'tap'
  )
    ctx.egressCheck?.();
  if (req.workspace !== undefined) await inspectRepo(req.workspace, ctx.runner);
  await ctx.networks.for(req.network ?? ctx.networkDefaults?.mode ?? 'user').check();
  const name = reserveName(ctx, req.name);
  try {
    const ports = await resolvePublish(ctx, { name }, req.publish ?? [], createFix);
    op.progress('resolve image', req.image ?? ctx.defaultImage);
    const image = await ctx.ensureImage(req.image ?? ctx.defaultImage, op);
    const kernel = kernelOf(ctx, image);
    // Built (once) before any disk is made: a kit that cannot be had leaves nothing.
    if (image.oci) {
      await ctx.ensureKit(op);
      await ctx.ensureModules(kernel, op);
    }
    op.signal.throwIfAborted();
    // A template of this image and shape: resumed in about a second, else a boot.
    const warm = req.cold ? undefined : await ctx.warm?.resume({ name, image, req, ports }, op);
    if (warm) return warm;

    op.progress('disks', `system overlay on ${image.name}, ${formatSize(req.diskBytes)} work disk`);
    const id = newId();
    const view = await ctx.locks.run(id, async () => {
      const vm = await recordVm(ctx, { id, name, image, req, ports }, (files) =>
        makeDisks(ctx, { name, image, req }, files, op),
      );
      ctx.creating.delete(name);
      try {
        await pinVmHostKey(ctx, vm);
        await boot(ctx, vm, op, req.sshWaitMs);
      } catch (err) {
        if (op.signal.aborted) await destroy(ctx, vm);
        throw err;
      }
      return viewOf(ctx, findVm(ctx, vm.id));
    });
    // The next VM of this shape need not boot: a template is made in the background.
    ctx.warm?.booted(image, req);
    return view;
  } finally {
    ctx.creating.delete(name);
  }
}

/**
 * A new VM's disks: an overlay on the image, a fresh work disk with banger's key and the
 * VM's own host key, and [[file_sync]] copied onto it.
 */
async function makeDisks(
  ctx: VmContext,
  v: Pick<NewVm, 'name' | 'image' | 'req'>,
  files: VmFiles,
  op: OpContext,
): Promise<void> {
  const { runner } = ctx;
  const key = await ctx.sshKey();
  await createOverlay(v.image.rootfsFile, files.systemDisk, runner, ctx.qemuImg);
  await createWorkDisk(files.workDisk, v.req.diskBytes, runner);
  await ensureAuthorizedKey(files.workDisk, key.publicKey, runner);
  await seedHostKey(files.workDisk, v.name, runner);
  const fileSync = ctx.fileSync ?? [];
  if (fileSync.length > 0) {
    op.progress('file sync', `${fileSync.length} [[file_sync]] entries onto the work disk`);
    await syncFiles({
      disk: files.workDisk,
      entries: fileSync,
      home: homedir(),
      runner,
      warn: (message) => op.progress('file sync', message),
    });
  }
}

export interface NewVm {
  id: string;
  name: string;
  image: ImageRecord;
  req: CreateRequest;
  ports: readonly PublishedPort[];
}

/**
 * The VM's directory staged in `<id>.staging` (`stage` makes its disks), its address
 * allocated, then published by rename together with its record. Nothing is left on failure.
 */
export async function recordVm(
  ctx: VmContext,
  v: NewVm,
  stage: (files: VmFiles) => Promise<void>,
): Promise<VmRecord> {
  const { store, layout } = ctx;
  const { id, name, image, req } = v;
  const egress = egressOf(ctx, req);
  const nat = egress === 'all';
  const network = ctx.networks.for(req.network ?? ctx.networkDefaults?.mode ?? 'user');
  const staging = await Staging.create(layout.vmsDir, id);
  try {
    await stage(vmFiles(staging.dir));
    const { guestIp } = await network.allocate({ id, name, nat });
    const now = new Date().toISOString();
    return await staging
      .publishWith((dir) => {
        const record: VmRecord = {
          id,
          name,
          imageId: image.id,
          state: 'created',
          vcpu: req.vcpu,
          memoryMiB: req.memoryMiB,
          diskBytes: req.diskBytes,
          networkMode: network.mode,
          nat,
          egress,
          guestIp,
          sshPort: 0,
          dir,
          lastError: null,
          createdAt: now,
          updatedAt: now,
          owner: req.owner ?? null,
        };
        store.db.transaction(() => {
          store.vms.insert(record);
          store.publishedPorts.add(id, v.ports);
        })();
        return record;
      })
      .catch(async (err: unknown) => {
        // The record could not be written: the address goes back.
        await network.release({ id, name, guestIp });
        throw err;
      });
  } finally {
    await staging.discard();
  }
}

/**
 * The names of a fork's children, reserved like a create's: the ones asked for, or
 * `<parent>-1`, `<parent>-2`… skipping names that are taken.
 */
export function reserveNames(
  ctx: VmContext,
  parent: string,
  request: { names?: readonly string[] | undefined; count?: number | undefined },
): string[] {
  if (request.names?.length) {
    const reserved: string[] = [];
    try {
      for (const name of request.names) reserved.push(reserveName(ctx, name));
    } catch (err) {
      for (const name of reserved) ctx.creating.delete(name);
      throw err;
    }
    return reserved;
  }
  const taken = new Set([...ctx.store.vms.names(), ...ctx.creating]);
  const names: string[] = [];
  const stem = parent.slice(0, 56);
  for (let k = 1; names.length < (request.count ?? 1); k++) {
    const name = `${stem}-${k}`;
    if (!taken.has(name)) names.push(name);
  }
  for (const name of names) ctx.creating.add(name);
  return names;
}

/** Synchronous check-and-add: no other create can slip in between. */
function reserveName(ctx: VmContext, requested: string | undefined): string {
  const taken = new Set([...ctx.store.vms.names(), ...ctx.creating]);
  if (requested !== undefined) {
    if (!isValidName(requested))
      throw new BangerError(ErrorCode.InvalidParams, nameProblem('VM', requested));
    if (taken.has(requested))
      throw new BangerError(ErrorCode.AlreadyExists, `a VM named "${requested}" already exists`, {
        hint: `pick another --name, or remove it first ("banger vm rm ${requested}")`,
      });
  }
  const name = requested ?? generateName(taken);
  ctx.creating.add(name);
  return name;
}

/** The request's egress, checked: --egress, else --nat, else the config's; both must agree. */
function egressOf(ctx: VmContext, req: Pick<CreateRequest, 'egress' | 'nat'>): string {
  const egress = req.egress === undefined ? undefined : formatEgress(parseEgress(req.egress));
  if (req.nat !== undefined && egress !== undefined && (egress === 'all') !== req.nat)
    throw new BangerError(ErrorCode.InvalidParams, `--nat and --egress ${egress} disagree`, {
      hint: '--nat is --egress all; give one of them',
    });
  return (
    egress ??
    (req.nat === undefined ? undefined : req.nat ? 'all' : 'none') ??
    ctx.networkDefaults?.egress ??
    'none'
  );
}
