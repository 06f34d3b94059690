import { existsSync } from 'node:fs';
import { sshControlPath, vmFiles } from '../config/layout.js';
import type { VmStateName } from '../protocol/method.js';
import { BangerError, ErrorCode } from '../errors.js';
import { hostKeyAlias } from '../ssh/known-hosts.js';
import type { SshTarget } from '../ssh/options.js';
import type { PublishedPort } from '../store/published-ports.js';
import type { VmRecord } from '../store/vms.js';
import type { VmHandles } from '../vmm/vmm.js';
import type { VmContext } from './context.js';
import { ensureVmHostKeyPinned } from './host-key.js';
import { reconcile } from './reconcile.js';

/** A VM as the CLI sees it: the durable record plus what is true right now. */
export interface VmView {
  vm: VmRecord;
  image: string;
  running: boolean;
  /** Running with its vCPUs stopped (vm pause). */
  paused?: boolean;
  /** Stopped with its memory saved (vm stop --save). */
  suspended?: boolean;
  handles: VmHandles | undefined;
  /** Its ports published on 127.0.0.1. */
  published?: readonly PublishedPort[];
}

export function findVm(ctx: VmContext, ref: string): VmRecord {
  const vm = ctx.store.vms.find(ref);
  if (!vm)
    throw new BangerError(ErrorCode.NotFound, `vm "${ref}" not found`, {
      hint: '"banger vm ls" lists VMs',
    });
  return vm;
}

/**
 * The one liveness check: the VM has handles (in memory, else from handles.json) whose
 * pid is alive and is our VMM process for this VM. Returns those handles, else undefined.
 */
export async function liveHandles(ctx: VmContext, vm: VmRecord): Promise<VmHandles | undefined> {
  const handles = await ctx.handles.get(vm);
  if (!handles || !(await ctx.vmms.forDriver(handles.driver).alive(handles, vm.id)))
    return undefined;
  ctx.handles.remember(vm.id, handles);
  return handles;
}

/**
 * Whether a running VM's vCPUs are stopped (vm pause, or a save under way): asked of the
 * VMM each time, never recorded. A VMM that cannot tell, or does not answer, is running.
 */
export async function isPaused(ctx: VmContext, vm: VmRecord): Promise<boolean> {
  const handles = await liveHandles(ctx, vm);
  const snapshots = handles && ctx.vmms.forDriver(handles.driver).snapshots;
  if (!handles || !snapshots) return false;
  return snapshots.paused(handles).catch(() => false);
}

/** The state an operation is checked against: the record's, or paused / suspended. */
export async function effectiveState(ctx: VmContext, vm: VmRecord): Promise<VmStateName> {
  if (vm.state === 'running') return (await isPaused(ctx, vm)) ? 'paused' : 'running';
  return hasSavedState(vm) ? 'suspended' : vm.state;
}

/** vm stop --save left the VM's memory next to its disks (saved.json is written last). */
export function hasSavedState(vm: Pick<VmRecord, 'dir'>): boolean {
  return existsSync(vmFiles(vm.dir).savedMeta);
}

export async function vmAlive(ctx: VmContext, vm: VmRecord): Promise<boolean> {
  return (await liveHandles(ctx, vm)) !== undefined;
}

/**
 * The record brought up to date, unless a lifecycle operation holds the VM (a create that
 * is still booting must not be mistaken for a VM whose process died). Reads never wait.
 */
export async function refresh(ctx: VmContext, vm: VmRecord): Promise<VmRecord> {
  if (ctx.locks.held(vm.id)) return vm;
  return ctx.locks.run(vm.id, async () => {
    const current = ctx.store.vms.find(vm.id);
    return current ? reconcile(ctx, current) : vm;
  });
}

export async function viewOf(ctx: VmContext, vm: VmRecord): Promise<VmView> {
  const current = await refresh(ctx, vm);
  const handles = current.state === 'running' ? await liveHandles(ctx, current) : undefined;
  // While an operation holds the VM (a save pauses it on purpose) it is shown as recorded.
  const paused =
    handles !== undefined && !ctx.locks.held(current.id) && (await isPaused(ctx, current));
  return {
    vm: current,
    image: ctx.store.images.findById(current.imageId)?.name ?? current.imageId,
    running: handles !== undefined,
    paused,
    suspended: handles === undefined && hasSavedState(current),
    handles,
    published: ctx.store.publishedPorts.forVm(current.id),
  };
}

/**
 * How to reach the VM's sshd: its network says where, banger's key says who, and the host
 * key pinned under its alias says it is the VM banger made.
 */
export async function sshTarget(ctx: VmContext, vm: VmRecord): Promise<SshTarget> {
  const key = await ctx.sshKey();
  await ensureVmHostKeyPinned(ctx, vm);
  const { host, port } = ctx.networks.for(vm.networkMode).sshEndpoint(vm, ctx.handles.peek(vm.id));
  return {
    host,
    port,
    user: 'root',
    keyFile: key.privateKey,
    controlPath: sshControlPath(ctx.layout, vm.id),
    knownHostsFile: ctx.layout.knownHosts,
    hostKeyAlias: hostKeyAlias(vm.name),
  };
}
