import { chmod, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { loadConfig } from '../config/load.js';
import { CacheName, MAX_SOCKET_PATH, type Layout } from '../config/layout.js';
import { BangerError, ErrorCode, errorMessage } from '../errors.js';
import { Store } from '../store/store.js';
import { detectKvm, hostTscKhz } from '../system/host.js';
import { ensurePrivateDir } from '../system/private-dir.js';
import { which } from '../system/which.js';
import { selectVmm, type VmmChoice } from '../vmm/select.js';
import { effectiveChoice, vmmRegistry } from '../vmm/registry.js';
import { vmContext } from '../vm/context.js';
import { reconcileAll } from '../vm/reconcile.js';
import { detectLimits, makeHostLimits, verifyLimits } from '../limits/detect.js';
import { diskFullError } from '../system/disk-full.js';
import { describeMechanism } from '../limits/host-limits.js';
import { reconcileForks } from '../vm/fork/fork.js';
import { ensureModulesDisk } from '../kernel/modules-disk.js';
import { TapNetwork } from '../net/tap/tap-network.js';
import { UserModeNetwork } from '../net/user-mode.js';
import { EgressService } from '../egress/service.js';
import { capConsoles } from '../vm/console-cap.js';
import { ensureGuestKit } from '../guest/kit/ensure.js';
import { DaemonLock } from './daemon-lock.js';
import { idleCollector } from './idle-gc.js';
import { buildRoutes } from './routes.js';
import { RpcServer } from './rpc-server.js';
import { ImageService } from '../image/image-service.js';
import { KernelService } from '../kernel/kernel-service.js';
import { removeWorkDir } from '../system/work-dir.js';
import { realRunner } from '../system/runner.js';
import { removeStaleStagedFiles, removeStaleStaging } from '../system/atomic-publish.js';
import { join } from 'node:path';

export interface DaemonOptions {
  layout: Layout;
  log: Logger;
}

/**
 * bangerd: acquires config, lock, store and socket in that order. If any step fails,
 * close() releases whatever was already acquired; close() is idempotent and safe to call
 * concurrently, and every teardown step tolerates the resource never having existed.
 */
export class Daemon {
  readonly startedAt = new Date();
  private lock: DaemonLock | undefined;
  private store: Store | undefined;
  private rpc: RpcServer | undefined;
  private ownsSocket = false;
  private ownsPidFile = false;
  private readonly gc = idleCollector();
  private closing: Promise<void> | undefined;
  private closedResolve!: () => void;
  private tap: TapNetwork | undefined;
  private forwards: { close(): Promise<void> } | undefined;
  private warm: { close(): Promise<void> } | undefined;
  private egress: EgressService | undefined;
  private consoles: { close(): void } | undefined;
  /** Settles once close() has finished, whoever called it. */
  readonly closed = new Promise<void>((resolve) => (this.closedResolve = resolve));

  private constructor(private readonly opts: DaemonOptions) {}

  static async open(opts: DaemonOptions): Promise<Daemon> {
    const daemon = new Daemon(opts);
    try {
      await daemon.start();
      return daemon;
    } catch (err) {
      await daemon.close();
      throw err;
    }
  }

  private async start(): Promise<void> {
    const { layout, log } = this.opts;
    const { config } = await loadConfig(layout.configFile);
    const kvm = await detectKvm();
    const vmm: VmmChoice = effectiveChoice(
      selectVmm(config.vmm, kvm, which(config.vmm.firecrackerBinary ?? 'firecracker')),
      config.vmm.driver,
    );

    await ensurePrivateDir(layout.stateDir);
    this.lock = DaemonLock.acquire(layout.daemonLock);
    this.store = Store.open(layout.database);
    for (const dir of [layout.vmsDir, layout.imagesDir, layout.kernelsDir, layout.cacheDir])
      await mkdir(dir, { recursive: true });
    // We hold the lock: staging dirs and build scratch space are a dead daemon's leftovers.
    for (const dir of [layout.imagesDir, layout.kernelsDir, layout.vmsDir]) {
      const stale = await removeStaleStaging(dir);
      if (stale.length) log.warn({ dir, stale }, 'removed unfinished staging dirs');
    }
    const staleKit = await removeStaleStagedFiles(layout.guestKit);
    if (staleKit.length) log.warn({ stale: staleKit }, 'removed unfinished guest kit files');
    // Builds and pulls flatten an image there as root: its setuid files are nobody else's.
    // Usually empty: nothing to scan, spawn or remove then.
    const buildDir = join(layout.cacheDir, CacheName.build);
    if ((await readdir(buildDir).catch(() => [])).length > 0)
      await removeWorkDir(buildDir, realRunner);
    await ensurePrivateDir(buildDir);

    await ensurePrivateDir(layout.runtimeDir);
    if (Buffer.byteLength(layout.socket) > MAX_SOCKET_PATH)
      throw new BangerError(
        ErrorCode.Config,
        `socket path ${layout.socket} is longer than ${MAX_SOCKET_PATH} bytes`,
        {
          hint: 'set XDG_RUNTIME_DIR (or XDG_STATE_HOME) to a shorter directory',
        },
      );
    // We hold the lock, so any socket file here is a dead daemon's.
    await rm(layout.socket, { force: true });
    const store = this.store;
    const egress = new EgressService(store, log, {
      ports: config.network.egressPorts,
      dns: config.network.egressDns,
    });
    this.egress = egress;
    const busybox = which('busybox');
    this.tap = new TapNetwork({
      runner: realRunner,
      store,
      log,
      config: config.network,
      egress,
      dns: async () => {
        const { VmDnsServer } = await import('../net/dns/server.js');
        return new VmDnsServer({
          subnet: config.network.subnet,
          allowForward: (ip) => this.tap?.attachedByIp(ip)?.nat === true,
          log,
        });
      },
    });
    const kernels = new KernelService({
      layout,
      store,
      runner: realRunner,
      catalogSources: config.catalog.kernels,
    });
    const images = new ImageService({ layout, store, config, runner: realRunner, log }, kernels);
    const mechanism = config.vmm.hostLimits
      ? await verifyLimits(await detectLimits(), realRunner)
      : undefined;
    const limits = mechanism && makeHostLimits(mechanism);
    log.info(
      { limits: mechanism ? describeMechanism(mechanism) : 'off (vmm.host_limits = false)' },
      'host limits',
    );
    const vms = vmContext({
      layout,
      store,
      runner: realRunner,
      log,
      vmms: vmmRegistry(vmm, {
        runner: realRunner,
        qemuBinary: config.vmm.qemuBinary,
        tscKhz: await hostTscKhz(),
        limits,
      }),
      ensureImage: (name, op) => images.ensure(name, op),
      defaultImage: config.defaultImageName,
      fileSync: config.fileSync,
      qemuImg: config.vmm.qemuImgBinary,
      manageSshConfig: config.ssh.manageConfig,
      sessionMaxBytes: config.logs.sessionMaxBytes,
      ensureKit: (op) => ensureGuestKit(layout, realRunner, op),
      ensureModules: (kernel, op) => ensureModulesDisk(layout, realRunner, kernel, op),
      networkDefaults: { mode: config.network.mode, egress: config.network.egress },
      tapProxy: { host: this.tap.hostIp, port: config.network.egressPort },
      egressCheck: () => {
        if (!busybox)
          throw new BangerError(
            ErrorCode.Config,
            'an egress list in user-mode networking needs busybox on the host (QEMU joins the guest to the proxy with `busybox nc`)',
            { hint: 'apt install busybox-static, or use --network tap' },
          );
      },
      networks: (portsInUse, handles) => [
        new UserModeNetwork(portsInUse, {
          openLoopback: (id, port) => egress.openLoopback(id, port),
          closeLoopback: (id) => egress.closeLoopback(id),
          busybox,
          handlesOf: (vm) => handles.get(vm),
        }),
        this.tap!,
      ],
      warm: { dir: join(layout.cacheDir, CacheName.templates), auto: config.warm.auto },
    });
    this.forwards = vms.forwards;
    this.consoles = capConsoles(store, log, config.logs.consoleMaxBytes);
    this.warm = vms.warm;
    // VMs outlive the daemon: find which are still running before answering anyone.
    await reconcileAll(vms);
    // A VM that stopped while no daemon ran left its cgroup behind.
    await limits?.sweep();
    await vms.warm?.reconcile();
    await reconcileForks(vms);
    this.rpc = new RpcServer(
      buildRoutes({
        layout,
        store,
        images,
        kernels,
        vms,
        vmm: { ...vmm, kvm: kvm.detail },
        startedAt: this.startedAt,
        requestShutdown: () => void this.close(),
      }),
      log,
      () => this.gc.touch(),
      async (err) =>
        (await diskFullError(err, [
          { what: "banger's state (images, VM disks)", dir: layout.stateDir },
          { what: "banger's cache (downloads, OCI blobs)", dir: layout.cacheDir },
          { what: "banger's runtime files", dir: layout.runtimeDir },
        ])) ?? err,
    );
    this.ownsSocket = true;
    await this.rpc.listen(layout.socket);
    await chmod(layout.socket, 0o600);
    await writeFile(layout.pidFile, `${process.pid}\n`, { mode: 0o600 });
    this.ownsPidFile = true;
    log.info({ socket: layout.socket, vmm }, 'bangerd ready');
    // Start-up (config parsing, migrations) leaves garbage too.
    this.gc.touch();
  }

  close(): Promise<void> {
    this.closing ??= this.teardown().finally(() => this.closedResolve());
    return this.closing;
  }

  private async teardown(): Promise<void> {
    const { layout, log } = this.opts;
    const step = async (name: string, fn: () => unknown) => {
      try {
        await fn();
      } catch (err) {
        log.warn({ err: errorMessage(err) }, `shutdown: ${name} failed`);
      }
    };
    await step('rpc server', () => this.rpc?.close());
    await step('background templates', () => this.warm?.close());
    await step('tap pool and DNS', () => this.tap?.close());
    await step('port relays', () => this.forwards?.close());
    await step('egress proxy', () => this.egress?.close());
    this.consoles?.close();
    this.gc.stop();
    if (this.ownsSocket) await step('socket', () => rm(layout.socket, { force: true }));
    if (this.ownsPidFile) await step('pid file', () => rm(layout.pidFile, { force: true }));
    await step('store', () => this.store?.close());
    await step('lock', () => this.lock?.release());
    log.info('bangerd stopped');
  }
}
