import type { Netns } from './netns.js';

/**
 * "The outside" for egress tests, in the namespace linkOutside made (192.0.2.1, TEST-NET-1,
 * alive only in the test's namespaces): a DNS server on port 53 answering A records for the
 * test's names with 192.0.2.1, and HTTP on ports 80 and 8080 answering `hello <Host>`.
 * Every DNS question it was asked is kept, so a test can prove a guest's own query never
 * arrived. Nothing here touches a real network.
 */
export interface EgressWorld {
  /** The names the DNS server was asked for, in order. */
  queries(): Promise<string[]>;
  stop(): void;
}

const SCRIPT = String.raw`
const dgram = require('node:dgram');
const http = require('node:http');
const dns = require('dns-packet');
const ip = process.argv[1];
const names = new Set(JSON.parse(process.argv[2]));
const asked = [];
const udp = dgram.createSocket('udp4');
udp.on('message', (msg, from) => {
  let q;
  try { q = dns.decode(msg); } catch { return; }
  const name = (q.questions[0] && q.questions[0].name || '').toLowerCase();
  asked.push(name);
  const known = names.has(name);
  udp.send(dns.encode({
    id: q.id, type: 'response', flags: dns.RECURSION_DESIRED | dns.RECURSION_AVAILABLE | (known ? 0 : 3),
    questions: q.questions,
    answers: known && q.questions[0].type === 'A' ? [{ type: 'A', name, ttl: 5, data: ip }] : [],
  }), from.port, from.address);
});
udp.bind(53, ip);
const serve = (q, s) => {
  if (q.url === '/__queries') return s.end(JSON.stringify(asked));
  s.end('hello ' + q.headers.host.split(':')[0]);
};
http.createServer(serve).listen(80, ip);
http.createServer(serve).listen(8080, ip, () => process.stdout.write('ready\n'));
`;

export async function startEgressWorld(
  outside: Netns & { ip: string },
  names: readonly string[],
): Promise<EgressWorld> {
  const child = outside.exec(process.execPath, ['-e', SCRIPT, outside.ip, JSON.stringify(names)], {
    timeoutMs: 1_800_000,
  });
  await new Promise<void>((resolve, reject) => {
    let text = '';
    child.stdout?.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('ready')) resolve();
    });
    void child.then((r) => reject(new Error(`egress world exited: ${String(r.stderr)}`)));
  });
  return {
    queries: async () => {
      const r = await outside.exec(process.execPath, [
        '-e',
        `fetch('http://${outside.ip}:8080/__queries').then((r) => r.text()).then((t) => process.stdout.write(t))`,
      ]);
      return JSON.parse(String(r.stdout)) as string[];
    },
    stop: () => void child.kill(),
  };
}
