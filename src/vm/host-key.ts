import { vmFiles } from '../config/layout.js';
import { debugfsCat } from '../disk/debugfs.js';
import { errorMessage } from '../errors.js';
import {
  hostKeyAlias,
  pinHostKey,
  pinnedKey,
  readKnownHosts,
  unpinHostKey,
} from '../ssh/known-hosts.js';
import type { VmRecord } from '../store/vms.js';
import type { VmContext } from './context.js';
import { PROVIDED_HOST_KEY } from './disks.js';

// A VM's host key is made at create and lives on its work disk as long as the VM does (stop
// and start, `vm set`, promote keep the work disk), so the disk is the source of truth: the
// line in banger's known_hosts is read from it at create, and again for a VM that has none.

/** Pins the public host key on the VM's work disk under the VM's alias. */
export async function pinVmHostKey(ctx: VmContext, vm: VmRecord): Promise<void> {
  const pub = await debugfsCat(vmFiles(vm.dir).workDisk, `${PROVIDED_HOST_KEY}.pub`, ctx.runner);
  await pinHostKey(ctx.layout.knownHosts, hostKeyAlias(vm.name), pub.toString('utf8'));
}

/**
 * A VM created before banger pinned host keys has no line: it gets one from its work disk
 * the first time banger connects. Never throws: without a line the connection fails with
 * banger's host key error, which is the answer for a disk that has no key.
 */
export async function ensureVmHostKeyPinned(ctx: VmContext, vm: VmRecord): Promise<void> {
  const alias = hostKeyAlias(vm.name);
  if (pinnedKey(await readKnownHosts(ctx.layout.knownHosts), alias) !== undefined) return;
  try {
    await pinVmHostKey(ctx, vm);
    ctx.log.info({ vm: vm.name }, 'host key pinned from the work disk');
  } catch (err) {
    ctx.log.warn({ vm: vm.name, err: errorMessage(err) }, 'no host key to pin on the work disk');
  }
}

export function unpinVmHostKey(ctx: VmContext, vm: VmRecord): Promise<void> {
  return unpinHostKey(ctx.layout.knownHosts, hostKeyAlias(vm.name));
}
