import type { VmRecord } from '../store/vms.js';
import { freeLoopbackPort } from '../system/ports.js';
import type { VmHandles } from '../vmm/vmm.js';
import type { Attachment, GuestAddress, NetworkProvider } from './network.js';

/** QEMU user networking's fixed addresses: every user-mode guest has the same ones. */
const USER_NET: GuestAddress = { ip: '10.0.2.15/24', gateway: '10.0.2.2', dns: '10.0.2.3' };

/** What user-mode networking needs of the egress proxy (egress/service.ts). */
export interface UserEgress {
  /** A 127.0.0.1 port that is this VM's way to the proxy; `port` again after a restart. */
  openLoopback(vmId: string, port?: number): Promise<number>;
  closeLoopback(vmId: string): Promise<void>;
  /** The host's busybox: `busybox nc` joins each guest connection to that port. */
  busybox: string | undefined;
  /** A running VM's handles (the port its QEMU was told), at reconcile. */
  handlesOf(vm: VmRecord): Promise<VmHandles | undefined>;
}

/**
 * User-mode networking (rootless): the VMM's own NAT, ssh forwarded from a port on
 * 127.0.0.1. Without NAT (egress none or a list of names) the guest reaches nothing but
 * the proxy's address, which QEMU joins to a port of the daemon's egress proxy for this VM
 * (opened at attach, closed at detach, opened again by a restarted daemon). The ssh port is
 * recorded with the VM and reused at its next start when free.
 */
export class UserModeNetwork implements NetworkProvider {
  readonly mode = 'user' as const;

  /** `portsInUse`: the forwarded ports our running VMs hold (the handles cache knows). */
  constructor(
    private readonly portsInUse: () => ReadonlySet<number>,
    private readonly egress?: UserEgress,
  ) {}

  check(): Promise<void> {
    return Promise.resolve();
  }

  allocate(): Promise<{ guestIp: string }> {
    return Promise.resolve({ guestIp: USER_NET.ip.split('/')[0]! });
  }

  async attach(vm: VmRecord): Promise<Attachment> {
    const egress = this.egress;
    const proxy =
      !vm.nat && egress?.busybox
        ? await egress.openLoopback(vm.id).then((port) => ({
            port,
            command: `${egress.busybox} nc 127.0.0.1 ${port}`,
          }))
        : undefined;
    return {
      // The recorded port first, so a user's ssh config keeps working across restarts.
      launch: {
        mode: 'user',
        sshPort: vm.sshPort,
        nat: vm.nat,
        ...(proxy ? { egress: proxy } : {}),
      },
      guest: USER_NET,
      freePort: () => this.freePort(),
    };
  }

  async detach(vm: Pick<VmRecord, 'id'>): Promise<void> {
    await this.egress?.closeLoopback(vm.id);
  }

  release(): Promise<void> {
    return Promise.resolve();
  }

  /** The running VMs' QEMUs still lead their guests to the ports they were told at boot. */
  async reconcile(vms: readonly VmRecord[]): Promise<void> {
    const egress = this.egress;
    if (!egress) return;
    for (const vm of vms) {
      if (vm.networkMode !== 'user' || vm.state !== 'running' || vm.nat) continue;
      const port = (await egress.handlesOf(vm))?.egressPort;
      // A port someone else took meanwhile: the service logs it, the VM runs without a way out.
      if (port) await egress.openLoopback(vm.id, port).catch(() => undefined);
    }
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
