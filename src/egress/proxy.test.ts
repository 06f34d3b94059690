import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { after, before, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { parseEgress, type EgressPolicy } from './policy.js';
import { EgressProxy, type EgressEntry } from './proxy.js';

// The proxy on 127.0.0.1 with real sockets: an HTTP origin and a TCP origin that records
// what it is sent stand for "the outside"; names resolve through a table this test owns.

let origin: Server;
let raw: ReturnType<typeof createTcpServer>;
let proxy: Server;
let originPort = 0;
let rawPort = 0;
let proxyPort = 0;
const rawSeen: Buffer[] = [];
let policy: EgressPolicy = parseEgress('allowed.test,*.wild.test,slow.test');
const log: EgressEntry[] = [];
/** Every socket of this file, both ends: after() destroys them, so a failed test cannot hang the file. */
const sockets = new Set<{ destroy(): unknown }>();
const keep = <T extends { destroy(): unknown }>(s: T): T => (sockets.add(s), s);
/** Waits until `ok()` holds (5 s at most): timing under load, not a timed assertion. */
async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
}

const listen = (s: Server | ReturnType<typeof createTcpServer>) =>
  new Promise<number>((resolve) =>
    s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)),
  );

before(async () => {
  origin = createServer((req, res) =>
    res.end(
      `origin saw ${req.method} ${req.url} host=${req.headers.host} proxy=${req.headers['proxy-authorization'] ?? '-'}`,
    ),
  );
  originPort = await listen(origin);
  raw = createTcpServer((s) => keep(s).on('data', (d) => rawSeen.push(d)));
  rawPort = await listen(raw);
  const names: Record<string, string[]> = {
    'allowed.test': ['127.0.0.1'],
    'a.wild.test': ['127.0.0.1'],
    'other.test': ['127.0.0.1'],
    'meta.test': ['169.254.169.254'],
  };
  const egress = new EgressProxy({
    resolve: (host) =>
      host === 'slow.test'
        ? new Promise((r) => setTimeout(() => r(['127.0.0.1']), 300))
        : Promise.resolve(names[host] ?? []),
    ports: [originPort, rawPort],
    connectTimeoutMs: 2000,
    allowLoopback: true, // the origins listen on 127.0.0.1
  });
  proxy = egress.server(() => ({ policy: () => policy, record: (e) => log.push(e) }));
  proxy.on('connection', (s: Socket) => keep(s));
  proxyPort = await listen(proxy);
});
after(() => {
  for (const s of sockets) s.destroy();
  for (const s of [origin, raw, proxy]) s.close();
  proxy.closeAllConnections();
  origin.closeAllConnections();
});

/** A plain-HTTP proxy request: status and body. */
function viaProxy(url: string, port = proxyPort): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: url, headers: { 'proxy-authorization': 'x' } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** CONNECT host:port: the proxy's status line and the tunnel socket. */
function tunnel(authority: string): Promise<{ status: string; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const socket = keep(connect(proxyPort, '127.0.0.1'));
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nhost: ${authority}\r\n\r\n`);
    let text = '';
    const onData = (d: Buffer) => {
      text += d.toString('latin1');
      if (!text.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      resolve({ status: text.split('\r\n')[0]!, socket });
    };
    socket.on('data', onData);
    socket.on('error', reject);
    socket.on('close', () => resolve({ status: text.split('\r\n')[0] ?? '', socket }));
  });
}

test('plain HTTP: a listed name reaches the origin with its Host and no proxy headers; others are refused and logged', async () => {
  const ok = await viaProxy(`http://allowed.test:${originPort}/path?q=1`);
  assert.equal(ok.status, 200);
  assert.equal(ok.body, `origin saw GET /path?q=1 host=allowed.test:${originPort} proxy=-`);
  assert.equal((await viaProxy(`http://a.wild.test:${originPort}/`)).status, 200);
  const cases: [string, RegExp][] = [
    [`http://other.test:${originPort}/`, /other\.test:\d+ refused: not in the egress list/],
    [`http://127.0.0.1:${originPort}/`, /refused: an address, not a name/],
    [
      `http://allowed.test:${originPort + 1 === rawPort ? originPort + 2 : originPort + 1}/`,
      /refused: port \d+ is not one of/,
    ],
  ];
  for (const [url, message] of cases) {
    const r = await viaProxy(url);
    assert.equal(r.status, 403, url);
    assert.match(r.body, message);
  }
  assert.equal((await viaProxy('/not-absolute')).status, 400);
  assert.deepEqual(
    log.filter((e) => e.verdict === 'denied').map((e) => `${e.host} ${e.reason}`),
    [
      'other.test not in the egress list',
      '127.0.0.1 an address, not a name',
      `allowed.test port ${cases[2]![0].split(':')[2]!.replace('/', '')} is not one of ${originPort}, ${rawPort}`,
    ],
  );
});

test('CONNECT: a listed name gets a tunnel; an unlisted one, an address, a link-local answer and another port get 403', async () => {
  const { status, socket } = await tunnel(`allowed.test:${rawPort}`);
  assert.equal(status, 'HTTP/1.1 200 Connection Established');
  socket.write('plain bytes');
  await until(() => Buffer.concat(rawSeen).length >= 11);
  assert.equal(Buffer.concat(rawSeen).toString(), 'plain bytes');
  socket.destroy();
  for (const authority of [
    `other.test:${rawPort}`,
    `127.0.0.1:${rawPort}`,
    `meta.test:${rawPort}`,
    'allowed.test:1',
    'garbage',
  ])
    assert.match(
      (await tunnel(authority)).status,
      /^HTTP\/1\.1 (403 Forbidden|400 Bad Request)$/,
      authority,
    );
  policy = parseEgress('none');
  assert.match(
    (await tunnel(`allowed.test:${rawPort}`)).status,
    /403/,
    'the policy is read per connection',
  );
  policy = parseEgress('allowed.test,*.wild.test,slow.test');
});

test('CONNECT: a client that resets while its name resolves is no error for the proxy', async () => {
  for (let i = 0; i < 5; i++) {
    const socket = keep(connect(proxyPort, '127.0.0.1'));
    await new Promise((r) => socket.once('connect', r));
    socket.write(`CONNECT slow.test:${rawPort} HTTP/1.1\r\nhost: slow.test\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 50));
    socket.resetAndDestroy();
  }
  await new Promise((r) => setTimeout(r, 600)); // past the slow name's resolution
  // Still serving (an uncaught error would have ended this test process).
  assert.equal(
    (await tunnel(`allowed.test:${rawPort}`)).status,
    'HTTP/1.1 200 Connection Established',
  );
});

test('CONNECT: the TLS server name must be the tunnel’s', async () => {
  rawSeen.length = 0;
  const good = await tunnel(`allowed.test:${rawPort}`);
  const tls = keep(tlsConnect({ socket: good.socket, servername: 'allowed.test' }));
  tls.on('error', () => undefined);
  await until(() => rawSeen.length > 0);
  assert.equal(Buffer.concat(rawSeen)[0], 0x16, 'the hello went through');
  tls.destroy();

  rawSeen.length = 0;
  const fronted = await tunnel(`allowed.test:${rawPort}`);
  const closed = new Promise((r) => fronted.socket.on('close', r));
  const evil = keep(tlsConnect({ socket: fronted.socket, servername: 'evil.test' }));
  evil.on('error', () => undefined);
  await closed;
  assert.equal(rawSeen.length, 0, 'nothing of it reached the origin');
  assert.equal(log.at(-1)?.reason, 'TLS asks for evil.test');
});

test('a listed name that resolves to the host itself is refused: loopback, mapped, its own interfaces', async () => {
  const own = Object.values(networkInterfaces())
    .flatMap((l) => l ?? [])
    .find((i) => !i.internal && !i.address.startsWith('fe80'));
  const answers: Record<string, string[]> = {
    'lo.test': ['127.0.0.1'],
    'lo6.test': ['::1'],
    'mapped.test': ['::ffff:127.0.0.2'],
    'meta.test': ['169.254.169.254'],
    ...(own ? { 'own.test': [own.address] } : {}),
  };
  const seen: EgressEntry[] = [];
  const strict = new EgressProxy({
    resolve: (host) => Promise.resolve(answers[host] ?? []),
    ports: [rawPort],
  });
  const server = strict.server(() => ({
    policy: () => parseEgress(Object.keys(answers).join(',')),
    record: (e) => seen.push(e),
  }));
  server.on('connection', (s: Socket) => keep(s));
  const port = await listen(server);
  const reached = rawSeen.length;
  try {
    for (const name of Object.keys(answers)) {
      const r = await viaProxy(`http://${name}:${rawPort}/`, port);
      assert.equal(r.status, 403, name);
    }
    assert.deepEqual(
      seen.map((e) => `${e.host} ${e.verdict} ${e.reason}`),
      Object.entries(answers).map(
        ([name, [address]]) =>
          `${name} denied resolves to ${address}, ${name === 'meta.test' ? 'a link-local or unspecified address' : 'this host'}: never reached through the proxy`,
      ),
    );
    assert.equal(rawSeen.length, reached, 'nothing reached the origin');
  } finally {
    server.close();
  }
});
