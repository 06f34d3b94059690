import type { Socket } from 'node:net';
import {
  CancellationTokenSource,
  createMessageConnection,
  ResponseError,
  SocketMessageReader,
  SocketMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import type { Layout } from '../config/layout.js';
import { BangerError, ErrorCode, type ErrorCode as Code } from '../errors.js';
import type { MethodName, Params, Result } from '../protocol/index.js';
import {
  PROGRESS_NOTIFICATION,
  type LayerBytes,
  type ProgressParams,
  type RpcErrorData,
} from '../protocol/method.js';
import { dial, isAbsent } from './dial.js';
import { CancelOnInterrupt } from './interrupt.js';

/**
 * The methods bangerd cancels, undoing what they staged, when asked or when the caller goes
 * (`onDisconnect: 'cancel'` in src/protocol/; client.test.ts keeps the two equal). Ctrl-C
 * during one of them waits for that cleanup; any other call is left to finish in bangerd.
 * A copy, because the CLI loads no protocol values (zod) at start-up.
 */
export const CANCELLABLE: ReadonlySet<MethodName> = new Set<MethodName>([
  'vm.names',
  'vm.create',
  'vm.stats',
  'vm.logs',
  'vm.ssh',
  'vm.ports',
  'vm.workspace.prepare',
  'vm.workspace.export',
  'vm.cp',
  'image.build',
  'image.pull',
  'image.export',
  'image.promote',
  'image.warm',
  'kernel.pull',
]);

export interface CallOptions {
  onProgress?: (stage: string, detail?: string, layers?: LayerBytes[]) => void;
  /**
   * For a library caller (the SDK, the MCP server): Ctrl-C is not this call's business; a
   * cancellable call is cancelled by this signal instead.
   */
  signal?: AbortSignal | undefined;
}

/**
 * A connection to bangerd. Closing it (or the process exiting) cancels the calls bangerd can
 * cancel; Ctrl-C during one of them asks for the cancel and waits for it (CancelOnInterrupt).
 */
export class DaemonClient {
  private nextToken = 0;
  private readonly progress = new Map<string, NonNullable<CallOptions['onProgress']>>();

  private constructor(
    private readonly socket: Socket,
    private readonly conn: MessageConnection,
    private readonly daemonLog: string,
  ) {
    conn.onNotification(PROGRESS_NOTIFICATION, (p: ProgressParams) =>
      this.progress.get(p.token)?.(p.stage, p.detail, p.layers),
    );
  }

  static async connect(
    layout: Layout,
    options: { autostart: boolean; env?: NodeJS.ProcessEnv },
  ): Promise<DaemonClient> {
    let socket: Socket;
    try {
      socket = await dial(layout.socket);
    } catch (err) {
      if (!options.autostart || !isAbsent(err)) throw unavailable(layout, err);
      // Loaded only when needed: node:child_process alone costs ~8 ms of start-up.
      const { startDaemon } = await import('./daemon-spawn.js');
      await startDaemon(layout, options.env);
      socket = await dial(layout.socket).catch((e: unknown) => {
        throw unavailable(layout, e);
      });
    }
    const reader = new SocketMessageReader(socket);
    // Its partial-message timer re-arms forever after a daemon died mid-answer, holding the
    // socket: a long-lived client (SDK, MCP server) would keep every such one.
    reader.partialMessageTimeout = 0;
    const conn = createMessageConnection(reader, new SocketMessageWriter(socket));
    conn.listen();
    return new DaemonClient(socket, conn, layout.daemonLog);
  }

  async call<N extends MethodName>(
    method: N,
    params: Params<N>,
    options: CallOptions = {},
  ): Promise<Result<N>> {
    let token: string | undefined;
    if (options.onProgress) {
      token = String(++this.nextToken);
      this.progress.set(token, options.onProgress);
    }
    const sent = token === undefined ? params : { ...(params ?? {}), progressToken: token };
    try {
      if ('signal' in options) return await this.callWithSignal(method, sent, options.signal);
      if (!CANCELLABLE.has(method)) return await this.conn.sendRequest<Result<N>>(method, sent);
      const what = method.replaceAll('.', ' ');
      const interrupt = new CancelOnInterrupt(
        what,
        options.onProgress ??
          ((stage, detail) => process.stderr.write(`banger: ${what}: ${stage}: ${detail}\n`)),
        this.daemonLog,
      );
      return await interrupt.settle(
        this.conn.sendRequest<Result<N>>(method, sent, interrupt.token),
        fromRpcError,
      );
    } catch (err) {
      throw err instanceof BangerError ? err : fromRpcError(err);
    } finally {
      if (token !== undefined) this.progress.delete(token);
    }
  }

  private async callWithSignal<N extends MethodName>(
    method: N,
    params: unknown,
    signal: AbortSignal | undefined,
  ): Promise<Result<N>> {
    signal?.throwIfAborted();
    const source = new CancellationTokenSource();
    const cancel = () => source.cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      return await this.conn.sendRequest<Result<N>>(method, params, source.token);
    } finally {
      signal?.removeEventListener('abort', cancel);
      source.dispose();
    }
  }

  close(): void {
    this.conn.dispose();
    this.socket.destroy();
  }
}

function unavailable(layout: Layout, err: unknown): BangerError {
  if (err instanceof BangerError) return err;
  return new BangerError(
    ErrorCode.DaemonUnavailable,
    `cannot reach bangerd at ${layout.socket}: ${(err as Error).message}`,
    {
      hint: 'run "banger daemon start" (its log is ' + layout.daemonLog + ')',
      cause: err,
    },
  );
}

function fromRpcError(err: unknown): Error {
  if (err instanceof ResponseError) {
    const data = err.data as Partial<RpcErrorData> | undefined;
    const code = (data?.code as Code | undefined) ?? ErrorCode.Internal;
    return new BangerError(code, err.message, { hint: data?.hint });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new BangerError(
    ErrorCode.DaemonUnavailable,
    `lost the connection to bangerd: ${message}`,
    {
      hint: 'see the daemon log: banger daemon status',
      cause: err,
    },
  );
}
