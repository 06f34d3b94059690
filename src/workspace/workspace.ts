import { inGuest } from '../system/disk-full.js';
import type { OpContext } from '../system/operation.js';
import type { Connection } from '../vm/connect.js';
import type { VmContext } from '../vm/context.js';
import { exportRepo, GUEST_REPO, importRepo, inspectRepo } from './git-transfer.js';

export interface PrepareRequest {
  path: string;
  branch?: string | undefined;
  from?: string | undefined;
}

export interface Prepared {
  name: string;
  root: string;
  base: string;
  files: number;
  via: 'data port' | 'ssh';
  branch?: string;
}

/**
 * `vm workspace prepare`: the host repository copied into the guest at /root/repo, under
 * the VM's workspace lock (two prepares take turns; stop and delete never wait for one).
 * The repository is checked before the VM is (`inspect`), so a bad path costs nothing.
 */
export async function prepareWorkspace(
  ctx: VmContext,
  conn: Connection,
  req: PrepareRequest,
  op: OpContext,
): Promise<Prepared> {
  const repo = await inspectRepo(req.path, ctx.runner);
  const { vm, target, handles } = conn;
  const vmm = ctx.vmms.forDriver(handles.driver);
  return ctx.workspaceLocks.run(vm.id, async () => {
    op.progress('workspace', `copying ${repo.root} into ${GUEST_REPO}`);
    const { base, files, via } = await importRepo({
      repo,
      target,
      dataSocket: vmm.capabilities.dataPort ? handles.dataSocket : undefined,
      branch: req.branch,
      from: req.from,
      runner: ctx.runner,
      signal: op.signal,
    }).catch(inGuest(vm.name));
    ctx.log.info({ vm: vm.name, files, via }, 'workspace imported');
    return {
      name: vm.name,
      root: repo.root,
      base,
      files,
      via,
      ...(req.branch ? { branch: req.branch } : {}),
    };
  });
}

/** `vm workspace export`: the guest repo's changes as a patch (or names) written to `out`. */
export async function exportWorkspace(
  ctx: VmContext,
  conn: Connection,
  req: { out: string; nameOnly: boolean },
  op: OpContext,
): Promise<{ name: string; bytes: number }> {
  const { vm, target } = conn;
  return ctx.workspaceLocks.run(vm.id, async () => {
    const { bytes } = await exportRepo({
      target,
      out: req.out,
      nameOnly: req.nameOnly,
      runner: ctx.runner,
      signal: op.signal,
    }).catch(inGuest(vm.name));
    return { name: vm.name, bytes };
  });
}
