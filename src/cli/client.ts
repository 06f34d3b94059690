import type { Socket } from 'node:net';
import {
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
  type ProgressParams,
  type RpcErrorData,
} from '../protocol/method.js';
import { dial, isAbsent } from './dial.js';

export interface CallOptions {
  onProgress?: (stage: string, detail?: string) => void;
}

/** A connection to bangerd. Closing it (or the process exiting) is what Ctrl-C means to the daemon. */
export class DaemonClient {
  private nextToken = 0;
  private readonly progress = new Map<string, NonNullable<CallOptions['onProgress']>>();

  private constructor(
    private readonly socket: Socket,
    private readonly conn: MessageConnection,
  ) {
    conn.onNotification(PROGRESS_NOTIFICATION, (p: ProgressParams) =>
      this.progress.get(p.token)?.(p.stage, p.detail),
    );
  }

  static async connect(layout: Layout, options: { autostart: boolean }): Promise<DaemonClient> {
    let socket: Socket;
    try {
      socket = await dial(layout.socket);
    } catch (err) {
      if (!options.autostart || !isAbsent(err)) throw unavailable(layout, err);
      // Loaded only when needed: node:child_process alone costs ~8 ms of start-up.
      const { startDaemon } = await import('./daemon-spawn.js');
      await startDaemon(layout);
      socket = await dial(layout.socket).catch((e: unknown) => {
        throw unavailable(layout, e);
      });
    }
    const conn = createMessageConnection(
      new SocketMessageReader(socket),
      new SocketMessageWriter(socket),
    );
    conn.listen();
    return new DaemonClient(socket, conn);
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
    try {
      const sent = token === undefined ? params : { ...(params ?? {}), progressToken: token };
      return await this.conn.sendRequest<Result<N>>(method, sent);
    } catch (err) {
      throw fromRpcError(err);
    } finally {
      if (token !== undefined) this.progress.delete(token);
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
