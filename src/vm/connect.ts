import { vmFiles } from '../config/layout.js';
import { BangerError, ErrorCode, errorMessage } from '../errors.js';
import { loginUntil, SSH_WAIT_MS, VmExited } from './boot.js';
import type { SshTarget } from '../ssh/options.js';
import type { VmRecord } from '../store/vms.js';
import type { VmHandles } from '../vmm/vmm.js';
import type { VmContext } from './context.js';
import { liveHandles, sshTarget } from './lookup.js';
import { reconcile } from './reconcile.js';

/** A running VM and how to reach it: for `vm ssh`, sessions and workspaces. */
export interface Connection {
  vm: VmRecord;
  target: SshTarget;
  handles: VmHandles;
}

/**
 * The VM's ssh target, its master connection restarted if it died. The caller holds the
 * lifecycle lock only for this; workspace and session I/O then run without it, so
 * lifecycle operations never queue behind a copy.
 */
export async function connect(
  ctx: VmContext,
  vm: VmRecord,
  signal: AbortSignal,
): Promise<Connection> {
  const handles = await liveHandles(ctx, vm);
  if (!handles) throw notRunning(vm);
  const target = await sshTarget(ctx, vm);
  // A VM that started moments ago may still be booting (a create the daemon died in, then
  // adopted): logins are tried until its boot would have timed out, as a create does.
  const booting = Date.parse(handles.startedAt) + SSH_WAIT_MS;
  const until = Number.isNaN(booting) ? Date.now() : booting;
  const vmm = ctx.vmms.forDriver(handles.driver);
  await loginUntil(target, vmFiles(vm.dir).sshLog, ctx.runner, until, signal, () =>
    vmm.alive(handles, vm.id),
  ).catch(async (err: unknown) => {
    // A wrong host key fails every connection: say it once, here, rather than as ssh's 255.
    if (err instanceof BangerError && err.code === ErrorCode.HostKey) throw err;
    // Powered off from inside (or killed) since it was last looked at: recorded as stopped.
    if (err instanceof VmExited) {
      await reconcile(ctx, vm);
      throw notRunning(vm);
    }
    ctx.log.warn({ vm: vm.name, err: errorMessage(err) }, 'ssh master not available');
  });
  return { vm, target, handles };
}

function notRunning(vm: VmRecord): BangerError {
  return new BangerError(ErrorCode.Conflict, `vm "${vm.name}" is not running`, {
    hint: `banger vm start ${vm.name}`,
  });
}
