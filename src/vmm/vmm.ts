// The VMM seam: what the VM use cases (src/vm/) know about a VMM. Everything specific to
// one VMM program — its command line, its kernel command line needs, its runtime files,
// port collisions, its handles' shape, how it is killed — lives in its driver.

export type VmmDriver = 'qemu' | 'firecracker';
export type Accel = 'kvm' | 'tcg';

/**
 * What a VMM driver needs to boot one VM. Everything is a path or a number decided by the
 * VM use cases; the driver only turns it into a running process.
 */
export interface LaunchSpec {
  /** The VM's id: every process is tagged with it so liveness checks know it is ours. */
  id: string;
  name: string;
  /** The VM directory: the driver's runtime files and the console log live here. */
  dir: string;
  kernel: string;
  initrd?: string | undefined;
  /** The kernel command line banger needs; the driver adds what its machine needs. */
  cmdline: readonly string[];
  systemDisk: { path: string; format: 'qcow2' | 'raw' };
  workDisk: string;
  /**
   * Read-only disks after the work disk, in order (/dev/vdc, /dev/vdd…): for pulled images,
   * banger's guest kit and the kernel's modules.
   */
  readOnlyDisks?: readonly string[] | undefined;
  vcpu: number;
  memoryMiB: number;
  network: LaunchNetwork;
  /** Guest RAM: anonymous memory unless given (default). */
  memory?: LaunchMemory | undefined;
  /**
   * Resume a saved VM instead of booting: the device state written by Snapshots.save. The
   * VM starts with it loaded and paused, for Snapshots.resume; the kernel and disks must be
   * the saved VM's.
   */
  restore?:
    | {
        stateFile: string;
        /** The state is device state alone (Snapshots.saveDevices); the RAM is `memory`'s. */
        devicesOnly?: boolean | undefined;
      }
    | undefined;
}

/**
 * Guest RAM in a file: `shared` maps it so the guest's writes land in the file (a template
 * being made: a save then leaves the RAM where it is and writes only device state); not
 * shared maps it copy-on-write, so any number of VMs restored from one file share its
 * unmodified pages and the file is never written.
 */
export type LaunchMemory = { file: string; shared: boolean };

/**
 * User-mode networking: ssh forwarded from 127.0.0.1; `nat` lets the guest out. Tap: the
 * VM's NIC on a tap the network made (src/net/tap/), with the MAC it chose.
 */
export type LaunchNetwork =
  | {
      mode: 'user';
      /** The forwarded port to try first (0: pick one). */
      sshPort: number;
      nat: boolean;
      /**
       * Without NAT, where the guest's proxy address (egress/service.ts USER_PROXY) leads:
       * QEMU runs `command` for each connection, its stdin and stdout the connection.
       */
      egress?: { port: number; command: string } | undefined;
    }
  | { mode: 'tap'; tap: string; mac: string };

/** The guest's sshd port: what a tap VM's handles record as their ssh port. */
export const GUEST_SSH_PORT = 22;

export interface StartOptions {
  signal: AbortSignal;
  /** Another free port on 127.0.0.1, for when the one asked for is taken meanwhile. */
  freePort(): Promise<number>;
}

/**
 * The name a guest finds its data port by (/sys/class/virtio-ports/vportNpM/name): the
 * byte stream whose host end is VmHandles.dataSocket.
 */
export const DATA_PORT_NAME = 'banger.data';

/** What is true of a VM while its VMM runs; persisted in handles.json, never in SQLite. */
export interface VmHandles {
  driver: VmmDriver;
  accel: Accel;
  pid: number;
  /** QMP (qemu) or API (firecracker) socket. */
  controlSocket: string;
  consoleLog: string;
  /** The forwarded port the VMM really bound (user networking). */
  sshPort: number;
  startedAt: string;
  /**
   * The host end of the guest's data port (a Unix socket): a byte stream that bypasses
   * the emulated network, for bulk copies such as workspace imports. Absent when the
   * driver has none (or the VM was started before banger had it): copies then go over ssh.
   */
  dataSocket?: string | undefined;
  /** The 127.0.0.1 port the guest's egress proxy address leads to (user networking). */
  egressPort?: number | undefined;
}

export interface HostStats {
  /** CPU seconds the VMM process has used (user + system). */
  cpuSeconds: number;
  rssBytes: number;
  /** The part of rssBytes that is guest RAM (0 when the driver cannot tell). */
  guestResidentBytes: number;
}

/** What a driver can do; the use cases that depend on a capability read its flag. */
export interface VmmCapabilities {
  /** The VMM can ask the guest to power off (ACPI button): stop tries it before killing. */
  gracefulStop: boolean;
  /** The VM gets a data port (VmHandles.dataSocket) for bulk copies. */
  dataPort: boolean;
}

/** A TCP port on the host's 127.0.0.1 forwarded to a port of the guest. */
export interface HostForward {
  hostPort: number;
  guestPort: number;
}

/**
 * A capability: forwards added to and removed from a running VM's user networking (QEMU's
 * hostfwd). add() refuses a host port that is taken with a Conflict error naming it.
 */
export interface HostForwarding {
  add(handles: VmHandles, forward: HostForward): Promise<void>;
  /** false when the VMM had no forward from that port. */
  remove(handles: VmHandles, hostPort: number): Promise<boolean>;
  /** The forwards the VMM holds now, its ssh forward included. */
  list(handles: VmHandles): Promise<HostForward[]>;
}

/**
 * One driver per VMM program. start() returns once the process runs detached from the
 * daemon (a VM survives a daemon restart); stop() asks the guest first and kills last.
 */
export interface Vmm {
  readonly driver: VmmDriver;
  readonly accel: Accel;
  readonly capabilities: VmmCapabilities;
  /** Runtime port forwards for user networking; undefined when the driver has none. */
  readonly hostForwarding?: HostForwarding | undefined;
  /** Pause, resume and saved state; undefined when the driver has none. */
  readonly snapshots?: Snapshots | undefined;
  /**
   * Launches the VM. A forwarded port taken meanwhile is retried on another one
   * (StartOptions.freePort); a launch that fails half-way leaves no process behind.
   */
  start(spec: LaunchSpec, options: StartOptions): Promise<VmHandles>;
  /** Graceful power-off, waiting up to timeoutMs for the process to exit, then kill. */
  stop(handles: VmHandles, timeoutMs: number): Promise<void>;
  kill(handles: VmHandles): Promise<void>;
  /** The process is alive AND is this driver's process for this VM. */
  alive(handles: VmHandles, vmId: string): Promise<boolean>;
  stats(handles: VmHandles, memoryMiB: number): Promise<HostStats>;
  /** Removes the runtime files a run leaves in the VM directory; safe when there are none. */
  cleanup(vmDir: string): Promise<void>;
  /**
   * Kills a VMM a failed launch or a dead daemon left running in `dir` (found by the
   * driver's own runtime files), if it is this driver's process for `id`.
   */
  reap(dir: string, id: string): Promise<void>;
  /**
   * The handles of this driver's process for VM `id` found from the OS alone (its handles
   * file is missing or damaged), or undefined when none runs.
   */
  adopt?(dir: string, id: string): Promise<VmHandles | undefined>;
  /** Handles read back from handles.json, checked against this driver's shape. */
  parseHandles(value: Record<string, unknown>): VmHandles | undefined;
}

/**
 * A capability: a running VM stopped and continued where it was (its memory kept), and its
 * device state saved so another process can resume it (warm start, suspend, fork).
 */
export interface Snapshots {
  pause(handles: VmHandles): Promise<void>;
  resume(handles: VmHandles): Promise<void>;
  /** Whether the VM's vCPUs are stopped (paused, or stopped for a save). */
  paused(handles: VmHandles): Promise<boolean>;
  /**
   * Stops the VM and writes its device state (and, unless its RAM is in a shared file, its
   * memory) to `stateFile`; the VM stays paused. Resolves once the file is complete.
   */
  save(handles: VmHandles, stateFile: string, signal: AbortSignal): Promise<void>;
  /**
   * For a save its caller did not see end (a daemon killed during it): waits for it to end
   * and says whether it completed. false also when no save was made.
   */
  saveCompleted(handles: VmHandles, signal: AbortSignal): Promise<boolean>;
  /**
   * Writes into a paused VM's RAM, whose backend is `memoryFile` (LaunchMemory): offsets
   * are the file's. Only that VM sees the writes (a private mapping takes them copy-on-write).
   */
  writeMemory(
    handles: VmHandles,
    memoryFile: string,
    writes: readonly { offset: number; bytes: Buffer }[],
  ): Promise<void>;
  /**
   * Writes a paused VM's device state, without its RAM, to `stateFile`: with a copy of its
   * RAM (copyMemory) it restores as `restore: { devicesOnly: true }` over that file.
   */
  saveDevices(handles: VmHandles, stateFile: string): Promise<void>;
  /**
   * Starts a copy of the VM's RAM into `target`, a file a VM can map (LaunchMemory): what
   * cannot change is copied now, while the VM may run; `finish`, with the VM paused, writes
   * the rest. The file is sparse where the guest's RAM is empty.
   */
  copyMemory(handles: VmHandles, target: string): Promise<MemoryCopy>;
  /** A string naming the VMM build: saved state only restores on the same one. */
  version(): Promise<string>;
}

export interface MemoryCopy {
  /**
   * The VM must be paused. Resolves with the byte ranges [start, end) of the file written
   * from the guest's own pages (what it wrote since its RAM file was made; all it holds
   * when its RAM is anonymous): anything written into its memory since is there.
   */
  finish(): Promise<[number, number][]>;
}

/** The drivers a daemon has: the one new VMs get, and one for any VM already running. */
export interface VmmRegistry {
  readonly current: Vmm;
  forDriver(driver: VmmDriver): Vmm;
}
