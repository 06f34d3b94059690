import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import { FileName, type Layout } from '../config/layout.js';
import type { FileSyncEntry } from '../config/schema.js';
import { PortForwards } from '../net/forward/port-forwards.js';
import { Networks, type NetworkMode, type NetworkProvider } from '../net/network.js';
import { UserModeNetwork } from '../net/user-mode.js';
import { ensureSshKey } from '../ssh/connection.js';
import type { SshKey } from '../ssh/connection.js';
import type { ImageRecord } from '../store/images.js';
import type { KernelRecord } from '../store/kernels.js';
import type { Store } from '../store/store.js';
import { KeyedMutex } from '../system/mutex.js';
import type { OpContext } from '../system/operation.js';
import type { Runner } from '../system/runner.js';
import type { VmmRegistry } from '../vmm/vmm.js';
import { HandlesCache } from './handles.js';
import { WarmStart } from './warm/warmer.js';
import { join } from 'node:path';

/** What the daemon hands the VM use cases. */
export interface VmDeps {
  layout: Layout;
  store: Store;
  runner: Runner;
  log: Logger;
  vmms: VmmRegistry;
  /** Image lookup with build-or-pull when missing (ImageService.ensure). */
  ensureImage(name: string, op: OpContext): Promise<ImageRecord>;
  defaultImage: string;
  /** [[file_sync]] from config, copied onto every new VM's work disk. */
  fileSync?: readonly FileSyncEntry[] | undefined;
  /** vmm.qemu_img_binary: the qemu-img that makes system-disk overlays. */
  qemuImg?: string | undefined;
  /** The guest kit's disk, built when first needed (VMs from pulled images boot with it). */
  ensureKit(op: OpContext): Promise<string>;
  /** A kernel's modules as a disk (pulled images lack them); undefined without a module tree. */
  ensureModules(kernel: KernelRecord, op: OpContext): Promise<string | undefined>;
  /** The config's [network] mode and egress: what a create without --network/--egress gets. */
  networkDefaults?: { mode: NetworkMode; egress: string } | undefined;
  /**
   * Throws when a user-mode VM without NAT could not reach the egress proxy here (no
   * busybox on the host for QEMU's link to it).
   */
  egressCheck?: (() => void) | undefined;
  /** Where tap guests find the egress proxy (the bridge address and network.egress_port). */
  tapProxy?: { host: string; port: number } | undefined;
  /** ssh.manage_config: keep banger's Include block in ~/.ssh/config (default true). */
  manageSshConfig?: boolean | undefined;
  /** logs.session_max: what a session keeps of its output in the guest (default 8 MiB). */
  sessionMaxBytes?: number | undefined;
  /** The network providers; user mode when not given. */
  networks?: (portsInUse: () => ReadonlySet<number>, handles: HandlesCache) => NetworkProvider[];
  /** Warm start: where templates live and whether they are made after a cold boot. */
  warm?: { dir: string; auto: boolean } | undefined;
}

/**
 * The small state the VM use cases share: the daemon's dependencies plus the locks, the
 * handles cache, the names being created and banger's ssh key. Each use case is a function
 * of this context; none of them holds state of its own.
 */
export interface VmContext extends Omit<VmDeps, 'networks' | 'warm'> {
  /** Lifecycle operations per VM (create, start, stop, kill, restart, delete, set). */
  readonly locks: KeyedMutex;
  /** Workspace I/O per VM: separate, so `vm stop`/`delete` never wait for a slow import. */
  readonly workspaceLocks: KeyedMutex;
  /** Creates reserve their name here until the record exists. */
  readonly creating: Set<string>;
  readonly handles: HandlesCache;
  readonly networks: Networks;
  /** Published ports' open forwards (tap relays live here; QEMU holds user-mode ones). */
  readonly forwards: PortForwards;
  /** Templates and resuming from them; absent when the daemon has none (unit tests). */
  warm?: WarmStart | undefined;
  sshKey(): Promise<SshKey>;
}

export function vmContext(deps: VmDeps): VmContext {
  const handles = new HandlesCache(deps.vmms);
  // Published host ports count as used even while their VM is stopped: its next start needs them.
  const portsInUse = () => new Set([...handles.ports(), ...deps.store.publishedPorts.hostPorts()]);
  const providers = deps.networks?.(portsInUse, handles) ?? [new UserModeNetwork(portsInUse)];
  let key: Promise<SshKey> | undefined;
  const ctx: VmContext = {
    ...deps,
    warm: undefined,
    locks: new KeyedMutex(),
    workspaceLocks: new KeyedMutex(),
    creating: new Set(),
    handles,
    networks: new Networks(providers),
    forwards: new PortForwards(),
    async sshKey() {
      // The promise is kept, not the key: parallel first creates must share one ssh-keygen
      // (a second one finds the file and asks on stdin whether to overwrite it).
      key ??= ensureSshKey(deps.layout.sshDir, deps.runner).catch((err: unknown) => {
        key = undefined;
        throw err;
      });
      const made = await key;
      await mkdir(join(deps.layout.runtimeDir, FileName.sshControlDir), {
        recursive: true,
        mode: 0o700,
      });
      return made;
    },
  };
  if (deps.warm) ctx.warm = new WarmStart(ctx, deps.warm.dir, deps.warm.auto);
  return ctx;
}
