import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server as TcpServer, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { BangerError, ErrorCode, errorMessage } from '../../errors.js';
import { decide, Rcode, rcodeName, responseTo, type Outcome } from './answer.js';
import { forward, type Transport } from './forward.js';
import { parseSubnet, type Ipv4Subnet } from './ipv4.js';
import { VmDnsRecords, type VmDnsRecord } from './records.js';
import { FrameReader, frame } from './tcp-framing.js';
import { resolvConfUpstream, type Upstream } from './upstream.js';

// banger's DNS responder: `<name>.vm` and the VMs' reverse names from the records the daemon
// sets, everything else forwarded for the sources the daemon allows. UDP, and TCP on the
// same port (resolvers retry there when an answer is truncated).

export interface ListenAddress {
  host: string;
  /** 0: any free port (UDP and TCP get the same one). */
  port: number;
}

export interface VmDnsServerOptions {
  /** Whether a query from this address may have names outside `.vm` forwarded. Default: none. */
  allowForward?: (sourceIp: string) => boolean;
  /** Where forwarded queries go. Default: the first nameserver of /etc/resolv.conf. */
  upstream?: Upstream | (() => Promise<Upstream>);
  /** The VM subnet (10.77.0.0/24): an unknown reverse name in it is NXDOMAIN, not forwarded. */
  subnet?: string;
  /** How long the upstream has before the client gets SERVFAIL. */
  forwardTimeoutMs?: number;
  /** Also answer over TCP on each address. Default: true. */
  tcp?: boolean;
  /** Every query at debug level; socket errors at warn. */
  log?: Pick<Logger, 'debug' | 'warn'>;
}

/** Below a guest resolver's usual 5 s, so the guest hears SERVFAIL rather than silence. */
const FORWARD_TIMEOUT_MS = 3000;
/** Forwards in flight at once; past this a query is SERVFAIL at once (each holds a socket). */
const MAX_FORWARDS = 256;
/** A TCP client idle this long is dropped. */
const TCP_IDLE_MS = 10_000;
/** With port 0 the TCP side may find the UDP side's port taken; a new pair is tried. */
const PORT_ZERO_TRIES = 5;

export class VmDnsServer {
  private readonly records = new VmDnsRecords();
  private readonly subnet: Ipv4Subnet | undefined;
  private readonly allowForward: (sourceIp: string) => boolean;
  private readonly upstream: () => Promise<Upstream>;
  private readonly forwardTimeoutMs: number;
  private readonly tcp: boolean;
  private readonly log: Pick<Logger, 'debug' | 'warn'> | undefined;
  private readonly bound: { address: ListenAddress; udp: UdpSocket; tcp?: TcpServer }[] = [];
  private readonly connections = new Set<Socket>();
  private readonly forwards = new AbortController();
  private inFlight = 0;
  private closing: Promise<void> | undefined;

  constructor(opts: VmDnsServerOptions = {}) {
    this.subnet = opts.subnet === undefined ? undefined : parseSubnet(opts.subnet);
    this.allowForward = opts.allowForward ?? (() => false);
    const upstream = opts.upstream;
    this.upstream =
      upstream === undefined
        ? resolvConfUpstream()
        : typeof upstream === 'function'
          ? upstream
          : () => Promise.resolve(upstream);
    this.forwardTimeoutMs = opts.forwardTimeoutMs ?? FORWARD_TIMEOUT_MS;
    this.tcp = opts.tcp ?? true;
    this.log = opts.log;
  }

  /** Replaces every record at once; queries after this call see only these. */
  setRecords(records: readonly VmDnsRecord[]): void {
    this.records.set(records);
  }

  /**
   * Starts answering on each address (UDP, and TCP unless disabled). May be called again to
   * add addresses (the bridge's, once it exists). All or nothing per call: if one address
   * cannot be bound, what this call bound is closed again and the error names the address.
   */
  async listen(addresses: readonly ListenAddress[]): Promise<ListenAddress[]> {
    if (this.closing) throw new BangerError(ErrorCode.Internal, 'the DNS responder is closed');
    const added: typeof this.bound = [];
    try {
      for (const address of addresses) {
        if (this.bound.some((b) => sameAddress(b.address, address)))
          throw new BangerError(
            ErrorCode.Internal,
            `the DNS responder already listens on ${formatAddress(address)}`,
          );
        const entry = await this.bindPair(address);
        added.push(entry);
        // close() meanwhile: its sweep has run, so this pair is closed here.
        if (this.closing) throw new BangerError(ErrorCode.Internal, 'the DNS responder is closed');
      }
    } catch (err) {
      await Promise.all(added.map(closePair));
      throw err;
    }
    this.bound.push(...added);
    return added.map((b) => b.address);
  }

  /** The addresses answered on, with the ports actually bound. */
  addresses(): ListenAddress[] {
    return this.bound.map((b) => ({ ...b.address }));
  }

  /** Stops listening and abandons forwards in flight. Idempotent; concurrent calls share it. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.forwards.abort();
      for (const connection of this.connections) connection.destroy();
      const pairs = this.bound.splice(0);
      await Promise.all(pairs.map(closePair));
    })();
    return this.closing;
  }

  private async bindPair(address: ListenAddress): Promise<(typeof this.bound)[number]> {
    for (let attempt = 1; ; attempt++) {
      const udp = await bindUdp(address).catch((err: unknown) => {
        throw listenError(address, 'udp', err);
      });
      udp.on('message', (msg, rinfo) => this.onDatagram(udp, msg, rinfo));
      udp.on('error', (err) => this.log?.warn({ err, address }, 'dns udp socket error'));
      const actual = { host: address.host, port: udp.address().port };
      if (!this.tcp) return { address: actual, udp };
      try {
        return { address: actual, udp, tcp: await this.bindTcp(actual) };
      } catch (err) {
        await closePair({ udp });
        const retry = address.port === 0 && isCode(err, 'EADDRINUSE') && attempt < PORT_ZERO_TRIES;
        if (!retry) throw listenError(actual, 'tcp', err);
      }
    }
  }

  private bindTcp(address: ListenAddress): Promise<TcpServer> {
    const server = createServer((socket) => this.onConnection(socket));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: address.host, port: address.port, exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', (err) => this.log?.warn({ err, address }, 'dns tcp server error'));
        resolve(server);
      });
    });
  }

  private onDatagram(socket: UdpSocket, msg: Buffer, rinfo: RemoteInfo): void {
    const notSent = (err: unknown) =>
      this.log?.debug({ err, src: rinfo.address }, 'dns reply not sent');
    this.handle(msg, rinfo.address, 'udp', (answer) => {
      if (this.closing) return;
      try {
        socket.send(answer, rinfo.port, rinfo.address, (err) => err && notSent(err));
      } catch (err) {
        notSent(err); // the socket closed under a forward
      }
    });
  }

  private onConnection(socket: Socket): void {
    if (this.closing) return void socket.destroy();
    this.connections.add(socket);
    const reader = new FrameReader();
    const source = stripMapped(socket.remoteAddress ?? '');
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.connections.delete(socket));
    socket.on('data', (chunk: Buffer) => {
      for (const msg of reader.push(chunk))
        this.handle(msg, source, 'tcp', (answer) => {
          if (!socket.destroyed) socket.write(frame(answer));
        });
    });
  }

  /** Answers one query through `send`, now for the records, later for a forward; never throws. */
  private handle(raw: Buffer, source: string, transport: Transport, send: (b: Buffer) => void) {
    const started = process.hrtime.bigint();
    let outcome: Outcome;
    try {
      outcome = decide(raw, {
        records: this.records,
        subnet: this.subnet,
        mayForward: this.mayForward(stripMapped(source)),
      });
    } catch (err) {
      // dns-packet can reject what it decoded (an odd class or name) when encoding the reply.
      this.log?.debug({ err, src: source, transport }, 'dns query dropped');
      return;
    }
    const logQuery = (fields: object) =>
      this.log?.debug(
        { src: source, transport, us: Number(process.hrtime.bigint() - started) / 1000, ...fields },
        'dns query',
      );
    if (outcome.action === 'drop') return void logQuery({ dropped: outcome.reason });
    if (outcome.action === 'reply') {
      send(outcome.response);
      return void logQuery({
        name: outcome.name,
        type: outcome.type,
        rcode: rcodeName(outcome.rcode),
      });
    }
    const { query, name, type } = outcome;
    if (this.inFlight >= MAX_FORWARDS) {
      send(responseTo(query, Rcode.ServFail, { recursion: true }));
      return void logQuery({ name, type, rcode: 'SERVFAIL', forwarded: 'too many in flight' });
    }
    this.inFlight++;
    void this.upstream()
      .then((upstream) =>
        forward(transport, raw, upstream, {
          timeoutMs: this.forwardTimeoutMs,
          signal: this.forwards.signal,
        }),
      )
      .then(
        (answer) => {
          send(answer);
          logQuery({ name, type, forwarded: true, rcode: rcodeName(answer.readUInt16BE(2) & 0xf) });
        },
        (err: unknown) => {
          if (!this.closing) send(responseTo(query, Rcode.ServFail, { recursion: true }));
          logQuery({ name, type, rcode: 'SERVFAIL', forwarded: errorMessage(err) });
        },
      )
      .finally(() => this.inFlight--);
  }

  private mayForward(source: string): boolean {
    try {
      return this.allowForward(source);
    } catch (err) {
      this.log?.warn({ err, src: source }, 'dns allowForward threw; not forwarding');
      return false;
    }
  }
}

function bindUdp(address: ListenAddress): Promise<UdpSocket> {
  const socket = createSocket({ type: isIPv6(address.host) ? 'udp6' : 'udp4' });
  return new Promise((resolve, reject) => {
    socket.once('error', (err) => {
      closeQuietly(socket);
      reject(err);
    });
    socket.bind({ address: address.host, port: address.port, exclusive: true }, () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

async function closePair(pair: { udp: UdpSocket; tcp?: TcpServer | undefined }): Promise<void> {
  await Promise.all([
    new Promise<void>((resolve) => closeQuietly(pair.udp, resolve)),
    pair.tcp && new Promise<void>((resolve) => pair.tcp!.close(() => resolve())),
  ]);
}

function closeQuietly(socket: UdpSocket, done?: () => void): void {
  try {
    socket.close(done);
  } catch {
    done?.(); // never bound, or closed already
  }
}

/** The one-line error a failed bind becomes: the address, what happened, and what to do. */
function listenError(address: ListenAddress, protocol: 'udp' | 'tcp', err: unknown): BangerError {
  const where = `${formatAddress(address)}/${protocol}`;
  const prefix = `DNS responder cannot listen on ${where}`;
  const ss = `"ss -lnp${protocol === 'udp' ? 'u' : 't'} 'sport = :${address.port}'" shows what holds it`;
  if (isCode(err, 'EADDRINUSE'))
    return new BangerError(
      ErrorCode.Conflict,
      `${prefix}: the address is in use; stop what holds it or set network.dns_port in config.toml to a free port`,
      { hint: ss, cause: err },
    );
  if (isCode(err, 'EACCES'))
    return new BangerError(
      ErrorCode.Permission,
      `${prefix}: permission denied; ports below 1024 need root or CAP_NET_BIND_SERVICE, so set network.dns_port in config.toml to 1024 or above`,
      { cause: err },
    );
  if (isCode(err, 'EADDRNOTAVAIL'))
    return new BangerError(
      ErrorCode.Config,
      `${prefix}: no interface has ${address.host}; create the bridge first or check network.subnet in config.toml`,
      { cause: err },
    );
  return new BangerError(ErrorCode.Internal, `${prefix}: ${errorMessage(err)}`, { cause: err });
}

function isCode(err: unknown, code: string): boolean {
  return (err as { code?: unknown } | null)?.code === code;
}

function formatAddress({ host, port }: ListenAddress): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

function sameAddress(a: ListenAddress, b: ListenAddress): boolean {
  return a.host === b.host && b.port !== 0 && a.port === b.port;
}

/** ::ffff:10.77.0.5 (an IPv4 client of a dual-stack socket) → 10.77.0.5 */
function stripMapped(ip: string): string {
  return ip.startsWith('::ffff:') && !ip.slice(7).includes(':') ? ip.slice(7) : ip;
}
