import { vmFiles } from '../config/layout.js';
import { BangerError, ErrorCode, errorMessage } from '../errors.js';
import { kitCmdline } from '../guest/kit/boot-files.js';
import type { Attachment, GuestAddress } from '../net/network.js';
import { installClientConfig } from '../ssh/client-config.js';
import { ensureMaster } from '../ssh/connection.js';
import type { SshTarget } from '../ssh/options.js';
import type { ImageRecord } from '../store/images.js';
import type { KernelRecord } from '../store/kernels.js';
import type { VmRecord } from '../store/vms.js';
import type { OpContext } from '../system/operation.js';
import type { Runner } from '../system/runner.js';
import type { LaunchSpec, VmHandles } from '../vmm/vmm.js';
import type { VmContext } from './context.js';
import { ensureAuthorizedKey } from './disks.js';
import { findVm, sshTarget, viewOf, type VmView } from './lookup.js';
import { openForwards } from './ports.js';
import { cleanupRuntime } from './reconcile.js';
import { consoleEnd, waitForReadyLine } from './readiness.js';

/** Read-only disks follow system (vda) and work (vdb): the kit, then the kernel's modules. */
const KIT_DEVICE = '/dev/vdc';
const MODULES_DEVICE = '/dev/vdd';

/** How long a VM may take from boot to "sshd ready" before vm create/start/run give up. */
export const SSH_WAIT_MS = 90_000;

/** `vm start`: the caller holds the VM's lock and has checked it is not running. */
export async function startVm(
  ctx: VmContext,
  vm: VmRecord,
  op: OpContext,
  sshWaitMs?: number,
): Promise<VmView> {
  const key = await ctx.sshKey();
  await ensureAuthorizedKey(vmFiles(vm.dir).workDisk, key.publicKey, ctx.runner);
  await boot(ctx, vm, op, sshWaitMs);
  return viewOf(ctx, findVm(ctx, vm.id));
}

/** Launches the VMM, records its handles, waits for sshd. Caller holds the VM's lock. */
export async function boot(
  ctx: VmContext,
  vm: VmRecord,
  op: OpContext,
  sshWaitMs = SSH_WAIT_MS,
): Promise<void> {
  const image = ctx.store.images.findById(vm.imageId);
  if (!image)
    throw new BangerError(ErrorCode.NotFound, `vm "${vm.name}": its image is gone`, {
      hint: `delete the VM ("banger vm rm ${vm.name}")`,
    });
  const vmm = ctx.vmms.current;
  await writeSshConfig(ctx);
  const network = await ctx.networks.for(vm.networkMode).attach(vm);
  const spec = await launchSpec(ctx, vm, image, network, op);
  op.progress('boot', `${vmm.driver}/${vmm.accel}, ${vm.vcpu} vcpu, ${vm.memoryMiB} MiB`);
  const handles = await launch(ctx, vm, spec, network, op);
  await running(ctx, vm, handles, op);
  await waitForSsh(ctx, findVm(ctx, vm.id), handles, op, sshWaitMs);
}

/** `ssh NAME.vm` works from the first VM on; it never stands in the way of a boot. */
export async function writeSshConfig(ctx: VmContext): Promise<void> {
  await installClientConfig(ctx.layout, { manageUserConfig: ctx.manageSshConfig ?? true }).catch(
    (err: unknown) => ctx.log.warn({ err: errorMessage(err) }, 'ssh config not written'),
  );
}

/**
 * What the VMM is told to boot for a VM: its kernel with banger's command line, its disks
 * (and for a pulled image the guest kit and the kernel's modules), its size and network.
 */
export async function launchSpec(
  ctx: VmContext,
  vm: VmRecord,
  image: ImageRecord,
  network: Attachment,
  op: OpContext,
): Promise<LaunchSpec> {
  const kernel = kernelOf(ctx, image);
  // A pulled image has no sshd or init of banger's, nor the modules of banger's kernel: the
  // guest kit (/dev/vdc) and the kernel's modules disk (/dev/vdd) bring them.
  const kit = image.oci ? await ctx.ensureKit(op) : undefined;
  const modules = kit ? await ctx.ensureModules(kernel, op) : undefined;
  const files = vmFiles(vm.dir);
  return {
    id: vm.id,
    name: vm.name,
    dir: vm.dir,
    kernel: kernel.kernelFile,
    initrd: kernel.initrdFile ?? undefined,
    cmdline: [
      ...guestCmdline(vm.name, network.guest),
      ...(kit ? kitCmdline(KIT_DEVICE) : []),
      ...(modules ? [`banger.modules=${MODULES_DEVICE}`] : []),
    ],
    systemDisk: { path: files.systemDisk, format: 'qcow2' },
    workDisk: files.workDisk,
    readOnlyDisks: kit ? [kit, ...(modules ? [modules] : [])] : [],
    vcpu: vm.vcpu,
    memoryMiB: vm.memoryMiB,
    network: network.launch,
  };
}

/** Starts the VMM; a launch that fails marks the VM and gives its network back. */
export async function launch(
  ctx: VmContext,
  vm: VmRecord,
  spec: LaunchSpec,
  network: Attachment,
  op: OpContext,
): Promise<VmHandles> {
  try {
    return await ctx.vmms.current.start(spec, {
      signal: op.signal,
      freePort: () => network.freePort(),
    });
  } catch (err) {
    ctx.store.vms.setState(vm.id, 'error', errorMessage(err));
    await ctx.networks
      .for(vm.networkMode)
      .detach(vm)
      .catch(() => {});
    throw err;
  }
}

/** The VMM runs: its handles recorded, the VM marked running, its published ports opened. */
export async function running(
  ctx: VmContext,
  vm: VmRecord,
  handles: VmHandles,
  op: OpContext,
): Promise<void> {
  const { store } = ctx;
  if (handles.sshPort !== vm.sshPort) store.vms.setSshPort(vm.id, handles.sshPort);
  await ctx.handles.set(vm, handles);
  store.vms.setState(vm.id, 'running', null);
  await openForwards(ctx, vm, handles, (message) => op.progress('ports', message));
}

/**
 * What the guest reads from its kernel command line: the root disk, and its identity for
 * banger-network (the Debian cloud kernel has no CONFIG_IP_PNP, so no `ip=`).
 */
export function guestCmdline(hostname: string, guest: GuestAddress): string[] {
  return [
    ...['root=/dev/vda', 'rw', 'quiet', 'cryptomgr.notests'],
    `banger.hostname=${hostname}`,
    `banger.ip=${guest.ip}`,
    `banger.gw=${guest.gateway}`,
    `banger.dns=${guest.dns}`,
  ];
}

async function waitForSsh(
  ctx: VmContext,
  vm: VmRecord,
  handles: VmHandles,
  op: OpContext,
  waitMs: number,
): Promise<void> {
  op.progress('wait for ssh', `guest console: ${handles.consoleLog}`);
  const started = Date.now();
  const deadline = started + waitMs;
  const vmm = ctx.vmms.forDriver(handles.driver);
  const outcome = await waitForReadyLine({
    consoleLog: handles.consoleLog,
    deadline,
    signal: op.signal,
    stillRunning: () => vmm.alive(handles, vm.id),
  });
  if (outcome === 'exited') throw await exitedDuringBoot(ctx, vm, handles);
  if (outcome === 'timeout')
    throw sshTimeout(ctx, vm, waitMs, undefined, await consoleEnd(handles.consoleLog));
  const ready = Date.now();
  // sshd listens: log in once and keep the connection for every later command.
  const target = await sshTarget(ctx, vm);
  try {
    await loginUntil(target, vmFiles(vm.dir).sshLog, ctx.runner, deadline, op.signal, () =>
      vmm.alive(handles, vm.id),
    );
  } catch (err) {
    op.signal.throwIfAborted();
    if (err instanceof VmExited) throw await exitedDuringBoot(ctx, vm, handles);
    // Another try would meet the same key: say so now, and keep the VM for inspection.
    if (err instanceof BangerError && err.code === ErrorCode.HostKey) {
      ctx.store.vms.setState(vm.id, 'running', 'its ssh host key is not the one banger pinned');
      throw err;
    }
    throw sshTimeout(ctx, vm, waitMs, err);
  }
  ctx.log.info(
    { vm: vm.name, sshdReadyMs: ready - started, loginMs: Date.now() - ready },
    'vm ready',
  );
}

/** The VM's process ended before it could be logged into: the error, the VM marked. */
async function exitedDuringBoot(
  ctx: VmContext,
  vm: VmRecord,
  handles: VmHandles,
): Promise<BangerError> {
  const tail = await consoleEnd(handles.consoleLog);
  await cleanupRuntime(ctx, vm);
  ctx.store.vms.setState(vm.id, 'error', `the VM process exited during boot`);
  return new BangerError(
    ErrorCode.Subprocess,
    `vm "${vm.name}": the VM process exited during boot${tail ? `; the console ends with:\n${tail}` : ''}`,
    {
      hint: `"banger vm logs ${vm.name}" shows the whole console; "banger vm rm ${vm.name}" cleans up`,
    },
  );
}

/**
 * The ssh master, tried every half second until it works or the deadline passes: a guest's
 * sshd can announce itself a moment before its network lets a connection through. A host
 * key that is not the pinned one is thrown at once (another try would meet the same key);
 * else the last attempt's error.
 */
export async function loginUntil(
  target: SshTarget,
  sshLog: string,
  runner: Runner,
  deadline: number,
  signal: AbortSignal,
  stillRunning?: () => Promise<boolean>,
): Promise<void> {
  let lastError: unknown;
  do {
    try {
      await ensureMaster(target, sshLog, runner, signal);
      return;
    } catch (err) {
      signal.throwIfAborted();
      if (err instanceof BangerError && err.code === ErrorCode.HostKey) throw err;
      // A VM that powered itself off (or was killed) refuses every try: no use waiting.
      if (stillRunning && !(await stillRunning())) throw new VmExited();
      lastError = err;
      await new Promise((r) => setTimeout(r, 500));
    }
  } while (Date.now() < deadline);
  throw lastError;
}

/** loginUntil gave up because the VM's process is gone. */
export class VmExited extends Error {
  constructor() {
    super('the VM process exited');
  }
}

/**
 * The guest did not get as far as a login in time: either it never announced sshd (the end
 * of its console says how far it got) or sshd announced itself and every login failed (the
 * last attempt's error says why).
 */
function sshTimeout(
  ctx: VmContext,
  vm: VmRecord,
  waitMs: number,
  cause?: unknown,
  consoleEnd = '',
): BangerError {
  const why = cause ? ` (last attempt: ${errorMessage(cause)})` : '';
  const ending = consoleEnd ? `; its console ends with:\n${consoleEnd}` : '';
  const message =
    `vm "${vm.name}" booted but ssh did not come up within ${formatSeconds(waitMs)}${why}: ` +
    `sshd in the guest is the likely suspect. The VM is still running for inspection${ending}`;
  ctx.store.vms.setState(vm.id, 'running', `ssh did not come up within ${formatSeconds(waitMs)}`);
  return new BangerError(ErrorCode.SshTimeout, message, {
    hint: `"banger vm logs ${vm.name}" shows its console; "banger vm delete ${vm.name}" removes it`,
  });
}

export function kernelOf(ctx: VmContext, image: ImageRecord): KernelRecord {
  const kernel = image.kernelId ? ctx.store.kernels.findById(image.kernelId) : undefined;
  if (!kernel)
    throw new BangerError(ErrorCode.NotFound, `image "${image.name}" has no kernel`, {
      hint: `register it again with --kernel-ref or --kernel ("banger image register --help")`,
    });
  return kernel;
}

function formatSeconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)}s` : `${ms}ms`;
}
