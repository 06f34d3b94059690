// `<name>.vm` lookup latency on banger's DNS responder: 5,000 sequential A queries for known
// names (100 records) from one UDP client on 127.0.0.1, against a bare UDP echo server that
// sends each query straight back (the floor: Node's dgram and the loopback round trip),
// alternating in blocks in one run. Prints p50/p99 in microseconds and the ratios.
// Run: npx tsx bench/dns.ts   (BENCH_QUERIES=5000, BENCH_BLOCK=500)
import { createSocket, type Socket } from 'node:dgram';
import dnsPacket from 'dns-packet';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { VmDnsServer } from '../src/net/dns/server.js';

const QUERIES = Number(process.env.BENCH_QUERIES ?? 5000);
const BLOCK = Number(process.env.BENCH_BLOCK ?? 500);
const RECORDS = 100;

const names = Array.from({ length: RECORDS }, (_, i) => `vm-${i}`);
// The daemon's logger at its default level: the per-query debug call is made and dropped.
const log = pino({ level: 'info' }, new Writable({ write: (_c, _e, done) => done() }));
const responder = new VmDnsServer({ subnet: '10.77.0.0/24', log });
responder.setRecords(names.map((name, i) => ({ name, ip: `10.77.0.${i + 2}` })));
const [dnsAddress] = await responder.listen([{ host: '127.0.0.1', port: 0 }]);

const echo = createSocket('udp4');
echo.on('message', (msg, rinfo) => echo.send(msg, rinfo.port, rinfo.address));
await new Promise<void>((resolve) => echo.bind(0, '127.0.0.1', resolve));

const queries = Array.from({ length: QUERIES }, (_, i) =>
  dnsPacket.encode({
    type: 'query',
    id: i % 65536,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name: `${names[i % RECORDS]}.vm`, class: 'IN' }],
  }),
);

const client = createSocket('udp4');
await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
let waiting: ((msg: Buffer) => void) | undefined;
client.on('message', (msg) => waiting?.(msg));

function exchange(socket: Socket, port: number, query: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    waiting = resolve;
    socket.send(query, port, '127.0.0.1');
  });
}

/** Sends queries [from, to) one after another; returns each round trip in microseconds. */
async function run(port: number, from: number, to: number, check: boolean): Promise<number[]> {
  const times: number[] = [];
  for (let i = from; i < to; i++) {
    const query = queries[i]!;
    const t0 = process.hrtime.bigint();
    const answer = await exchange(client, port, query);
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
    if (answer.readUInt16BE(0) !== query.readUInt16BE(0)) throw new Error(`wrong id at ${i}`);
    if (check && (answer.readUInt16BE(6) !== 1 || (answer.readUInt16BE(2) & 0xf) !== 0))
      throw new Error(`query ${i} was not answered with one record`);
  }
  return times;
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

// Every name once, decoded, before anything is timed: the responder answers what it should.
for (let i = 0; i < RECORDS; i++) {
  const [first] =
    dnsPacket.decode(await exchange(client, dnsAddress!.port, queries[i]!)).answers ?? [];
  if (first?.type !== 'A' || first.data !== `10.77.0.${i + 2}`)
    throw new Error(`wrong answer ${i}`);
}
await run(echo.address().port, 0, 500, false); // warm-up both paths
await run(dnsAddress!.port, 0, 500, true);

const dns: number[] = [];
const raw: number[] = [];
for (let from = 0; from < QUERIES; from += BLOCK) {
  const to = Math.min(QUERIES, from + BLOCK);
  raw.push(...(await run(echo.address().port, from, to, false)));
  dns.push(...(await run(dnsAddress!.port, from, to, true)));
}

client.close();
echo.close();
await responder.close();

const fmt = (us: number) => `${us.toFixed(0)} µs`;
const [d50, d99, r50, r99] = [pct(dns, 50), pct(dns, 99), pct(raw, 50), pct(raw, 99)];
console.log(
  `${QUERIES} sequential A queries each, ${RECORDS} records, blocks of ${BLOCK} alternating:`,
);
console.log(`  responder   p50 ${fmt(d50)}  p99 ${fmt(d99)}`);
console.log(`  udp echo    p50 ${fmt(r50)}  p99 ${fmt(r99)}`);
console.log(`  ratio       p50 ${(d50 / r50).toFixed(2)}  p99 ${(d99 / r99).toFixed(2)}`);
