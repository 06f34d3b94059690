import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import dnsPacket from 'dns-packet';
import { pino } from 'pino';
import { ask, decodeResponse, queryPacket, udpExchange } from '../../../test/helpers/dns-client.js';
import { BangerError, ErrorCode } from '../../errors.js';
import { freeLoopbackPort } from '../../system/ports.js';
import { VmDnsServer } from './server.js';

// A real responder on 127.0.0.1 (port 0), asked with real UDP and TCP queries.

let server: VmDnsServer;
let port: number;

before(async () => {
  server = new VmDnsServer({ subnet: '10.77.0.0/24' });
  server.setRecords([
    { name: 'box', ip: '10.77.0.5' },
    { name: 'blue-fox', ip: '10.77.0.6' },
  ]);
  const [bound] = await server.listen([{ host: '127.0.0.1', port: 0 }]);
  port = bound!.port;
});
after(() => server.close());

test('A for a known name: the address, TTL 5, AA set, id and question echoed', async () => {
  const packet = queryPacket('box.vm', 'A');
  const answer = dnsPacket.decode(await udpExchange(port, packet));
  assert.equal(answer.id, packet.readUInt16BE(0));
  assert.equal(answer.type, 'response');
  assert.equal(answer.flag_aa, true);
  assert.equal(answer.flag_rd, true, 'RD is echoed');
  assert.equal(answer.flag_ra, false, 'no recursion for a source that may not forward');
  assert.deepEqual(answer.questions, [{ name: 'box.vm', type: 'A', class: 'IN' }]);
  assert.deepEqual(answer.answers, [
    { name: 'box.vm', type: 'A', ttl: 5, class: 'IN', flush: false, data: '10.77.0.5' },
  ]);
});

test('names are case-insensitive and the question keeps its case', async () => {
  for (const name of ['BOX.VM', 'Box.Vm', 'blue-FOX.vm']) {
    const answer = await ask(port, name);
    assert.equal(answer.rcode, 'NOERROR', name);
    assert.equal(answer.questions![0]!.name, name);
    assert.equal(answer.answers[0]!.name, name);
  }
  assert.equal((await ask(port, 'BLUE-fox.VM')).answers[0]!.data, '10.77.0.6');
});

test('PTR for a VM address names the VM', async () => {
  const answer = await ask(port, '5.0.77.10.in-addr.arpa', 'PTR');
  assert.equal(answer.rcode, 'NOERROR');
  assert.equal(answer.flag_aa, true);
  assert.deepEqual(
    answer.answers.map((a) => [a.type, a.name, 'data' in a ? a.data : undefined]),
    [['PTR', '5.0.77.10.in-addr.arpa', 'box.vm']],
  );
  assert.equal((await ask(port, '6.0.77.10.IN-ADDR.ARPA', 'PTR')).answers[0]!.data, 'blue-fox.vm');
});

test('NXDOMAIN for an unknown .vm name and an unknown address in the VM subnet', async () => {
  for (const [name, type] of [
    ['nobody.vm', 'A'],
    ['x.box.vm', 'A'],
    ['99.0.77.10.in-addr.arpa', 'PTR'],
  ] as const) {
    const answer = await ask(port, name, type);
    assert.equal(answer.rcode, 'NXDOMAIN', name);
    assert.equal(answer.flag_aa, true, name);
    assert.equal(answer.answers.length, 0, name);
    assert.equal(answer.questions![0]!.name, name);
  }
});

test('AAAA (or MX) for a known name: NOERROR with no answers', async () => {
  for (const type of ['AAAA', 'MX'] as const) {
    const answer = await ask(port, 'box.vm', type);
    assert.equal(answer.rcode, 'NOERROR', type);
    assert.equal(answer.flag_aa, true);
    assert.equal(answer.answers.length, 0);
  }
  const nodata = await ask(port, '5.0.77.10.in-addr.arpa', 'A');
  assert.equal(nodata.rcode, 'NOERROR');
  assert.equal(nodata.answers.length, 0);
});

test('a name outside .vm from a source that may not forward is REFUSED', async () => {
  for (const [name, type] of [
    ['example.com', 'A'],
    ['1.0.0.127.in-addr.arpa', 'PTR'], // a reverse name outside the VM subnet
  ] as const) {
    const answer = await ask(port, name, type);
    assert.equal(answer.rcode, 'REFUSED', name);
    assert.equal(answer.flag_aa, false);
    assert.equal(answer.questions![0]!.name, name);
  }
});

test('records set later replace the old ones at once', async () => {
  server.setRecords([
    { name: 'box', ip: '10.77.0.9' },
    { name: 'New-One.', ip: '10.77.0.10' },
  ]);
  try {
    assert.equal((await ask(port, 'box.vm')).answers[0]!.data, '10.77.0.9');
    assert.equal((await ask(port, 'new-one.vm')).answers[0]!.data, '10.77.0.10');
    assert.equal((await ask(port, 'blue-fox.vm')).rcode, 'NXDOMAIN');
    assert.equal((await ask(port, '5.0.77.10.in-addr.arpa', 'PTR')).rcode, 'NXDOMAIN');
    assert.equal((await ask(port, '9.0.77.10.in-addr.arpa', 'PTR')).answers[0]!.data, 'box.vm');
  } finally {
    server.setRecords([
      { name: 'box', ip: '10.77.0.5' },
      { name: 'blue-fox', ip: '10.77.0.6' },
    ]);
  }
  assert.throws(() => server.setRecords([{ name: 'bad', ip: 'fe80::1' }]), /not an IPv4/);
  assert.equal(
    (await ask(port, 'box.vm')).answers[0]!.data,
    '10.77.0.5',
    'a bad set changes nothing',
  );
});

test('TCP on the same port answers as UDP does', async () => {
  const answer = await ask(port, 'box.vm', 'A', 'tcp');
  assert.equal(answer.rcode, 'NOERROR');
  assert.equal(answer.answers[0]!.data, '10.77.0.5');
  assert.equal((await ask(port, 'nobody.vm', 'A', 'tcp')).rcode, 'NXDOMAIN');
});

test('an EDNS query gets an OPT record back', async () => {
  const packet = queryPacket('box.vm', 'A', {
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: 4096,
        extendedRcode: 0,
        ednsVersion: 0,
        flags: 0,
        flag_do: false,
        options: [],
      },
    ],
  });
  const answer = dnsPacket.decode(await udpExchange(port, packet));
  assert.equal(answer.answers![0]!.type, 'A');
  assert.deepEqual(
    answer.additionals!.map((a) => a.type),
    ['OPT'],
  );
});

test('garbage is dropped, a response is not answered, and the next query is answered', async () => {
  const socket = createSocket('udp4');
  try {
    const received: Buffer[] = [];
    socket.on('message', (m) => received.push(m));
    const garbage = [
      Buffer.alloc(0),
      Buffer.from([0x12]),
      Buffer.from('this is not dns at all, just some bytes'),
      Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x3f, 0x61]), // truncated name
      Buffer.from(queryPacket('box.vm').map((b, i) => (i === 2 ? b | 0x80 : b))), // QR set
    ];
    for (const g of garbage) socket.send(g, port, '127.0.0.1');
    const answer = await ask(port, 'box.vm');
    assert.equal(answer.answers[0]!.data, '10.77.0.5');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(received, [], 'nothing answers garbage or a response');
  } finally {
    socket.close();
  }
});

test('a query with two questions is FORMERR; another opcode is NOTIMP', async () => {
  const two = dnsPacket.encode({
    type: 'query',
    id: 7,
    questions: [
      { type: 'A', name: 'box.vm' },
      { type: 'A', name: 'blue-fox.vm' },
    ],
  });
  const formerr = decodeResponse(await udpExchange(port, two));
  assert.equal(formerr.rcode, 'FORMERR');
  assert.equal(formerr.id, 7);
  const notify = Buffer.from(queryPacket('box.vm'));
  notify[2] = notify[2]! | (4 << 3); // opcode 4 (NOTIFY)
  assert.equal(decodeResponse(await udpExchange(port, notify)).rcode, 'NOTIMP');
});

test('port in use: the error names the address, and what the call had bound is closed', async () => {
  const free = await freeLoopbackPort();
  const busy = createSocket('udp4');
  await new Promise<void>((resolve) => busy.bind(0, '127.0.0.1', resolve));
  const busyPort = busy.address().port;
  const other = new VmDnsServer();
  try {
    await assert.rejects(
      other.listen([
        { host: '127.0.0.1', port: free },
        { host: '127.0.0.1', port: busyPort },
      ]),
      (err: unknown) => {
        assert.ok(err instanceof BangerError);
        assert.equal(err.code, ErrorCode.Conflict);
        assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${busyPort}/udp`));
        assert.match(err.message, /in use.*network\.dns_port/);
        assert.doesNotMatch(err.message, /\n/);
        return true;
      },
    );
    assert.deepEqual(other.addresses(), []);
    // The first address was bound before the failure and is free again, UDP and TCP.
    const udp = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(free, '127.0.0.1', resolve);
    });
    udp.close();
    const tcp = createServer();
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(free, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => tcp.close(resolve));
  } finally {
    busy.close();
    await other.close();
  }
});

test('TCP port in use is named as such; a second listen adds an address', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const takenPort = (taken.address() as { port: number }).port;
  const other = new VmDnsServer();
  try {
    await assert.rejects(
      other.listen([{ host: '127.0.0.1', port: takenPort }]),
      new RegExp(`127\\.0\\.0\\.1:${takenPort}/tcp: the address is in use`),
    );
    other.setRecords([{ name: 'box', ip: '10.77.0.5' }]);
    const [first] = await other.listen([{ host: '127.0.0.1', port: 0 }]);
    const [second] = await other.listen([{ host: '127.0.0.1', port: 0 }]);
    assert.notEqual(first!.port, second!.port);
    assert.deepEqual(other.addresses(), [first, second]);
    assert.equal((await ask(second!.port, 'box.vm')).answers[0]!.data, '10.77.0.5');
    await assert.rejects(other.listen([first!]), /already listens on 127\.0\.0\.1/);
  } finally {
    await new Promise((resolve) => taken.close(resolve));
    await other.close();
  }
});

test('close is idempotent, shared by concurrent callers, and frees the port', async () => {
  const other = new VmDnsServer();
  const [bound] = await other.listen([{ host: '127.0.0.1', port: 0 }]);
  const a = other.close();
  const b = other.close();
  assert.equal(a, b);
  await a;
  await other.close();
  assert.deepEqual(other.addresses(), []);
  await assert.rejects(other.listen([{ host: '127.0.0.1', port: 0 }]), /closed/);
  // Nothing answers there any more, and the port can be bound again.
  await assert.rejects(udpExchange(bound!.port, queryPacket('box.vm'), 200), /no answer/);
  const again = new VmDnsServer();
  await again.listen([bound!]);
  await again.close();
});

test('every query is logged at debug: source, name, type, rcode, time', async () => {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const other = new VmDnsServer({ log: pino({ level: 'debug' }, stream) });
  other.setRecords([{ name: 'box', ip: '10.77.0.5' }]);
  const [bound] = await other.listen([{ host: '127.0.0.1', port: 0 }]);
  try {
    await udpExchange(bound!.port, Buffer.from('garbage!'), 100).catch(() => undefined);
    await ask(bound!.port, 'box.vm', 'A', 'tcp');
  } finally {
    await other.close();
  }
  const queries = lines.filter((l) => l.msg === 'dns query');
  assert.deepEqual(
    queries.map(({ src, transport, name, type, rcode, dropped }) => ({
      src,
      transport,
      name,
      type,
      rcode,
      dropped,
    })),
    [
      {
        src: '127.0.0.1',
        transport: 'udp',
        dropped: 'malformed packet',
        ...none('name', 'type', 'rcode'),
      },
      {
        src: '127.0.0.1',
        transport: 'tcp',
        name: 'box.vm',
        type: 'A',
        rcode: 'NOERROR',
        dropped: undefined,
      },
    ],
  );
  assert.ok(queries.every((q) => typeof q.us === 'number' && q.level === 20));
});

function none(...keys: string[]): Record<string, undefined> {
  return Object.fromEntries(keys.map((k) => [k, undefined]));
}
