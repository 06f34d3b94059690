import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmFiles } from '../../config/layout.js';
import { BangerError, ErrorCode, errorMessage } from '../../errors.js';
import { ensureMaster, generateKey } from '../../ssh/connection.js';
import { hostKeyAlias, pinHostKey } from '../../ssh/known-hosts.js';
import { newId } from '../../system/atomic-publish.js';
import type { OpContext } from '../../system/operation.js';
import type { Runner } from '../../system/runner.js';
import { launch, launchSpec, running, writeSshConfig } from '../boot.js';
import type { VmContext } from '../context.js';
import { recordVm, type NewVm } from '../create.js';
import { findVm, sshTarget, viewOf, type VmView } from '../lookup.js';
import { copyDisk } from '../disks.js';
import { destroy } from '../stop.js';
import { sendIdentity, type Identity } from './guest-hook.js';
import type { Snapshots } from '../../vmm/vmm.js';
import { freshBootId } from './boot-id.js';
import type { TemplateFiles, TemplateMeta } from './templates.js';

/**
 * A new VM resumed from a template instead of booted: its disks are copies of the
 * template's (a few MB: the system overlay's changes and a nearly empty work disk), its
 * RAM the template's memory.ram mapped copy-on-write, its device state loaded from
 * device.state. The moment it runs, the identity hook in it gets the VM's own name,
 * machine-id, ssh host key (made here, pinned like a booted VM's), fresh entropy and the
 * time; then banger logs in once and keeps the connection, as after a boot.
 * A failure removes the VM again and is thrown: the caller boots one cold instead.
 */
export async function restoreVm(
  ctx: VmContext,
  v: Omit<NewVm, 'id'>,
  template: {
    files: TemplateFiles;
    meta: Pick<TemplateMeta, 'key' | 'bootIdSites'>;
    /** Its state is device state alone (a fork's copy, Snapshots.saveDevices). */
    devicesOnly?: boolean;
  },
  snapshots: Snapshots,
  op: OpContext,
): Promise<VmView> {
  const id = newId();

  return ctx.locks.run(id, async () => {
    const hostKey = await makeHostKey(v.name, ctx.runner);
    const vm = await recordVm(ctx, { ...v, id }, async (files) => {
      // Until it has its own identity: a daemon that dies before then removes it.
      await writeFile(files.resuming, '');
      await copyDisk(template.files.systemDisk, files.systemDisk, ctx.runner);
      await copyDisk(template.files.workDisk, files.workDisk, ctx.runner);
    });
    const started = Date.now();
    try {
      await pinHostKey(ctx.layout.knownHosts, hostKeyAlias(vm.name), hostKey.publicKey);
      await writeSshConfig(ctx);
      const network = await ctx.networks.for(vm.networkMode).attach(vm);
      const spec = await launchSpec(ctx, vm, v.image, network, op);
      const handles = await launch(
        ctx,
        vm,
        {
          ...spec,
          memory: { file: template.files.memory, shared: false },
          restore: { stateFile: template.files.state, devicesOnly: template.devicesOnly },
        },
        network,
        op,
      );
      const loaded = Date.now();
      // Its own boot_id before it runs; a host that will not let banger write there (ptrace
      // rules) still gets a working VM, sharing the template's boot_id.
      const { writes } = freshBootId(template.meta.bootIdSites);
      await snapshots
        .writeMemory(handles, template.files.memory, writes)
        .catch((err: unknown) =>
          ctx.log.warn({ vm: vm.name, err: errorMessage(err) }, 'boot_id not rewritten'),
        );
      await snapshots.resume(handles);
      await running(ctx, vm, handles, op);
      if (!handles.dataSocket)
        throw new BangerError(ErrorCode.Internal, `${handles.driver} gave the VM no data port`);
      const net = network.launch.mode === 'tap' ? network.launch : undefined;
      const identity: Identity = {
        name: vm.name,
        hostKey,
        ...(net
          ? {
              net: {
                mac: net.mac,
                ip: network.guest.ip,
                gateway: network.guest.gateway,
                dns: network.guest.dns,
              },
            }
          : {}),
      };
      await sendIdentity(handles.dataSocket, identity, op.signal);
      const identified = Date.now();
      const target = await sshTarget(ctx, findVm(ctx, vm.id));
      await ensureMaster(target, vmFiles(vm.dir).sshLog, ctx.runner, op.signal);
      await rm(vmFiles(vm.dir).resuming, { force: true });
      ctx.log.info(
        {
          vm: vm.name,
          template: template.meta.key,
          loadMs: loaded - started,
          identityMs: identified - loaded,
          loginMs: Date.now() - identified,
        },
        'vm resumed',
      );
    } catch (err) {
      await destroy(ctx, findVm(ctx, vm.id)).catch(() => undefined);
      throw err;
    }
    return viewOf(ctx, findVm(ctx, vm.id));
  });
}

/** The VM's ssh host key, made on the host (milliseconds here, a second in the guest). */
async function makeHostKey(name: string, runner: Runner): Promise<Identity['hostKey']> {
  const scratch = await mkdtemp(join(tmpdir(), 'banger-hostkey-'));
  try {
    const file = join(scratch, 'key');
    await generateKey(file, `banger-vm ${name}`, runner);
    return {
      privateKey: await readFile(file, 'utf8'),
      publicKey: (await readFile(`${file}.pub`, 'utf8')).trim(),
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
