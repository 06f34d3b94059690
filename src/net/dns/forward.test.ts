import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import dnsPacket from 'dns-packet';
import {
  ask,
  decodeResponse,
  fakeUpstream,
  queryPacket,
  tcpExchange,
  udpExchange,
} from '../../../test/helpers/dns-client.js';
import { FrameReader, frame } from './tcp-framing.js';
import { VmDnsServer } from './server.js';

// Forwarding through a fake upstream on 127.0.0.1: allowed sources get the upstream's answer
// byte for byte, others REFUSED; a silent upstream becomes SERVFAIL.

/** The fake upstream's answer: 192.0.2.1 (documentation range) for anything, id echoed. */
function upstreamAnswer(query: Buffer): Buffer {
  const q = dnsPacket.decode(query);
  return dnsPacket.encode({
    type: 'response',
    id: q.id ?? 0,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: q.questions ?? [],
    answers: [{ type: 'A', name: q.questions![0]!.name, ttl: 300, data: '192.0.2.1' }],
  });
}

let upstream: Awaited<ReturnType<typeof fakeUpstream>>;
const upstreamSaw: Buffer[] = [];
let silent: Awaited<ReturnType<typeof fakeUpstream>>;
let tcpUpstream: Server;
const sources: string[] = [];
let allow = true;

before(async () => {
  upstream = await fakeUpstream((msg, reply) => {
    upstreamSaw.push(msg);
    // A stray datagram with another id first: the responder must wait for the real one.
    const stray = upstreamAnswer(msg);
    stray.writeUInt16BE(stray.readUInt16BE(0) ^ 0xffff, 0);
    reply(stray);
    reply(upstreamAnswer(msg));
  });
  silent = await fakeUpstream(() => {});
  tcpUpstream = createServer((socket: Socket) => {
    const reader = new FrameReader();
    socket.on('data', (chunk: Buffer) => {
      for (const msg of reader.push(chunk)) socket.write(frame(upstreamAnswer(msg)));
    });
  });
  await new Promise<void>((resolve) => tcpUpstream.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  await upstream.close();
  await silent.close();
  await new Promise((resolve) => tcpUpstream.close(resolve));
});

async function withServer(
  opts: ConstructorParameters<typeof VmDnsServer>[0],
  fn: (port: number, server: VmDnsServer) => Promise<void>,
): Promise<void> {
  const server = new VmDnsServer({
    allowForward: (ip) => {
      sources.push(ip);
      return allow;
    },
    upstream: { host: '127.0.0.1', port: upstream.port },
    ...opts,
  });
  server.setRecords([{ name: 'box', ip: '10.77.0.5' }]);
  try {
    const [bound] = await server.listen([{ host: '127.0.0.1', port: 0 }]);
    await fn(bound!.port, server);
  } finally {
    await server.close();
  }
}

test('an allowed source gets the upstream answer byte for byte; the query went as sent', async () => {
  allow = true;
  await withServer({}, async (port) => {
    upstreamSaw.length = 0;
    const query = queryPacket('example.com', 'A');
    const answer = await udpExchange(port, query);
    assert.deepEqual(answer, upstreamAnswer(query));
    assert.deepEqual(upstreamSaw, [query]);
    assert.equal(sources.at(-1), '127.0.0.1', 'the predicate is asked with the source address');
    // .vm names never leave the responder, even for a source that may forward.
    upstreamSaw.length = 0;
    const local = await ask(port, 'box.vm');
    assert.equal(local.answers[0]!.data, '10.77.0.5');
    assert.equal(local.flag_ra, true, 'recursion available to this source');
    assert.equal((await ask(port, 'nobody.vm')).rcode, 'NXDOMAIN');
    assert.deepEqual(upstreamSaw, []);
  });
});

test('a source that may not forward is REFUSED and nothing reaches the upstream', async () => {
  allow = false;
  await withServer({}, async (port) => {
    upstreamSaw.length = 0;
    const answer = await ask(port, 'example.com');
    assert.equal(answer.rcode, 'REFUSED');
    assert.equal(answer.answers.length, 0);
    assert.deepEqual(upstreamSaw, []);
  });
  allow = true;
});

test('a predicate that throws counts as not allowed', async () => {
  await withServer(
    {
      allowForward: () => {
        throw new Error('boom');
      },
    },
    async (port) => {
      assert.equal((await ask(port, 'example.com')).rcode, 'REFUSED');
    },
  );
});

test('a silent upstream: SERVFAIL after the timeout, with the id and question echoed', async () => {
  allow = true;
  await withServer(
    { upstream: { host: '127.0.0.1', port: silent.port }, forwardTimeoutMs: 300 },
    async (port) => {
      const started = Date.now();
      const query = queryPacket('slow.example', 'A');
      const answer = decodeResponse(await udpExchange(port, query));
      assert.ok(Date.now() - started >= 250, 'waited for the timeout');
      assert.equal(answer.rcode, 'SERVFAIL');
      assert.equal(answer.id, query.readUInt16BE(0));
      assert.equal(answer.questions![0]!.name, 'slow.example');
    },
  );
});

test('an upstream with nothing listening: SERVFAIL without waiting for the timeout', async () => {
  const closed = await fakeUpstream(() => {});
  const closedPort = closed.port;
  await closed.close();
  await withServer(
    { upstream: { host: '127.0.0.1', port: closedPort }, forwardTimeoutMs: 5000 },
    async (port) => {
      const started = Date.now();
      assert.equal((await ask(port, 'example.com')).rcode, 'SERVFAIL');
      assert.ok(Date.now() - started < 2000);
    },
  );
});

test('over TCP the query is forwarded over TCP', async () => {
  allow = true;
  const tcpPort = (tcpUpstream.address() as { port: number }).port;
  await withServer({ upstream: { host: '127.0.0.1', port: tcpPort } }, async (port) => {
    upstreamSaw.length = 0;
    const query = queryPacket('example.org', 'A');
    assert.deepEqual(await tcpExchange(port, query), upstreamAnswer(query));
    assert.deepEqual(upstreamSaw, [], 'not over UDP');
  });
});

test('the upstream can be read per forward (resolv.conf changes)', async () => {
  let calls = 0;
  await withServer(
    {
      upstream: () => {
        calls++;
        return Promise.resolve({ host: '127.0.0.1', port: upstream.port });
      },
    },
    async (port) => {
      await ask(port, 'a.example');
      await ask(port, 'b.example');
      assert.equal(calls, 2);
    },
  );
});

test('close abandons a forward in flight; the client gets nothing', async () => {
  const server = new VmDnsServer({
    allowForward: () => true,
    upstream: { host: '127.0.0.1', port: silent.port },
    forwardTimeoutMs: 5000,
  });
  const [bound] = await server.listen([{ host: '127.0.0.1', port: 0 }]);
  const pending = udpExchange(bound!.port, queryPacket('hang.example'), 500);
  await new Promise((r) => setTimeout(r, 100));
  const started = Date.now();
  await server.close();
  assert.ok(Date.now() - started < 1000, 'close did not wait for the upstream');
  await assert.rejects(pending, /no answer/);
});
