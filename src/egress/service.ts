import { appendFile, rename, stat } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { vmFiles } from '../config/layout.js';
import { errorMessage } from '../errors.js';
import type { Store } from '../store/store.js';
import { KeyedMutex } from '../system/mutex.js';
import { EGRESS_NONE, parseEgress, type EgressPolicy } from './policy.js';
import { EgressProxy, type EgressEntry, type EgressGate } from './proxy.js';
import { makeResolver } from './resolve.js';

// The egress proxy's place in the daemon. A user-mode VM's guest reaches it through QEMU
// (a guestfwd address whose connections QEMU hands to a small program that connects to a
// port on 127.0.0.1 opened for that VM alone); tap VMs reach one listener on the bridge
// address and are told apart by their source address (the bridge table forbids spoofing).
// The policy is read from the store at each connection, so `vm set --egress` applies to
// the next one. Decisions go to the VM's egress.log, rotated at LOG_MAX.

/** One egress log's size before it is rotated to `egress.log.1` (the older one dropped). */
export const EGRESS_LOG_MAX = 1024 * 1024;

export interface EgressConfig {
  ports: readonly number[];
  dns: readonly string[];
}

export class EgressService {
  private readonly proxy: EgressProxy;
  private readonly loopback = new Map<string, Server>();
  private shared: Server | undefined;
  private readonly writing = new KeyedMutex();

  constructor(
    private readonly store: Store,
    private readonly log: Pick<Logger, 'warn'>,
    config: EgressConfig,
  ) {
    this.proxy = new EgressProxy({ resolve: makeResolver(config.dns), ports: config.ports });
  }

  /**
   * A port on 127.0.0.1 whose every connection is this VM's guest (user mode); `port` again
   * after a daemon restart, for a VM whose QEMU was told it at boot.
   */
  async openLoopback(vmId: string, port = 0): Promise<number> {
    await this.closeLoopback(vmId);
    const server = this.proxy.server(() => this.gate(vmId));
    await listen(server, '127.0.0.1', port).catch((err: unknown) => {
      this.log.warn({ vmId, port, err: errorMessage(err) }, 'egress: cannot listen for a VM');
      throw err;
    });
    this.loopback.set(vmId, server);
    return (server.address() as AddressInfo).port;
  }

  async closeLoopback(vmId: string): Promise<void> {
    const server = this.loopback.get(vmId);
    this.loopback.delete(vmId);
    if (server) await closeServer(server);
  }

  /** The tap VMs' listener on the bridge address; `vmAt` says whose address a client has. */
  async openShared(host: string, port: number, vmAt: (ip: string) => string | undefined) {
    if (this.shared) return;
    const server = this.proxy.server((socket: Socket) => {
      const ip = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
      const id = vmAt(ip);
      return id ? this.gate(id) : undefined;
    });
    await listen(server, host, port);
    this.shared = server;
  }

  async close(): Promise<void> {
    const servers = [...this.loopback.values(), ...(this.shared ? [this.shared] : [])];
    this.loopback.clear();
    this.shared = undefined;
    await Promise.all(servers.map(closeServer));
  }

  private gate(vmId: string): EgressGate {
    return {
      policy: () => this.policyOf(vmId),
      record: (entry) => void this.append(vmId, entry),
    };
  }

  private policyOf(vmId: string): EgressPolicy {
    const egress = this.store.vms.find(vmId)?.egress;
    try {
      return egress ? parseEgress(egress) : EGRESS_NONE;
    } catch {
      return EGRESS_NONE;
    }
  }

  /** One line per decision: time, verdict, host:port, why. */
  private async append(vmId: string, entry: EgressEntry): Promise<void> {
    const vm = this.store.vms.find(vmId);
    if (!vm) return;
    const file = vmFiles(vm.dir).egressLog;
    const line = `${new Date().toISOString()} ${entry.verdict} ${entry.host}:${entry.port}${entry.reason ? ` ${entry.reason}` : ''}\n`;
    await this.writing
      .run(vmId, async () => {
        const size = await stat(file).then(
          (s) => s.size,
          () => 0,
        );
        if (size + line.length > EGRESS_LOG_MAX) await rename(file, `${file}.1`);
        await appendFile(file, line, { mode: 0o600 });
      })
      .catch((err: unknown) =>
        this.log.warn({ vm: vm.name, err: errorMessage(err) }, 'egress log not written'),
      );
  }
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Open tunnels end with the VM (or the daemon).
    server.closeAllConnections();
  });
}
