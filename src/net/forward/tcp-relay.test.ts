import assert from 'node:assert/strict';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { BangerError, ErrorCode } from '../../errors.js';
import { freeLoopbackPort } from '../../system/ports.js';
import { TcpRelay } from './tcp-relay.js';

// The tap-mode relay against real sockets on loopback: a "guest" server that answers only
// once its client has shut its side (as an HTTP/1.0 server may), so half-closes must pass.

const servers: Server[] = [];
after(() => servers.forEach((s) => s.close()));

async function guestServer(): Promise<number> {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('end', () => s.end(`echo:${got}`));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

function exchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ port, host: '127.0.0.1', allowHalfOpen: true });
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('end', () => (s.end(), resolve(got)));
    s.on('error', reject);
    s.end(text);
  });
}

test('relay: bytes both ways through a half-close, several connections, then closed', async () => {
  const guest = await guestServer();
  const host = await freeLoopbackPort();
  const relay = await TcpRelay.open(host, { host: '127.0.0.1', port: guest });
  assert.deepEqual(await Promise.all(['a', 'b'.repeat(200_000)].map((t) => exchange(host, t))), [
    'echo:a',
    `echo:${'b'.repeat(200_000)}`,
  ]);
  // An open connection is cut when the relay closes, and nothing listens any more.
  const open: Socket = createConnection({ port: host, host: '127.0.0.1' });
  await new Promise((r) => open.once('connect', r));
  const cut = new Promise((r) => open.once('close', r));
  await relay.close();
  await cut;
  await assert.rejects(exchange(host, 'late'), /ECONNREFUSED/);
});

test('relay: a taken host port is a Conflict naming it; an unreachable guest ends the client', async () => {
  const busy = createServer();
  servers.push(busy);
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  const port = (busy.address() as { port: number }).port;
  await assert.rejects(
    TcpRelay.open(port, { host: '127.0.0.1', port: 1 }),
    (err: unknown) =>
      err instanceof BangerError &&
      err.code === ErrorCode.Conflict &&
      err.message === `port ${port} on 127.0.0.1 is already in use`,
  );
  const host = await freeLoopbackPort();
  const relay = await TcpRelay.open(host, { host: '127.0.0.1', port: await freeLoopbackPort() });
  try {
    const r = await exchange(host, 'x').catch((err: Error) => err.message);
    assert.ok(r === '' || /ECONNRESET/.test(r), `the client is closed: ${r}`);
  } finally {
    await relay.close();
  }
});
