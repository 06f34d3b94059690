import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { Store } from '../../store/store.js';
import type { VmRecord } from '../../store/vms.js';
import type { RunOptions, RunResult, Runner } from '../../system/runner.js';
import { TapNetwork } from './tap-network.js';
import { macFor, tapFor } from './subnet.js';

// The tap provider against a runner that plays `ip` and `nft` (every command recorded, the
// host's links kept in a set) and a real SQLite store.

let dir: string;
let store: Store;
let links: Set<string>;
let calls: string[];
let rules: string[];

const runner: Runner = {
  run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const line = [file, ...args].join(' ');
    const input = String(options.input ?? '');
    calls.push(input ? `${line} <<< ${input.trim().split('\n').join(' ; ')}` : line);
    const ok = (stdout = ''): Promise<RunResult> =>
      Promise.resolve({ exitCode: 0, stdout, stderr: '' } as RunResult);
    if (file === 'resolvectl') return ok();
    if (file === 'nft') {
      rules.push(input);
      return ok();
    }
    if (line === 'ip -j link show')
      return ok(JSON.stringify([...links].map((ifname) => ({ ifname }))));
    if (line.startsWith('ip -j addr show dev '))
      return links.has(args.at(-1)!)
        ? ok(JSON.stringify([{ ifname: args.at(-1), addr_info: [] }]))
        : Promise.resolve({
            exitCode: 1,
            stdout: '',
            stderr: 'Device does not exist',
          } as RunResult);
    if (line.startsWith('ip link del dev ')) {
      const name = args.at(-1)!;
      const had = links.delete(name);
      return Promise.resolve({
        exitCode: had ? 0 : 1,
        stdout: '',
        stderr: had ? '' : 'Cannot find device',
      } as RunResult);
    }
    if (line === 'ip -batch -') {
      for (const cmd of input.trim().split('\n')) {
        const w = cmd.split(' ');
        if (w[0] === 'link' && w[1] === 'add') {
          if (links.has(w[3]!))
            return Promise.reject(new Error(`RTNETLINK: File exists (${w[3]})`));
          links.add(w[3]!);
        }
        if (w[0] === 'tuntap' && w[1] === 'add') links.add(w[3]!);
        if (w[0] === 'link' && w[1] === 'set' && w[4] === 'name') {
          links.delete(w[3]!);
          links.add(w[5]!);
        }
      }
      return ok();
    }
    throw new Error(`unexpected command: ${line}`);
  },
  stream: () => {
    throw new Error('no streams here');
  },
};

const supported = () => Promise.resolve({ ok: true, missing: [] });
const log = { info: () => {}, warn: () => {} };
const config = {
  bridge: 'banger0',
  subnet: '172.30.0.0/24',
  dnsPort: 42069,
  egressPort: 42070,
  vmToVm: false,
};

function network(over: Partial<ConstructorParameters<typeof TapNetwork>[0]> = {}): TapNetwork {
  return new TapNetwork({
    runner,
    store,
    log,
    config,
    support: supported,
    ipForwardFile: join(dir, 'ip_forward'),
    ...over,
  });
}

/** The image (and kernel) the test VMs' records point at. */
function insertImage(): void {
  store.db
    .prepare(
      "INSERT INTO kernels (id, name, version, source, dir, kernel_file, sha256, created_at) VALUES ('k','k','','','/','/k','0','now')",
    )
    .run();
  store.db
    .prepare(
      "INSERT INTO images (id, name, dir, rootfs_file, kernel_id, created_at) VALUES ('i','img','/','/r','k','now')",
    )
    .run();
}

function vm(id: string, guestIp: string, over: Partial<VmRecord> = {}): VmRecord {
  const now = new Date().toISOString();
  return {
    ...{ id, name: `vm-${id}`, imageId: 'i', state: 'running', vcpu: 1, memoryMiB: 256 },
    ...{ diskBytes: 1, networkMode: 'tap', nat: false, egress: 'none', guestIp, sshPort: 0 },
    dir: '/x',
    ...{ lastError: null, createdAt: now, updatedAt: now, owner: null },
    ...over,
  };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banger-tap-'));
});
beforeEach(async () => {
  store?.close();
  await rm(join(dir, 'banger.db'), { force: true });
  store = Store.open(join(dir, 'banger.db'));
  links = new Set(['eth0']);
  calls = [];
  rules = [];
});
after(async () => {
  store?.close();
  await rm(dir, { recursive: true, force: true });
});

test('addresses: distinct under parallel creates, durable per VM, refused when the subnet is full', async () => {
  const net = network();
  const ips = await Promise.all(
    Array.from({ length: 8 }, (_, i) => net.allocate({ id: `id${i}`, name: `n${i}` })),
  );
  assert.equal(new Set(ips.map((r) => r.guestIp)).size, 8);
  assert.deepEqual(ips[0], { guestIp: '172.30.0.2' });
  assert.deepEqual(await net.allocate({ id: 'id3', name: 'n3' }), ips[3]);
  await net.release({ id: 'id0' });
  assert.deepEqual(await net.allocate({ id: 'new', name: 'x' }), { guestIp: '172.30.0.2' });

  const tiny = network({ config: { ...config, subnet: '10.9.0.0/30' } });
  await tiny.allocate({ id: 'only', name: 'only' });
  await assert.rejects(
    tiny.allocate({ id: 'more', name: 'more' }),
    /no free address left in 10\.9\.0\.0\/30/,
  );
});

test('a host without tap support is refused before anything is made', async () => {
  const net = network({
    support: () =>
      Promise.resolve({ ok: false, missing: [{ what: '/dev/net/tun', fix: 'modprobe tun' }] }),
  });
  await assert.rejects(net.allocate({ id: 'a', name: 'a' }), (err: Error & { hint?: string }) => {
    assert.equal(err.message, 'tap networking is not available here: no /dev/net/tun');
    assert.equal(err.hint, 'modprobe tun; or use --network user');
    return true;
  });
  assert.deepEqual(calls, []);
  assert.deepEqual([...store.addresses.taken()], []);
});

test('attach: bridge, the VM tap from the pool, rules with every running VM; detach undoes it', async () => {
  const net = network();
  const a = vm('aaaaaaaaaaaaaaaa', '172.30.0.2');
  const b = vm('bbbbbbbbbbbbbbbb', '172.30.0.3', { nat: true });
  await net.allocate(a); // fills the pool in the background
  await new Promise((r) => setTimeout(r, 10));
  const pooled = [...links].filter((l) => l.startsWith('bp-'));
  assert.equal(pooled.length, 2, 'the pool holds two taps');

  const attached = await net.attach(a);
  assert.deepEqual(attached.launch, { mode: 'tap', tap: tapFor(a.id), mac: macFor(a.id) });
  assert.deepEqual(attached.guest, {
    ip: '172.30.0.2/24',
    gateway: '172.30.0.1',
    dns: '172.30.0.1',
  });
  assert.ok(links.has('banger0') && links.has(tapFor(a.id)));
  const claim = calls.find((c) => c.includes(`name ${tapFor(a.id)}`))!;
  assert.match(
    claim,
    new RegExp(
      `link set dev ${pooled[0]} name ${tapFor(a.id)} ; link set dev ${tapFor(a.id)} master banger0 ; link set dev ${tapFor(a.id)} up`,
    ),
  );
  assert.match(rules.at(-1)!, /iifname "bt-aaaaaaaaaaaa" ether saddr != /);

  await net.attach(b);
  assert.equal(await readFile(join(dir, 'ip_forward'), 'utf8'), '1\n', 'NAT turns forwarding on');
  assert.match(rules.at(-1)!, /elements = \{ 172\.30\.0\.3 \}/);
  assert.match(rules.at(-1)!, /iifname \{ "bt-aaaaaaaaaaaa", "bt-bbbbbbbbbbbb" \} oifname/);

  await net.detach(b);
  assert.equal(links.has(tapFor(b.id)), false);
  assert.doesNotMatch(rules.at(-1)!, /bt-bbbb/);
  await net.detach(a);
  assert.match(
    rules.at(-1)!,
    /^table inet banger \{\}\ndelete table inet banger\n.*delete table bridge banger\n$/s,
  );
  await net.close();
  assert.deepEqual(
    [...links].filter((l) => l.startsWith('bp-')),
    [],
    'close deletes the pool',
  );
});

test('reconcile: taps of stopped VMs go, pool taps are adopted, orphan addresses released', async () => {
  const running = vm('1111111111111111', '172.30.0.2');
  const stopped = vm('2222222222222222', '172.30.0.3', { state: 'stopped' });
  for (const v of [running, stopped]) {
    store.addresses.allocate(v.id, () => v.guestIp!);
    links.add(tapFor(v.id));
  }
  store.addresses.allocate('ghost', () => '172.30.0.9');
  links.add('bp-00c0ffee');
  // The store has rows only for VMs that exist; insert the two.
  insertImage();
  for (const v of [running, stopped]) store.vms.insert(v);

  const net = network();
  await net.reconcile([running, stopped]);
  assert.equal(links.has(tapFor(running.id)), true);
  assert.equal(links.has(tapFor(stopped.id)), false);
  assert.equal(links.has('bp-00c0ffee'), true, 'adopted, not deleted');
  assert.deepEqual([...store.addresses.taken()].sort(), ['172.30.0.2', '172.30.0.3']);
  assert.match(rules.at(-1)!, /bt-111111111111/);
  assert.doesNotMatch(rules.at(-1)!, /bt-222222222222/);
  await net.close();
});

test('no tap VM: reconcile touches nothing on the host', async () => {
  await network().reconcile([vm('3333333333333333', '10.0.2.15', { networkMode: 'user' })]);
  assert.deepEqual(calls, []);
  await writeFile(join(dir, 'unused'), '');
});

test('the DNS responder starts with the bridge and knows every tap VM holding an address', async () => {
  const listened: { host: string; port: number }[][] = [];
  const records: { name: string; ip: string }[][] = [];
  const dns = {
    listen: (a: readonly { host: string; port: number }[]) => {
      listened.push([...a]);
      return Promise.resolve();
    },
    setRecords: (r: readonly { name: string; ip: string }[]) => void records.push([...r]),
    close: () => Promise.resolve(void (closed = true)),
  };
  let closed = false;
  insertImage();
  const net = network({
    dns: () => Promise.resolve(dns),
    resolvedSocket: join(dir, 'resolved.sock'),
  });
  await writeFile(join(dir, 'resolved.sock'), '');
  const a = vm('aaaaaaaaaaaaaaaa', '');
  const { guestIp } = await net.allocate(a);
  store.vms.insert({ ...a, name: 'box', guestIp });
  await net.attach({ ...a, name: 'box', guestIp });
  assert.deepEqual(listened, [
    [
      { host: '127.0.0.1', port: 42069 },
      { host: '172.30.0.1', port: 42069 },
    ],
  ]);
  assert.deepEqual(records.at(-1), [{ name: 'box', ip: '172.30.0.2' }]);
  assert.ok(calls.includes('resolvectl dns banger0 172.30.0.1:42069'));
  assert.ok(calls.includes('resolvectl domain banger0 ~vm'));
  await net.detach(a);
  await net.release(a);
  assert.deepEqual(records.at(-1), [], 'a deleted VM is no longer answered');
  await net.close();
  assert.ok(calls.includes('resolvectl revert banger0'), 'close reverts the route');
  assert.ok(closed, 'close closes the responder');
});

test('parallel first boots set the bridge and the responder up once', async () => {
  let listens = 0;
  const dns = {
    listen: async () => {
      listens++;
      await new Promise((r) => setTimeout(r, 5));
    },
    setRecords: () => {},
    close: () => Promise.resolve(),
  };
  const net = network({ dns: () => Promise.resolve(dns), resolvedSocket: join(dir, 'none') });
  const vms = ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb', 'cccccccccccccccc'].map((id, i) =>
    vm(id, `172.30.0.${i + 2}`),
  );
  await Promise.all(vms.map((v) => net.attach(v)));
  assert.equal(calls.filter((c) => c.includes('link add name banger0')).length, 1);
  assert.equal(listens, 1);
  await net.close();
});
