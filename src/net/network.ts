import { notImplemented } from '../errors.js';
import type { VmRecord } from '../store/vms.js';
import type { LaunchNetwork, VmHandles } from '../vmm/vmm.js';

// The network seam: what a VM's network is, behind one interface the VM use cases call at
// create (allocate), boot (attach), delete (release) and daemon start (reconcile). User
// mode (QEMU's slirp, rootless) is the provider today; the tap provider plugs in beside it.

export type NetworkMode = VmRecord['networkMode'];

/** The guest's side, read by banger-network from the kernel command line. */
export interface GuestAddress {
  /** The guest's address with its prefix, e.g. 10.0.2.15/24. */
  ip: string;
  gateway: string;
  dns: string;
}

export interface Attachment {
  /** What the VMM is told. */
  launch: LaunchNetwork;
  guest: GuestAddress;
  /** Another free forwarded port, for a VMM whose first choice was taken meanwhile. */
  freePort(): Promise<number>;
}

export interface NetworkProvider {
  readonly mode: NetworkMode;
  /** Before a create makes anything: fails at once when this host cannot do this mode. */
  check(): Promise<void>;
  /** At create: the durable part kept in the VM's record (its guest address). */
  allocate(vm: { id: string; name: string; nat: boolean }): Promise<{ guestIp: string }>;
  /** At boot: the network the VMM attaches the VM to. */
  attach(vm: VmRecord): Promise<Attachment>;
  /** When the VM's process has ended (stop, kill, a failed boot, reconcile): undoes attach. */
  detach(vm: Pick<VmRecord, 'id'>): Promise<void>;
  /** At delete, or a create that failed after allocate: gives back what allocate took. */
  release(vm: Pick<VmRecord, 'id' | 'name' | 'guestIp'>): Promise<void>;
  /** At daemon start, with every VM there is: frees what belongs to none of them. */
  reconcile(vms: readonly VmRecord[]): Promise<void>;
  /** A running VM's egress changed to or from `all`: its NAT follows (tap; user mode cannot). */
  setNat?(vmId: string, nat: boolean): Promise<void>;
  /** Where the host reaches the VM's sshd (the live handles when it runs). */
  sshEndpoint(vm: VmRecord, handles: VmHandles | undefined): { host: string; port: number };
}

/** The providers a daemon has, by mode. */
export class Networks {
  private readonly byMode: ReadonlyMap<NetworkMode, NetworkProvider>;

  constructor(providers: readonly NetworkProvider[]) {
    this.byMode = new Map(providers.map((p) => [p.mode, p]));
  }

  for(mode: NetworkMode): NetworkProvider {
    const provider = this.byMode.get(mode);
    if (!provider) throw notImplemented(`${mode} networking`);
    return provider;
  }

  all(): NetworkProvider[] {
    return [...this.byMode.values()];
  }
}
