// RPC fuzz against the daemon as a process: random and mutated requests on its socket —
// wrong types, huge strings, deep objects, unknown methods, broken frames — plus connections
// opened and dropped. The daemon must stay up, answer `vm ls` after, and give its memory
// back (RSS within 10 MiB of where it started). No request here can be a valid call: every
// params object carries an unknown key (the schemas are strict) or is of the wrong type, so
// nothing is built, pulled or shut down. BANGER_FUZZ_REQUESTS sets the count (npm test:
// 1000; npm run test:faults: 10000).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { methods } from '../../src/protocol/index.js';
import { makeSandbox, type Sandbox } from '../helpers/sandbox.js';
import { ok } from '../helpers/vm.js';

const REQUESTS = Number(process.env.BANGER_FUZZ_REQUESTS ?? 1000);
const SEED = Number(process.env.BANGER_FAULT_SEED ?? Date.now() % 2 ** 31);

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const rssOf = async (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

describe(`RPC fuzz (${REQUESTS} requests, seed ${SEED})`, () => {
  let sb: Sandbox;
  before(async () => {
    sb = await makeSandbox();
    ok(await sb.cli(['daemon', 'start']));
  });
  after(() => sb?.dispose());

  test('the daemon stays up, answers after, and gives its memory back', async () => {
    const pid = (await sb.daemonPid())!;
    ok(await sb.cli(['vm', 'ls']));
    await new Promise((r) => setTimeout(r, 3000)); // the idle GC
    const before = await rssOf(pid);
    const random = prng(SEED);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    // daemon.shutdown is left out: vscode-jsonrpc reads `params: null` as none, a valid stop.
    const names = [
      ...methods.map((m) => m.name).filter((n) => n !== 'daemon.shutdown'),
      ...['vm.nope', '', 'x'.repeat(300), '__proto__'],
    ];
    /** Nested arrays and objects as JSON text (too deep for JSON.stringify to write). */
    const deep = (n: number): string => {
      let open = '';
      let close = '';
      for (let i = 0; i < n; i++)
        if (random() < 0.5) {
          open += '[';
          close = `]${close}`;
        } else {
          open += '{"a":';
          close = `}${close}`;
        }
      return `${open}1${close}`;
    };
    const junk = (): string =>
      pick([
        () => JSON.stringify('x'.repeat(Math.floor(random() * 2 ** 20))),
        () => String(Math.floor(random() * 2 ** 53) * (random() < 0.5 ? -1 : 1)),
        () => deep(Math.floor(random() * 100_000)),
        () => '[null,true,1.5,"ref"]',
        () => `{"ref":${deep(50)},"name":12,"vcpu":"2","memoryMiB":-1,"__fuzz":1}`,
        () => `{"ref":${JSON.stringify('x'.repeat(100_000))},"__fuzz":true}`,
        () => '{"ref":"keep","__fuzz":{"__proto__":{"polluted":1}}}',
        () => 'null',
      ])();
    const frame = (body: string) => `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const broken = (): string =>
      pick([
        () => frame('{"jsonrpc":"2.0","id":1,"method":"vm.list"'), // cut JSON
        () => `Content-Length: 99999999\r\n\r\n{}`, // promises more than it sends
        () => 'Content-Length: abc\r\n\r\n{}',
        () => 'no headers at all\r\n\r\n',
        () => frame('[1,2,3]'),
        () => frame(JSON.stringify({ jsonrpc: '2.0', id: {}, method: 7 })),
        () => frame('\u0000\u0001\u0002'),
      ])();

    let socket = await open(sb.layout.socket);
    let sent = 0;
    for (let i = 0; i < REQUESTS; i++) {
      const kind = random();
      if (kind < 0.1) {
        // A frame no parser should accept: the connection may be closed for it.
        socket.write(broken());
        socket.destroy();
        socket = await open(sb.layout.socket);
      } else {
        const id = random() < 0.9 ? `"id":${i},` : '';
        const body = `{"jsonrpc":"2.0",${id}"method":${JSON.stringify(pick(names))},"params":${junk()}}`;
        // The daemon drops a connection that breaks its limits (depth, size): open another.
        if (socket.destroyed || socket.writableEnded) socket = await open(sb.layout.socket);
        if (!socket.write(frame(body))) {
          const s = socket;
          await new Promise((r) => {
            s.once('drain', r);
            s.once('close', r);
          });
        }
      }
      sent++;
      if (i % 200 === 199) {
        // Let the daemon catch up now and then (and open-and-drop a burst of connections).
        await new Promise((r) => setTimeout(r, 20));
        if (i % 1000 === 999)
          for (let c = 0; c < 100; c++) (await open(sb.layout.socket)).destroy();
      }
    }
    socket.destroy();
    for (let c = 0; c < 100; c++) (await open(sb.layout.socket)).destroy();

    assert.equal(sent, REQUESTS);
    assert.equal(await sb.daemonPid(), pid, 'the same daemon is still up');
    ok(await sb.cli(['vm', 'ls']), 'vm ls after the fuzz');
    // The idle GC runs 2 s after the last request; V8 gives pages back over the next seconds.
    let after = await rssOf(pid);
    for (let i = 0; i < 30 && after - before >= 10 * 2 ** 20; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      after = await rssOf(pid);
    }
    console.log(
      `daemon RSS ${(before / 2 ** 20).toFixed(1)} MiB before, ${(after / 2 ** 20).toFixed(1)} MiB after ${REQUESTS} requests`,
    );
    assert.ok(
      after - before < 10 * 2 ** 20,
      `RSS grew ${((after - before) / 2 ** 20).toFixed(1)} MiB`,
    );
  });
});

function open(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
    s.on('data', () => undefined); // answers are read and dropped
    s.on('error', () => undefined); // a connection the daemon dropped
  });
}
