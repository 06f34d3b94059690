// Published ports and `vm ports` through the real CLI on real VMs: user mode reached on this
// host's 127.0.0.1 (QEMU's forwards), tap mode inside a network namespace this file makes and
// deletes (the daemon's relay on the namespace's 127.0.0.1). Nothing is sent anywhere else.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { GuestPort } from '../../src/protocol/vm.js';
import { freeLoopbackPort } from '../../src/system/ports.js';
import { makeNetns, type Netns } from '../helpers/netns.js';
import type { Sandbox } from '../helpers/sandbox.js';
import { assertNoVmLeft, err, ok, out, vmSandbox } from '../helpers/vm.js';

const BOOT = { timeoutMs: 600_000 };
const SMALL = ['--memory', '512M', '--vcpu', '1'];
/** Two busybox web servers in one session: 8000 in the background, 3000 in the foreground. */
const SERVE = [
  ...['sh', '-c'],
  'mkdir -p /root/www && echo served > /root/www/f && busybox httpd -p 8000 -h /root/www && exec busybox httpd -f -p 3000 -h /root/www',
];

interface Ports {
  name: string;
  network: string;
  ports: GuestPort[];
}

/** A GET with node's fetch: the body, or "" when nothing answered. */
async function get(url: string): Promise<string> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return await r.text();
  } catch {
    return '';
  }
}

/** Until `fetch` returns `want` (a server in a session takes a moment to listen). */
async function fetched(fetch: () => Promise<string>, want = 'served'): Promise<void> {
  let last = '';
  for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
    if ((last = (await fetch()).trim()) === want) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.equal(last, want, 'the published port never answered');
}

describe('published ports, user mode', () => {
  let sb: Sandbox;
  let busy: Server;
  let busyPort = 0;
  before(async () => {
    sb = await vmSandbox();
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    busyPort = (busy.address() as { port: number }).port;
  });
  after(async () => {
    busy?.close();
    await sb?.dispose();
  });
  const ports = async () =>
    JSON.parse(out(ok(await sb.cli(['vm', 'ports', 'box', '--json'])))) as Ports;

  test('a taken host port is refused at create, before anything boots', async () => {
    const r = await sb.cli(['vm', 'create', '--name', 'nope', '--publish', `${busyPort}:80`]);
    assert.equal(r.exitCode, 1);
    // After the spec line: refused before the image, the disks or the boot.
    assert.deepEqual(err(r).trimEnd().split('\n').slice(1), [
      `banger: port ${busyPort} on 127.0.0.1 is already in use (or needs privileges banger lacks): it cannot be published to vm "nope"`,
      '  publish it from another host port: --publish HOST:80 with a free HOST, or --publish 0:80 for any free one',
    ]);
    assert.equal(out(ok(await sb.cli(['vm', 'ls', '--json']))).trim(), '[]');
  });

  test('--publish and vm port add reach the guest; vm ports says so; rm closes; restored after stop/start', async () => {
    const web = await freeLoopbackPort();
    const created = ok(
      await sb.cli(['vm', 'create', '--name', 'box', '--publish', `${web}:3000`, ...SMALL], BOOT),
    );
    assert.match(err(created), new RegExp(`published: 127\\.0\\.0\\.1:${web} → box port 3000`));
    ok(await sb.cli(['vm', 'session', 'start', 'box', 'web', '--', ...SERVE]));
    await fetched(() => get(`http://127.0.0.1:${web}/f`));

    // At runtime, on any free host port.
    const added = out(ok(await sb.cli(['vm', 'port', 'add', 'box', '8000', '--host', '0'])));
    const extra = Number(/^127\.0\.0\.1:(\d+) → box port 8000$/.exec(added.trim())?.[1]);
    assert.ok(extra > 0, added);
    await fetched(() => get(`http://127.0.0.1:${extra}/f`));

    const listed = await ports();
    const row = (port: number) => listed.ports.find((p) => p.protocol === 'tcp' && p.port === port);
    assert.deepEqual(
      { ...row(3000), addresses: [] },
      {
        ...{ protocol: 'tcp', port: 3000, addresses: [], processes: ['busybox'], listening: true },
        ...{ ssh: false, reach: [`127.0.0.1:${web}`], published: { host: web, open: true } },
      },
    );
    assert.deepEqual(row(8000)?.reach, [`127.0.0.1:${extra}`]);
    const sshPort = (
      JSON.parse(out(ok(await sb.cli(['vm', 'show', 'box', '--json'])))) as {
        sshPort: number;
      }
    ).sshPort;
    assert.deepEqual(
      [row(22)?.ssh, row(22)?.processes, row(22)?.reach, row(22)?.note],
      [true, ['sshd'], [`127.0.0.1:${sshPort}`], "banger's ssh"],
    );
    const table = out(ok(await sb.cli(['vm', 'ports', 'box'])));
    assert.match(table, /^PROTO\s+PORT\s+ADDRESS\s+PROCESS\s+HOST$/m);
    assert.match(
      table,
      new RegExp(`^tcp\\s+3000\\s+\\S+\\s+busybox\\s+127\\.0\\.0\\.1:${web}$`, 'm'),
    );

    // A host port something holds: refused, naming the port and the fix; nothing recorded.
    const taken = await sb.cli(['vm', 'port', 'add', 'box', '9000', '--host', String(busyPort)]);
    assert.equal(taken.exitCode, 1);
    assert.deepEqual(err(taken).trimEnd().split('\n'), [
      `banger: port ${busyPort} on 127.0.0.1 is already in use (or needs privileges banger lacks): it cannot be published to vm "box"`,
      '  publish it from another host port: "banger vm port add box 9000 --host PORT", or --host 0 for any free one',
    ]);

    assert.equal(
      out(ok(await sb.cli(['vm', 'port', 'rm', 'box', '8000']))).trim(),
      `127.0.0.1:${extra} → box port 8000 removed`,
    );
    assert.equal(await get(`http://127.0.0.1:${extra}/f`), '', 'closed');

    // Stop closes the forward with the VM; start opens it again (the session starts anew).
    ok(await sb.cli(['vm', 'stop', 'box'], BOOT));
    assert.equal(await get(`http://127.0.0.1:${web}/f`), '');
    ok(await sb.cli(['vm', 'start', 'box'], BOOT));
    ok(await sb.cli(['vm', 'session', 'start', 'box', 'web', '--', ...SERVE]));
    await fetched(() => get(`http://127.0.0.1:${web}/f`));
    assert.equal(await get(`http://127.0.0.1:${extra}/f`), '', 'a removed port stays removed');

    // A new daemon finds the forward still in QEMU and keeps it.
    ok(await sb.cli(['daemon', 'stop']));
    assert.equal((await ports()).ports.find((p) => p.port === 3000)?.published?.open, true);
    await fetched(() => get(`http://127.0.0.1:${web}/f`));

    ok(await sb.cli(['vm', 'rm', 'box'], BOOT));
    assert.equal(await get(`http://127.0.0.1:${web}/f`), '');
    await assertNoVmLeft(sb);
  });
});

describe('published ports, tap mode in a network namespace', () => {
  let ns: Netns;
  let sb: Sandbox;
  before(async () => {
    ns = await makeNetns();
    sb = await vmSandbox({ netns: ns.name });
  });
  after(async () => {
    await sb?.dispose();
    await ns?.dispose();
  });

  /** A GET from inside the namespace (its own 127.0.0.1). */
  const getIn = async (url: string) => {
    const r = await ns.exec(process.execPath, [
      '-e',
      `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(3000) }).then((r) => r.text()).then((t) => process.stdout.write(t))`,
    ]);
    return r.exitCode === 0 ? String(r.stdout) : '';
  };

  test("the daemon's relay on 127.0.0.1 reaches the guest, and a new daemon opens it again", async () => {
    const port = 18123;
    ok(
      await sb.cli(
        ['vm', 'create', '--name', 't', '--network', 'tap', '--publish', `${port}:3000`, ...SMALL],
        BOOT,
      ),
    );
    ok(await sb.cli(['vm', 'session', 'start', 't', 'web', '--', ...SERVE]));
    await fetched(() => getIn(`http://127.0.0.1:${port}/f`));
    const listed = JSON.parse(out(ok(await sb.cli(['vm', 'ports', 't', '--json'])))) as Ports;
    const web = listed.ports.find((p) => p.protocol === 'tcp' && p.port === 3000);
    assert.deepEqual(web?.reach, [`127.0.0.1:${port}`, 't.vm:3000', '172.30.0.2:3000']);
    assert.deepEqual(
      listed.ports.find((p) => p.port === 8000)?.reach,
      ['t.vm:8000', '172.30.0.2:8000'],
      'not published: reached at its own address',
    );

    // The relay lives in the daemon: gone with it, back with the next one.
    ok(await sb.cli(['daemon', 'stop']));
    assert.equal(await getIn(`http://127.0.0.1:${port}/f`), '');
    ok(await sb.cli(['daemon', 'start']));
    await fetched(() => getIn(`http://127.0.0.1:${port}/f`));

    ok(await sb.cli(['vm', 'rm', 't'], BOOT));
    assert.equal(await getIn(`http://127.0.0.1:${port}/f`), '');
    await assertNoVmLeft(sb);
  });
});
