import { BangerError, ErrorCode } from '../../errors.js';
import type { HostForward, VmHandles, Vmm } from '../../vmm/vmm.js';
import type { NetworkMode } from '../network.js';
import { TcpRelay } from './tcp-relay.js';

/** What one running VM's published ports are opened, closed and listed with. */
export interface Forwarder {
  /** Opens 127.0.0.1:hostPort → guestPort; a taken host port is a Conflict error. */
  add(forward: HostForward): Promise<void>;
  remove(forward: HostForward): Promise<void>;
  /** The forwards open now (for user mode, what the VMM itself says it holds). */
  open(): Promise<HostForward[]>;
}

export interface ForwardedVm {
  id: string;
  name: string;
  networkMode: NetworkMode;
  guestIp: string | null;
}

/**
 * The daemon's forwarding mechanics, by network mode. User mode: the VMM forwards
 * (QEMU's hostfwd, added at runtime through its control socket), so the forwards live and
 * die with the VMM process and survive a daemon restart. Tap mode: a TcpRelay per port in
 * this process, to the guest's own address; a new daemon opens them again. Also remembers
 * why a forward could not be opened, for `vm ports`.
 */
export class PortForwards {
  private readonly relays = new Map<string, Map<number, TcpRelay>>();
  private readonly failures = new Map<string, Map<number, string>>();

  for(vm: ForwardedVm, handles: VmHandles, vmm: Vmm): Forwarder {
    return vm.networkMode === 'tap' ? this.relayed(vm) : this.byVmm(vm, handles, vmm);
  }

  /** Why the forward of this guest port is not open, when opening it failed. */
  failure(vmId: string, guestPort: number): string | undefined {
    return this.failures.get(vmId)?.get(guestPort);
  }

  setFailure(vmId: string, guestPort: number, why: string | undefined): void {
    const byPort = this.failures.get(vmId) ?? new Map<number, string>();
    if (why === undefined) byPort.delete(guestPort);
    else byPort.set(guestPort, why);
    if (byPort.size > 0) this.failures.set(vmId, byPort);
    else this.failures.delete(vmId);
  }

  /** The VM's process ended (stop, kill, delete, reconcile): its relays close. */
  async release(vmId: string): Promise<void> {
    const relays = this.relays.get(vmId);
    this.relays.delete(vmId);
    this.failures.delete(vmId);
    await Promise.all([...(relays?.values() ?? [])].map((r) => r.close()));
  }

  /** The daemon closes: every relay goes (tap VMs get theirs back from the next daemon). */
  async close(): Promise<void> {
    await Promise.all([...this.relays.keys()].map((id) => this.release(id)));
  }

  private byVmm(vm: ForwardedVm, handles: VmHandles, vmm: Vmm): Forwarder {
    const forwarding = vmm.hostForwarding;
    const unsupported = () =>
      new BangerError(ErrorCode.NotImplemented, `the ${vmm.driver} driver cannot forward ports`, {
        hint: `use --network tap for vm "${vm.name}", where ports are reached at ${vm.name}.vm`,
      });
    return {
      add: async (f) => {
        if (!forwarding) throw unsupported();
        await forwarding.add(handles, f);
      },
      remove: async (f) => {
        if (forwarding) await forwarding.remove(handles, f.hostPort);
      },
      open: async () => (forwarding ? forwarding.list(handles) : []),
    };
  }

  private relayed(vm: ForwardedVm): Forwarder {
    const relays = (): Map<number, TcpRelay> => {
      let byPort = this.relays.get(vm.id);
      if (!byPort) this.relays.set(vm.id, (byPort = new Map<number, TcpRelay>()));
      return byPort;
    };
    return {
      add: async (f) => {
        if (!vm.guestIp)
          throw new BangerError(ErrorCode.Internal, `vm "${vm.name}" has no tap address`);
        const mine = relays();
        const old = mine.get(f.guestPort);
        if (old?.hostPort === f.hostPort) return;
        mine.delete(f.guestPort);
        await old?.close();
        const target = { host: vm.guestIp, port: f.guestPort };
        mine.set(f.guestPort, await TcpRelay.open(f.hostPort, target));
      },
      remove: async (f) => {
        const mine = relays();
        const relay = mine.get(f.guestPort);
        mine.delete(f.guestPort);
        await relay?.close();
      },
      open: () =>
        Promise.resolve(
          [...(this.relays.get(vm.id)?.entries() ?? [])].map(([guestPort, r]) => ({
            guestPort,
            hostPort: r.hostPort,
          })),
        ),
    };
  }
}
