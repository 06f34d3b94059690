import { writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { sshControlPath, TemplateFileName, vmFiles } from '../../config/layout.js';
import { debugfsCat } from '../../disk/debugfs.js';
import { BangerError, ErrorCode } from '../../errors.js';
import { exitMaster, sshScript } from '../../ssh/connection.js';
import { pinHostKey } from '../../ssh/known-hosts.js';
import type { SshTarget } from '../../ssh/options.js';
import type { ImageRecord } from '../../store/images.js';
import type { VmRecord } from '../../store/vms.js';
import { fsyncFile, Staging } from '../../system/atomic-publish.js';
import type { OpContext } from '../../system/operation.js';
import type { Snapshots, VmHandles } from '../../vmm/vmm.js';
import { launchSpec, loginUntil } from '../boot.js';
import type { VmContext } from '../context.js';
import {
  createOverlay,
  createWorkDisk,
  ensureAuthorizedKey,
  PROVIDED_HOST_KEY,
  seedHostKey,
} from '../disks.js';
import { syncFiles } from '../file-sync.js';
import { consoleEnd, waitForReadyLine } from '../readiness.js';
import { findBootId } from './boot-id.js';
import { SETTLE_SCRIPT, startHook } from './guest-hook.js';
import { templateKey, type TemplateShape } from './shape.js';
import { templateFiles, type TemplateMeta, type TemplateStore } from './templates.js';

/** The template VM's hostname while it is prepared; every resumed VM gets its own. */
const TEMPLATE_HOSTNAME = 'banger-template';
const TEMPLATE_ALIAS = 'template.banger';
const BOOT_WAIT_MS = 10 * 60_000;

/**
 * Makes the template for one shape: a VM of that image and size booted in the template's
 * staging dir with its RAM in a shared file, let settle, given the identity hook, then
 * saved (device state only: the RAM stays in memory.ram) and ended. Published by rename
 * with template.json written last; on any failure, or a cancel, nothing is left.
 */
export async function makeTemplate(
  ctx: VmContext,
  store: TemplateStore,
  image: ImageRecord,
  shape: TemplateShape,
  snapshots: Snapshots,
  op: OpContext,
): Promise<TemplateMeta> {
  const key = templateKey(shape);
  const staging = await Staging.create(store.dir, key);
  const files = templateFiles(staging.dir);
  const provider = ctx.networks.for(shape.network);
  const vm = templateRecord(key, image, shape, staging.dir);
  const vmm = ctx.vmms.current;
  let handles: VmHandles | undefined;
  let target: SshTarget | undefined;
  try {
    op.progress('warm', `template for ${image.name}: disks`);
    await makeDisks(ctx, vm, image, shape, op);
    // A tap template takes an address and a tap of its own while it runs; every VM resumed
    // from it gets its own from the identity hook.
    vm.guestIp = (await provider.allocate({ id: key, name: vm.name, nat: false })).guestIp;
    const network = await provider.attach(vm);
    const spec = await launchSpec(ctx, vm, image, network, op);
    const started = Date.now();
    op.progress('warm', `template for ${image.name}: booting it once`);
    handles = await vmm.start(
      { ...spec, memory: { file: files.memory, shared: true } },
      { signal: op.signal, freePort: () => network.freePort() },
    );
    await waitReady(vm, handles, vmm.alive.bind(vmm), op);
    const bootMs = Date.now() - started;
    target = await templateTarget(ctx, vm, provider.sshEndpoint(vm, handles));
    await loginUntil(target, vmFiles(vm.dir).sshLog, ctx.runner, Date.now() + 60_000, op.signal);
    op.progress('warm', `template for ${image.name}: settling`);
    await sshScript(
      target,
      SETTLE_SCRIPT,
      ctx.runner,
      (why) => `the template VM could not settle: ${why}`,
      {
        timeoutMs: 120_000,
        signal: op.signal,
      },
    );
    const bootId = await startHook(target, ctx.runner, 'the template VM', op.signal);
    await exitMaster(target, ctx.runner);
    // The guest's end of that ssh session goes away before the memory is frozen.
    await new Promise((r) => setTimeout(r, 500));
    op.progress('warm', `template for ${image.name}: saving`);
    await snapshots.save(handles, files.state, op.signal);
    await vmm.kill(handles);
    handles = undefined;
    await vmm.cleanup(staging.dir);
    const bootIdSites = await findBootId(files.memory, bootId);
    // A template is only read after this: its bytes must be on disk, not just in the cache.
    for (const file of [files.memory, files.state, files.systemDisk, files.workDisk])
      await fsyncFile(file);
    const meta: TemplateMeta = {
      ...shape,
      key,
      imageName: image.name,
      createdAt: new Date().toISOString(),
      bootMs,
      bootIdSites,
    };
    await writeFile(files.meta, `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
    await staging.publish();
    return meta;
  } finally {
    if (target) await exitMaster(target, ctx.runner).catch(() => undefined);
    if (handles) await vmm.kill(handles).catch(() => undefined);
    await provider.detach(vm).catch(() => undefined);
    await provider.release(vm).catch(() => undefined);
    await staging.discard();
  }
}

/** The template's disks, made exactly as a new VM's are (banger's key, a host key, file sync). */
async function makeDisks(
  ctx: VmContext,
  vm: VmRecord,
  image: ImageRecord,
  shape: TemplateShape,
  op: OpContext,
): Promise<void> {
  const files = vmFiles(vm.dir);
  const key = await ctx.sshKey();
  await createOverlay(image.rootfsFile, files.systemDisk, ctx.runner, ctx.qemuImg);
  await createWorkDisk(files.workDisk, shape.diskBytes, ctx.runner);
  await ensureAuthorizedKey(files.workDisk, key.publicKey, ctx.runner);
  await seedHostKey(files.workDisk, TEMPLATE_HOSTNAME, ctx.runner);
  if ((ctx.fileSync ?? []).length > 0)
    await syncFiles({
      disk: files.workDisk,
      entries: ctx.fileSync ?? [],
      home: homedir(),
      runner: ctx.runner,
      warn: (message) => op.progress('warm', message),
    });
}

/** Reached like a VM, but with the template's own known_hosts and a control socket of its own. */
async function templateTarget(
  ctx: VmContext,
  vm: VmRecord,
  endpoint: { host: string; port: number },
): Promise<SshTarget> {
  const key = await ctx.sshKey();
  const knownHostsFile = join(vm.dir, TemplateFileName.knownHosts);
  const pub = await debugfsCat(vmFiles(vm.dir).workDisk, `${PROVIDED_HOST_KEY}.pub`, ctx.runner);
  await pinHostKey(knownHostsFile, TEMPLATE_ALIAS, pub.toString('utf8'));
  return {
    host: endpoint.host,
    port: endpoint.port,
    user: 'root',
    keyFile: key.privateKey,
    controlPath: sshControlPath(ctx.layout, `t-${vm.id}`),
    knownHostsFile,
    hostKeyAlias: TEMPLATE_ALIAS,
  };
}

async function waitReady(
  vm: VmRecord,
  handles: VmHandles,
  alive: (h: VmHandles, id: string) => Promise<boolean>,
  op: OpContext,
): Promise<void> {
  const outcome = await waitForReadyLine({
    consoleLog: handles.consoleLog,
    deadline: Date.now() + BOOT_WAIT_MS,
    signal: op.signal,
    stillRunning: () => alive(handles, vm.id),
  });
  if (outcome === 'ready') return;
  const tail = await consoleEnd(handles.consoleLog);
  throw new BangerError(
    ErrorCode.Subprocess,
    `the template VM ${outcome === 'exited' ? 'exited during boot' : 'did not come up'}${tail ? `; its console ends with:\n${tail}` : ''}`,
  );
}

/** A record for the template VM: never stored, it only feeds the launch and the network. */
export function templateRecord(
  key: string,
  image: ImageRecord,
  shape: Pick<TemplateShape, 'vcpu' | 'memoryMiB' | 'diskBytes'> & { network?: 'user' | 'tap' },
  dir: string,
): VmRecord {
  const now = new Date().toISOString();
  return {
    id: key,
    name: TEMPLATE_HOSTNAME,
    imageId: image.id,
    state: 'created',
    vcpu: shape.vcpu,
    memoryMiB: shape.memoryMiB,
    diskBytes: shape.diskBytes,
    networkMode: shape.network ?? 'user',
    nat: false,
    egress: 'none',
    guestIp: null,
    sshPort: 0,
    dir,
    lastError: null,
    createdAt: now,
    updatedAt: now,
    owner: null,
  };
}
