import type { VmRecord } from '../store/vms.js';
import { freeLoopbackPort } from '../system/ports.js';
import type { VmHandles } from '../vmm/vmm.js';
import type { Attachment, GuestAddress, NetworkProvider } from './network.js';

/** QEMU user networking's fixed addresses: every user-mode guest has the same ones. */
const USER_NET: GuestAddress = { ip: '10.0.2.15/24', gateway: '10.0.2.2', dns: '10.0.2.3' };

/**
 * User-mode networking (rootless): the VMM's own NAT, ssh forwarded from a port on
 * 127.0.0.1. Nothing is held outside the VMM process, so there is nothing to release or
 * reconcile; the port is recorded with the VM and reused at its next start when free.
 */
export class UserModeNetwork implements NetworkProvider {
  readonly mode = 'user' as const;

  /** `portsInUse`: the forwarded ports our running VMs hold (the handles cache knows). */
  constructor(private readonly portsInUse: () => ReadonlySet<number>) {}

  check(): Promise<void> {
    return Promise.resolve();
  }

  allocate(): Promise<{ guestIp: string }> {
    return Promise.resolve({ guestIp: USER_NET.ip.split('/')[0]! });
  }

  attach(vm: VmRecord): Promise<Attachment> {
    return Promise.resolve({
      // The recorded port first, so a user's ssh config keeps working across restarts.
      launch: { mode: 'user', sshPort: vm.sshPort, nat: vm.nat },
      guest: USER_NET,
      freePort: () => this.freePort(),
    });
  }

  detach(): Promise<void> {
    return Promise.resolve();
  }

  release(): Promise<void> {
    return Promise.resolve();
  }

  reconcile(): Promise<void> {
    return Promise.resolve();
  }

  sshEndpoint(vm: VmRecord, handles: VmHandles | undefined): { host: string; port: number } {
    return { host: '127.0.0.1', port: handles?.sshPort ?? vm.sshPort };
  }

  /** A port on 127.0.0.1 nobody listens on now, and that none of our running VMs holds. */
  private async freePort(): Promise<number> {
    const used = this.portsInUse();
    for (;;) {
      const port = await freeLoopbackPort();
      if (!used.has(port)) return port;
    }
  }
}
