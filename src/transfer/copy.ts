import { inGuest } from '../system/disk-full.js';
import type { OpContext } from '../system/operation.js';
import type { Connection } from '../vm/connect.js';
import type { VmContext } from '../vm/context.js';
import { copyIn, copyOut } from './vm-copy.js';

/**
 * `vm cp`: under the VM's workspace lock, which every user of its data port takes (one
 * client at a time); lifecycle operations never wait for a copy.
 */
export async function copyFiles(
  ctx: VmContext,
  conn: Connection,
  req: { direction: 'in' | 'out'; host: string; guest: string },
  op: OpContext,
): Promise<{ name: string; via: 'data port' | 'ssh' }> {
  const { vm, target, handles } = conn;
  const vmm = ctx.vmms.forDriver(handles.driver);
  const opts = {
    target,
    dataSocket: vmm.capabilities.dataPort ? handles.dataSocket : undefined,
    runner: ctx.runner,
    signal: op.signal,
  };
  return ctx.workspaceLocks.run(vm.id, async () => {
    const started = Date.now();
    const guest = `${vm.name}:${req.guest}`;
    op.progress(
      'copy',
      req.direction === 'in' ? `${req.host} → ${guest}` : `${guest} → ${req.host}`,
    );
    const { via } = await (
      req.direction === 'in'
        ? copyIn(req.host, req.guest, opts)
        : copyOut(req.guest, req.host, opts)
    ).catch(inGuest(vm.name));
    ctx.log.info({ vm: vm.name, ...req, via, ms: Date.now() - started }, 'vm cp');
    return { name: vm.name, via };
  });
}
