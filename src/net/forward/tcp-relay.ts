import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { BangerError, ErrorCode } from '../../errors.js';

/**
 * A TCP listener on the host's 127.0.0.1 that pipes every connection to an address the host
 * routes to (a tap VM's guest address): how a tap VM's published port reaches it. Half-closes
 * pass through (a client that shut its side still gets the whole answer); an error on either
 * side ends both. close() stops listening and cuts the connections still open.
 */
export class TcpRelay {
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly hostPort: number,
  ) {}

  /** Listens on 127.0.0.1:hostPort; a taken port is a Conflict error naming it. */
  static async open(hostPort: number, target: { host: string; port: number }): Promise<TcpRelay> {
    const server = createServer({ allowHalfOpen: true });
    const relay = new TcpRelay(server, hostPort);
    server.on('connection', (client) => relay.pipe(client, target));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE'
            ? new BangerError(ErrorCode.Conflict, `port ${hostPort} on 127.0.0.1 is already in use`)
            : err,
        ),
      );
      server.listen({ port: hostPort, host: '127.0.0.1', exclusive: true }, resolve);
    });
    server.on('error', () => undefined);
    return relay;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private pipe(client: Socket, target: { host: string; port: number }): void {
    const upstream = createConnection({
      host: target.host,
      port: target.port,
      allowHalfOpen: true,
    });
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
