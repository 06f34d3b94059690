import {
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { BlockList, connect, isIP, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Duplex } from 'node:stream';
import { refusal, type EgressPolicy } from './policy.js';
import { CLIENT_HELLO_MAX, readClientHello } from './sni.js';

// banger's filtering proxy: a guest whose egress is a list of names reaches the outside
// only through it (user mode: QEMU forwards one guest address to it and drops the rest;
// tap mode: nftables lets the guest reach only it). HTTPS by CONNECT host:port, plain HTTP
// by absolute-form requests, each checked against the VM's list and the allowed ports,
// the name resolved here (never by the guest) and the TLS server name checked against the
// tunnel's. Every decision goes to the VM's egress log.

/** One VM's side of the proxy: its policy now (`vm set` changes it live) and its log. */
export interface EgressGate {
  policy(): EgressPolicy;
  record(entry: EgressEntry): void;
}

export interface EgressEntry {
  verdict: 'allowed' | 'denied';
  host: string;
  port: number;
  reason?: string;
}

export interface ProxyOptions {
  /** The addresses of a name (the host's resolver, or the one `network.egress_dns` names). */
  resolve(host: string): Promise<string[]>;
  /** Ports a listed name may be reached on. */
  ports: readonly number[];
  connectTimeoutMs?: number;
  /**
   * Let listed names reach loopback: only for tests whose origins listen there. A daemon
   * never sets it: a name resolving to the host itself would open the host to the guest.
   */
  allowLoopback?: boolean;
}

/** Never reached by name either: link-local (cloud metadata services live there), "this host". */
const NEVER = new BlockList();
NEVER.addSubnet('169.254.0.0', 16, 'ipv4');
NEVER.addSubnet('0.0.0.0', 8, 'ipv4');
NEVER.addSubnet('fe80::', 10, 'ipv6');
NEVER.addAddress('::', 'ipv6');

/** The host itself: loopback, and the addresses of its own interfaces, read at each ask. */
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

function family(address: string): 'ipv4' | 'ipv6' {
  return isIP(address) === 6 ? 'ipv6' : 'ipv4';
}

/** Why the proxy will not connect to `address`, if it will not. */
function forbidden(address: string, allowLoopback: boolean): string | undefined {
  const bare = address.replace(/^::ffff:(?=\d+\.)/i, ''); // an IPv4-mapped IPv6 address
  if (NEVER.check(bare, family(bare))) return 'a link-local or unspecified address';
  if (allowLoopback) return undefined;
  if (LOOPBACK.check(bare, family(bare))) return 'this host';
  const own = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  if (own.some((i) => i.address.toLowerCase() === bare.toLowerCase())) return 'this host';
  return undefined;
}

const HOST = /^(?=.{1,253}$)[a-z0-9-]+(\.[a-z0-9-]+)*\.?$/i;

export class EgressProxy {
  private readonly gates = new WeakMap<Socket, EgressGate>();

  constructor(private readonly options: ProxyOptions) {}

  /** An HTTP proxy server; `gateFor` says whose guest a connection is (undefined: dropped). */
  server(gateFor: (socket: Socket) => EgressGate | undefined): Server {
    const server = createServer({ requestTimeout: 0 });
    server.on('connection', (socket: Socket) => {
      const gate = gateFor(socket);
      if (!gate) socket.destroy();
      else this.gates.set(socket, gate);
    });
    server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => {
      void this.tunnel(req, client, head);
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      void this.forward(req, res);
    });
    server.on('clientError', (_err, socket) => socket.destroy());
    return server;
  }

  /** The target's checks: a well-formed name, an allowed port, the policy; then its address. */
  private async admit(
    gate: EgressGate,
    host: string,
    port: number,
  ): Promise<{ address: string } | { refused: string }> {
    const deny = (reason: string) => {
      gate.record({ verdict: 'denied', host, port, reason });
      return { refused: reason };
    };
    const bare = host.replace(/^\[|\]$/g, '');
    if (!isIP(bare) && !HOST.test(host)) return deny('not a host name');
    const why = refusal(gate.policy(), host);
    if (why) return deny(why);
    if (gate.policy().kind === 'list' && !this.options.ports.includes(port))
      return deny(`port ${port} is not one of ${this.options.ports.join(', ')}`);
    const addresses = isIP(bare)
      ? [bare]
      : await this.options.resolve(host).catch(() => [] as string[]);
    if (addresses.length === 0) return deny('does not resolve');
    const loopback = this.options.allowLoopback ?? false;
    const address = addresses.find((a) => forbidden(a, loopback) === undefined);
    if (!address) {
      const why = forbidden(addresses[0]!, loopback) ?? '';
      return deny(`resolves to ${addresses[0]}, ${why}: never reached through the proxy`);
    }
    gate.record({ verdict: 'allowed', host, port });
    return { address };
  }

  private async tunnel(req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    // The HTTP server let go of this socket (its error handler too): a guest that resets it
    // while the name resolves must not become an uncaught error in the daemon.
    client.on('error', () => client.destroy());
    const gate = this.gates.get(req.socket);
    const target = splitAuthority(req.url ?? '');
    if (!gate || !target) return void client.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    const admitted = await this.admit(gate, target.host, target.port);
    if ('refused' in admitted) return void client.end(refusedResponse(target, admitted.refused));
    const upstream = await this.dial(admitted.address, target.port).catch(() => undefined);
    if (!upstream) return void client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
    if (client.destroyed) return void upstream.destroy();
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    // The first bytes decide: a TLS hello must ask for the name the tunnel was opened for.
    let first = head;
    const check = () => {
      const hello = readClientHello(first);
      if (hello.kind === 'partial' && first.length < CLIENT_HELLO_MAX) return false;
      const name = hello.kind === 'tls' ? hello.serverName : undefined;
      if (name !== undefined && name.toLowerCase() !== target.host.toLowerCase()) {
        gate.record({ verdict: 'denied', ...target, reason: `TLS asks for ${name}` });
        client.destroy();
        upstream.destroy();
        return true;
      }
      upstream.write(first);
      client.pipe(upstream);
      upstream.pipe(client);
      return true;
    };
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
    if (first.length > 0 && check()) return;
    const onData = (chunk: Buffer) => {
      first = Buffer.concat([first, chunk]);
      if (!check()) return;
      client.off('data', onData);
    };
    client.on('data', onData);
  }

  private async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const gate = this.gates.get(req.socket);
    let url: URL | undefined;
    try {
      url = new URL(req.url ?? '');
    } catch {
      url = undefined;
    }
    if (!gate || !url || url.protocol !== 'http:') {
      res.writeHead(400).end('banger egress: a proxy request needs an absolute http:// URL\n');
      return;
    }
    const target = { host: url.hostname, port: Number(url.port || 80) };
    const admitted = await this.admit(gate, target.host, target.port);
    if ('refused' in admitted) {
      res
        .writeHead(403, { 'content-type': 'text/plain' })
        .end(refusalText(target, admitted.refused));
      return;
    }
    const headers: Record<string, string | string[] | undefined> = {
      ...req.headers,
      host: url.host,
    };
    for (const name of Object.keys(headers)) if (name.startsWith('proxy-')) delete headers[name];
    const upstream = request(
      {
        host: admitted.address,
        port: target.port,
        method: req.method,
        path: `${url.pathname}${url.search}`,
        headers,
        agent: false,
        timeout: this.options.connectTimeoutMs ?? 15_000,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('timeout', () => upstream.destroy());
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(upstream);
  }

  private dial(address: string, port: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: address, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('connect timeout'));
      }, this.options.connectTimeoutMs ?? 15_000);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(socket);
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }
}

/** `host:port` of a CONNECT (the port is required), brackets kept off an IPv6 host. */
function splitAuthority(authority: string): { host: string; port: number } | undefined {
  const m = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(authority);
  const port = Number(m?.[2]);
  if (!m || !(port > 0 && port < 65536)) return undefined;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

function refusalText(target: { host: string; port: number }, reason: string): string {
  return `banger egress: ${target.host}:${target.port} refused: ${reason}\n`;
}

function refusedResponse(target: { host: string; port: number }, reason: string): string {
  const body = refusalText(target, reason);
  return `HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}
