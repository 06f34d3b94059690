import type { Logger } from 'pino';
import { access, writeFile } from 'node:fs/promises';
import { BangerError, ErrorCode } from '../../errors.js';
import type { Store } from '../../store/store.js';
import type { VmRecord } from '../../store/vms.js';
import { KeyedMutex } from '../../system/mutex.js';
import type { Runner } from '../../system/runner.js';
import type { Attachment, NetworkProvider } from '../network.js';
import { tapSupport, tapUnsupported, type TapSupport } from './host-support.js';
import { claimTap, deleteLink, ensureBridge, listTaps } from './links.js';
import { TapPool } from './pool.js';
import { removeScript, rulesetScript, type RulesetVm } from './ruleset.js';
import { firstFree, macFor, parseSubnet, tapFor, type Subnet } from './subnet.js';

export interface TapConfig {
  bridge: string;
  subnet: string;
  dnsPort: number;
  /** The egress proxy's port on the bridge address. */
  egressPort: number;
  vmToVm: boolean;
}

export interface TapDeps {
  runner: Runner;
  store: Store;
  log: Pick<Logger, 'info' | 'warn'>;
  config: TapConfig;
  /** Where the host's IPv4 forwarding switch is (NAT VMs need it on); a test may move it. */
  ipForwardFile?: string;
  /** The host check; a test may give its own. */
  support?: () => Promise<TapSupport>;
  /**
   * Makes banger's DNS responder, started with the bridge and told every tap VM's name; a
   * factory so a daemon without tap VMs never loads it (idle memory).
   */
  dns?: () => Promise<VmDns>;
  /** systemd-resolved's control socket: when it exists, `.vm` on the bridge goes to banger. */
  resolvedSocket?: string;
  /** The egress proxy (egress/service.ts), listening on the bridge address with the bridge. */
  egress?: {
    openShared(host: string, port: number, vmAt: (ip: string) => string | undefined): Promise<void>;
  };
}

/** What the tap network needs of the DNS responder (net/dns/server.ts). */
export interface VmDns {
  listen(addresses: readonly { host: string; port: number }[]): Promise<unknown>;
  setRecords(records: readonly { name: string; ip: string }[]): void;
  close(): Promise<void>;
}

/**
 * Tap networking: every VM on a tap of banger's bridge with its own address from the
 * subnet (durable, in SQLite), its MAC from its id, and the nftables tables of ruleset.ts
 * regenerated whole whenever a tap VM starts or stops. Host state — the bridge, the taps,
 * the tables — outlives the daemon like the VMs do, and reconcile rebuilds it from the
 * store and the OS.
 */
export class TapNetwork implements NetworkProvider {
  readonly mode = 'tap' as const;
  private readonly subnet: Subnet;
  private readonly pool: TapPool;
  /** The running tap VMs the rules are made for, by VM id. */
  private readonly attached = new Map<string, RulesetVm>();
  /** Rule changes one at a time (each replaces the tables whole). */
  private readonly serial = new KeyedMutex();
  private support: Promise<TapSupport> | undefined;
  private bridging: Promise<void> | undefined;
  private dns: VmDns | undefined;
  private resolvedRouted = false;

  constructor(private readonly deps: TapDeps) {
    this.subnet = parseSubnet(deps.config.subnet);
    this.pool = new TapPool(deps.runner, deps.log);
  }

  /** The bridge's address: guests' gateway and DNS server. */
  get hostIp(): string {
    return this.subnet.hostIp;
  }

  /** Fails at once, naming what the host lacks, when it cannot do tap networking. */
  async check(): Promise<void> {
    this.support ??= (this.deps.support ?? tapSupport)();
    const support = await this.support;
    if (!support.ok) throw tapUnsupported(support);
  }

  async allocate(vm: { id: string; name: string }): Promise<{ guestIp: string }> {
    await this.check();
    const ip = this.deps.store.addresses.allocate(vm.id, (taken) => firstFree(this.subnet, taken));
    if (!ip)
      throw new BangerError(ErrorCode.Conflict, `no free address left in ${this.subnet.cidr}`, {
        hint: 'delete VMs you no longer need, or set a larger network.subnet',
      });
    // The pool is warm before the first boot needs it.
    this.pool.refill();
    return { guestIp: ip };
  }

  async attach(vm: VmRecord): Promise<Attachment> {
    await this.check();
    const ip = vm.guestIp;
    if (!ip)
      throw new BangerError(ErrorCode.Internal, `vm "${vm.name}" has no tap address`, {
        hint: `delete it ("banger vm rm ${vm.name}") and create it again`,
      });
    await this.ensureBridge();
    const tap = tapFor(vm.id);
    const mac = macFor(vm.id);
    await claimTap(this.deps.runner, tap, this.deps.config.bridge, this.pool.take()).catch(
      async () => {
        // A tap of the VM's name left half-configured, or a pool tap someone deleted
        // meanwhile: the VM's tap is made anew (only this rare path pays the extra calls).
        await deleteLink(this.deps.runner, tap);
        await claimTap(this.deps.runner, tap, this.deps.config.bridge, undefined);
      },
    );
    this.attached.set(vm.id, { tap, ip, mac, nat: vm.nat });
    try {
      await this.applyRules();
      if (vm.nat) await this.enableForwarding();
    } catch (err) {
      this.attached.delete(vm.id);
      await deleteLink(this.deps.runner, tap).catch(() => {});
      throw err;
    }
    this.updateRecords();
    return {
      launch: { mode: 'tap', tap, mac },
      guest: { ip: `${ip}/${this.subnet.prefix}`, gateway: this.hostIp, dns: this.hostIp },
      freePort: () => Promise.resolve(22),
    };
  }

  async detach(vm: Pick<VmRecord, 'id'>): Promise<void> {
    const had = this.attached.delete(vm.id);
    await deleteLink(this.deps.runner, tapFor(vm.id));
    if (had) await this.applyRules();
  }

  release(vm: Pick<VmRecord, 'id'>): Promise<void> {
    this.deps.store.addresses.release(vm.id);
    this.updateRecords();
    return Promise.resolve();
  }

  /**
   * At daemon start, after every VM was reconciled: the running tap VMs get their rules
   * back; taps of VMs not running go, pool taps are adopted, addresses of VMs that do not
   * exist are released. Nothing is made on a host with no tap VM.
   */
  async reconcile(vms: readonly VmRecord[]): Promise<void> {
    const orphans = this.deps.store.addresses.releaseOrphans();
    if (orphans > 0) this.deps.log.info({ orphans }, 'tap: released addresses of no VM');
    const running = vms.filter((v) => v.networkMode === 'tap' && v.state === 'running');
    if (!vms.some((v) => v.networkMode === 'tap')) return;
    const support = await (this.support ??= (this.deps.support ?? tapSupport)());
    if (!support.ok) {
      this.deps.log.warn(
        { missing: support.missing.map((m) => m.what) },
        'tap: this host cannot do tap networking now; tap VMs will not start',
      );
      return;
    }
    const taps = await listTaps(this.deps.runner);
    const keep = new Set(running.map((v) => tapFor(v.id)));
    for (const tap of taps.vm.filter((t) => !keep.has(t))) await deleteLink(this.deps.runner, tap);
    this.pool.adopt(taps.pool);
    this.attached.clear();
    for (const v of running)
      if (v.guestIp)
        this.attached.set(v.id, {
          tap: tapFor(v.id),
          ip: v.guestIp,
          mac: macFor(v.id),
          nat: v.nat,
        });
    this.updateRecords();
    if (running.length > 0) await this.ensureBridge();
    await this.applyRules();
    this.pool.refill();
  }

  sshEndpoint(vm: VmRecord): { host: string; port: number } {
    return { host: vm.guestIp ?? this.hostIp, port: 22 };
  }

  /** Which running VM has this address (the DNS responder forwards only for NAT ones). */
  attachedByIp(ip: string): RulesetVm | undefined {
    return [...this.attached.values()].find((v) => v.ip === ip);
  }

  /** The id of the running VM at this address (the egress proxy's clients). */
  vmIdAt(ip: string): string | undefined {
    for (const [id, v] of this.attached) if (v.ip === ip) return id;
    return undefined;
  }

  /** A running VM's egress changed to or from `all` (`vm set --egress`): its rules follow. */
  async setNat(vmId: string, nat: boolean): Promise<void> {
    const v = this.attached.get(vmId);
    if (!v || v.nat === nat) return;
    this.attached.set(vmId, { ...v, nat });
    await this.applyRules();
    if (nat) await this.enableForwarding();
  }

  /**
   * The daemon closes: the pool's taps go and systemd-resolved forgets the `.vm` route (no
   * responder answers it now); the VMs' taps, bridge and rules stay with the VMs.
   */
  async close(): Promise<void> {
    await this.pool.close();
    await this.dns?.close();
    if (this.resolvedRouted)
      await this.deps.runner.run('resolvectl', ['revert', this.deps.config.bridge], {
        allowFailure: true,
      });
  }

  /**
   * The bridge, then the DNS responder on 127.0.0.1 and on the bridge address (guests ask
   * port 53 there, redirected to it), then systemd-resolved's `.vm` route where it runs.
   * Once per daemon; a failure is the attach's error and the next attach tries again.
   */
  private ensureBridge(): Promise<void> {
    // Parallel first boots share one set-up (two `ip link add` or two listens would clash).
    this.bridging ??= this.setUpBridge().catch((err: unknown) => {
      this.bridging = undefined;
      throw err;
    });
    return this.bridging;
  }

  private async setUpBridge(): Promise<void> {
    const { bridge, dnsPort } = this.deps.config;
    await ensureBridge(this.deps.runner, bridge, this.hostIp, this.subnet.prefix);
    if (this.deps.dns && !this.dns) {
      const dns = await this.deps.dns();
      await dns.listen([
        { host: '127.0.0.1', port: dnsPort },
        { host: this.hostIp, port: dnsPort },
      ]);
      this.dns = dns;
      this.updateRecords();
    }
    await this.deps.egress?.openShared(this.hostIp, this.deps.config.egressPort, (ip) =>
      this.vmIdAt(ip),
    );
    await this.routeResolved();
  }

  /** The names the responder answers: every tap VM that holds its address (deleted: none). */
  private updateRecords(): void {
    if (!this.dns) return;
    const held = this.deps.store.addresses.taken();
    this.dns.setRecords(
      this.deps.store.vms
        .list()
        .filter((v) => v.networkMode === 'tap' && v.guestIp && held.has(v.guestIp))
        .map((v) => ({ name: v.name, ip: v.guestIp! })),
    );
  }

  /** Where systemd-resolved runs, `.vm` on the bridge link is asked of banger's responder. */
  private async routeResolved(): Promise<void> {
    if (!(await this.resolvedRuns())) return;
    const { bridge, dnsPort } = this.deps.config;
    const r1 = await this.deps.runner.run(
      'resolvectl',
      ['dns', bridge, `${this.hostIp}:${dnsPort}`],
      {
        allowFailure: true,
      },
    );
    const r2 = await this.deps.runner.run('resolvectl', ['domain', bridge, '~vm'], {
      allowFailure: true,
    });
    if (r1.exitCode !== 0 || r2.exitCode !== 0)
      this.deps.log.warn(
        { err: (r1.stderr + r2.stderr).trim() },
        'tap: resolvectl failed; name.vm resolves through banger only',
      );
    else this.resolvedRouted = true;
  }

  private async resolvedRuns(): Promise<boolean> {
    return access(this.deps.resolvedSocket ?? '/run/systemd/resolve/io.systemd.Resolve').then(
      () => true,
      () => false,
    );
  }

  /** Both tables from the attached VMs, or none when no tap VM runs. */
  private applyRules(): Promise<void> {
    return this.serial.run('rules', async () => {
      const vms = [...this.attached.values()].sort((a, b) => a.ip.localeCompare(b.ip));
      const script =
        vms.length === 0
          ? removeScript()
          : rulesetScript({
              bridge: this.deps.config.bridge,
              hostIp: this.hostIp,
              dnsPort: this.deps.config.dnsPort,
              egressPort: this.deps.config.egressPort,
              vmToVm: this.deps.config.vmToVm,
              vms,
            });
      await this.deps.runner.run('nft', ['-f', '-'], { input: script });
    });
  }

  /** NAT needs the host to forward IPv4; banger turns it on, never off (others may rely on it). */
  private async enableForwarding(): Promise<void> {
    await writeFile(this.deps.ipForwardFile ?? '/proc/sys/net/ipv4/ip_forward', '1\n');
  }
}
