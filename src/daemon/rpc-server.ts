import { createServer, type Server, type Socket } from 'node:net';
import {
  createMessageConnection,
  ResponseError,
  SocketMessageWriter,
  type CancellationToken,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import type { Logger } from 'pino';
import { BangerError, ErrorCode, errorMessage } from '../errors.js';
import {
  PROGRESS_NOTIFICATION,
  RpcErrorCode,
  type LayerBytes,
  type MethodSpec,
  type ProgressParams,
  type RpcErrorData,
} from '../protocol/method.js';
import { parseParams } from '../protocol/validate.js';
import { limitedReader } from './rpc-limits.js';

export interface CallContext {
  /** Aborted on $/cancelRequest, on disconnect for 'cancel' methods, and at shutdown. */
  signal: AbortSignal;
  progress: (stage: string, detail?: string, layers?: LayerBytes[]) => void;
}

export interface Route {
  spec: MethodSpec;
  handle(params: unknown, ctx: CallContext): Promise<unknown>;
}

interface InFlight {
  spec: MethodSpec;
  abort: AbortController;
  done: Promise<unknown>;
}

/**
 * JSON-RPC over a Unix socket. It validates every request against the method's schema and
 * answers a bad one with a structured error; nothing a client sends can crash the daemon.
 */
export class RpcServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly inflight = new Set<InFlight>();

  constructor(
    private readonly routes: ReadonlyMap<string, Route>,
    private readonly log: Logger,
    /** Called after every request settles (the daemon's idle GC listens). */
    private readonly onSettled: () => void = () => undefined,
    /** Turns a failure into one a user can act on (a full disk named), or leaves it. */
    private readonly explain: (err: unknown) => Promise<unknown> = (err) => Promise.resolve(err),
  ) {
    this.server = createServer((socket) => this.accept(socket));
  }

  listen(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(path, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** Stops accepting, aborts every in-flight call and waits for each to settle. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const call of this.inflight)
      call.abort.abort(new BangerError(ErrorCode.Cancelled, 'bangerd is shutting down'));
    await Promise.allSettled([...this.inflight].map((c) => c.done));
    for (const socket of this.sockets) socket.end();
    await Promise.race([closed, delay(2000)]);
    for (const socket of this.sockets) socket.destroy();
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    const reader = limitedReader(socket, (why) => {
      this.log.warn({ why }, 'client over the limits; closing its connection');
      socket.destroy();
    });
    const conn = createMessageConnection(reader, new SocketMessageWriter(socket));
    const mine = new Set<InFlight>();
    conn.onRequest((method, params, token) => this.dispatch(conn, mine, method, params, token));
    conn.onError(([error]) => {
      // Unparseable framing or JSON: this stream cannot be trusted any more; drop it.
      this.log.warn(
        { err: errorMessage(error) },
        'malformed message from client; closing its connection',
      );
      socket.destroy();
    });
    const gone = () => {
      for (const call of mine) {
        if (call.spec.onDisconnect === 'cancel')
          call.abort.abort(new BangerError(ErrorCode.Cancelled, 'the client disconnected'));
      }
      this.sockets.delete(socket);
      conn.dispose();
    };
    socket.on('close', gone);
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'client socket error'));
    conn.listen();
  }

  private async dispatch(
    conn: MessageConnection,
    mine: Set<InFlight>,
    method: string,
    rawParams: unknown,
    token: CancellationToken,
  ): Promise<unknown> {
    const route = this.routes.get(method);
    if (!route)
      return toResponseError(
        new BangerError(ErrorCode.NotFound, `unknown method "${method}"`, {
          hint: 'the CLI and the daemon may be different versions: run "banger daemon stop" and retry',
        }),
        RpcErrorCode.MethodNotFound,
      );
    const abort = new AbortController();
    token.onCancellationRequested(() =>
      abort.abort(new BangerError(ErrorCode.Cancelled, 'cancelled by the client')),
    );
    const run = async () => {
      const { params, progressToken } = splitProgressToken(route.spec, rawParams);
      const ctx: CallContext = {
        signal: abort.signal,
        progress: (stage, detail, layers) => {
          if (progressToken === undefined) return;
          const note: ProgressParams = {
            token: progressToken,
            stage,
            ...(detail ? { detail } : {}),
            ...(layers ? { layers } : {}),
          };
          conn.sendNotification(PROGRESS_NOTIFICATION, note).catch(() => undefined);
        },
      };
      const result = await route.handle(parseParams(route.spec, params), ctx);
      return route.spec.result.parse(result);
    };
    const done = run();
    const call: InFlight = { spec: route.spec, abort, done };
    this.inflight.add(call);
    mine.add(call);
    try {
      return await done;
    } catch (thrown) {
      const err = await this.explain(thrown).catch(() => thrown);
      if (!(err instanceof BangerError)) this.log.error({ err, method }, 'request failed');
      return toResponseError(err);
    } finally {
      this.inflight.delete(call);
      mine.delete(call);
      this.onSettled();
    }
  }
}

function splitProgressToken(
  spec: MethodSpec,
  raw: unknown,
): { params: unknown; progressToken?: string } {
  if (!spec.progress || raw === null || typeof raw !== 'object' || Array.isArray(raw))
    return { params: raw };
  const { progressToken, ...params } = raw as Record<string, unknown>;
  return typeof progressToken === 'string' ? { params, progressToken } : { params };
}

function toResponseError(err: unknown, code?: number): ResponseError<RpcErrorData> {
  if (err instanceof BangerError) {
    const data: RpcErrorData = { code: err.code, ...(err.hint ? { hint: err.hint } : {}) };
    const rpcCode =
      code ??
      (err.code === ErrorCode.InvalidParams
        ? RpcErrorCode.InvalidParams
        : RpcErrorCode.Application);
    return new ResponseError(rpcCode, err.message, data);
  }
  return new ResponseError(RpcErrorCode.Internal, `internal error: ${errorMessage(err)}`, {
    code: ErrorCode.Internal,
    hint: 'this is a bug in banger; the daemon log has the details',
  });
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());
