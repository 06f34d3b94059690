import { resolveLayout, type Layout } from '../config/layout.js';
import { loadCreateDefaults } from '../config/create-defaults.js';
import { DaemonClient } from '../client/client.js';
import type { MethodName, Params, Result } from '../protocol/index.js';
import type { VmDetail, VmSummary } from '../protocol/vm.js';
import { Vm } from './vm.js';

// The TypeScript SDK: banger for programs, over the same daemon protocol the CLI speaks.
// `Banger.connect()` reaches (or starts) the user's bangerd; VMs are `Vm` objects whose
// commands, files and sessions ride the VM's ssh master from this process, as the CLI's do.

export interface ConnectOptions {
  /** Start bangerd when it is not running (default true), as the CLI does. */
  autostart?: boolean;
  /**
   * Which banger: the one of these HOME and XDG variables (default this process's, as for
   * the CLI); a bangerd started for it gets this environment.
   */
  env?: NodeJS.ProcessEnv;
}

export interface CreateOptions {
  name?: string;
  /** An image name, a catalog entry or an OCI reference (pulled on first use). */
  image?: string;
  vcpu?: number;
  memoryMiB?: number;
  diskBytes?: number;
  network?: 'user' | 'tap';
  /** What the guest may reach outside: `none` (default), `all`, or names (`pypi.org,*.npmjs.org`). */
  egress?: string;
  /** The same as egress `all`. */
  nat?: boolean;
  /** Ports published on 127.0.0.1: guest port → host port (0: any free one). */
  publish?: { guest: number; host?: number }[];
  /** Boot even when a warm-start template matches. */
  cold?: boolean;
  /** A git checkout copied to /root/repo once the VM runs. */
  workspace?: string;
  /** Who deletes it when they end (`mcp:<pid>:<session>`, as `banger mcp` does). */
  owner?: string;
  /** Progress of the boot (and of an image pull): stage and detail. */
  onProgress?: (stage: string, detail?: string) => void;
  signal?: AbortSignal;
}

export interface CallOptions {
  onProgress?: ((stage: string, detail?: string) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export class Banger implements AsyncDisposable {
  readonly vms: Vms;

  private constructor(
    private readonly client: DaemonClient,
    readonly layout: Layout,
  ) {
    this.vms = new Vms(this);
  }

  static async connect(options: ConnectOptions = {}): Promise<Banger> {
    const layout = resolveLayout(options.env);
    const client = await DaemonClient.connect(layout, {
      autostart: options.autostart ?? true,
      ...(options.env ? { env: options.env } : {}),
    });
    return new Banger(client, layout);
  }

  /** Any daemon method, as the protocol defines it (src/protocol/). */
  call<N extends MethodName>(
    method: N,
    params: Params<N>,
    options: CallOptions = {},
  ): Promise<Result<N>> {
    return this.client.call(method, params, {
      signal: options.signal,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  }

  close(): void {
    this.client.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

export class Vms {
  constructor(private readonly banger: Banger) {}

  /** Boots (or warm-starts) a VM and resolves once banger is logged in to it. */
  async create(options: CreateOptions = {}): Promise<Vm> {
    const { onProgress, signal, workspace, ...request } = options;
    // The size the CLI would pick: the options, then config.toml, then the host's.
    const { defaults } = await loadCreateDefaults(this.banger.layout.configFile);
    const spec = {
      ...request,
      vcpu: request.vcpu ?? defaults.vcpu.value,
      memoryMiB: request.memoryMiB ?? defaults.memoryMiB.value,
      diskBytes: request.diskBytes ?? defaults.diskBytes.value,
    };
    const detail = await this.banger.call('vm.create', spec, { onProgress, signal });
    const vm = new Vm(this.banger, detail);
    if (workspace) await vm.workspace.prepare(workspace, { onProgress, signal });
    return vm;
  }

  /** A VM by name or id; throws NOT_FOUND when there is none. */
  async get(ref: string): Promise<Vm> {
    return new Vm(this.banger, await this.banger.call('vm.show', { ref }));
  }

  async list(): Promise<VmSummary[]> {
    return (await this.banger.call('vm.list', {})).vms;
  }
}

export type { VmDetail, VmSummary };
