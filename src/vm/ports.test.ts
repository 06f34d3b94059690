import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { BangerError, ErrorCode } from '../errors.js';
import { freeLoopbackPort } from '../system/ports.js';
import { addVm, vmKit, type Kit } from '../../test/helpers/vm-kit.js';
import type { HostForward, HostForwarding, VmHandles } from '../vmm/vmm.js';
import { startVm } from './boot.js';
import { createVm } from './create.js';
import type { GuestListener } from './listening-ports.js';
import { findVm, viewOf } from './lookup.js';
import { addPort, openForwards, portRows, removePort, type PortFacts } from './ports.js';
import { reconcileAll } from './reconcile.js';
import { destroy, stopVm } from './stop.js';

// Published ports through the VM use cases on a real store, the VMM scripted with a
// hostfwd table of its own (the QEMU one is tested against real QEMU in vmm/qemu/).

let kit: Kit;
/** The scripted VMM's forwards, by VM pid, as QEMU would hold them. */
const forwards = new Map<number, HostForward[]>();
/** Host ports held by live VMs (a dead QEMU's forwards die with it; pid 1 plays "another VM"). */
const held = (): Set<number> =>
  new Set(
    [...forwards.entries()]
      .filter(([pid]) => pid === 1 || kit.vmm.living.has(pid))
      .flatMap(([, f]) => f.map((x) => x.hostPort)),
  );
const scripted: HostForwarding = {
  add(handles, f) {
    if (held().has(f.hostPort))
      return Promise.reject(
        new BangerError(ErrorCode.Conflict, `port ${f.hostPort} on 127.0.0.1 is already in use`),
      );
    forwards.set(handles.pid, [...list(handles), f]);
    return Promise.resolve();
  },
  remove(handles, hostPort) {
    const before = list(handles);
    forwards.set(
      handles.pid,
      before.filter((f) => f.hostPort !== hostPort),
    );
    return Promise.resolve(before.some((f) => f.hostPort === hostPort));
  },
  list: (handles) => Promise.resolve(list(handles)),
};
function list(handles: VmHandles): HostForward[] {
  return forwards.get(handles.pid) ?? [{ hostPort: handles.sshPort, guestPort: 22 }];
}
const busy: Server[] = [];
/** A port something on this host listens on. */
async function takenPort(): Promise<number> {
  const server = createServer();
  busy.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

before(async () => {
  kit = await vmKit();
  Object.assign(kit.vmm, { hostForwarding: scripted });
});
after(async () => {
  busy.forEach((s) => s.close());
  await kit.close();
});

const op = () => ({ signal: new AbortController().signal, progress: () => undefined });
const base = { vcpu: 2, memoryMiB: 1024, diskBytes: 256 * 2 ** 20 };
const handlesOf = async (name: string) => (await kit.ctx.handles.get(findVm(kit.ctx, name)))!;

test('create --publish: refused before the image when a host port is taken or given twice', async () => {
  const taken = await takenPort();
  kit.ensured.length = 0;
  const cases: [object, RegExp, RegExp][] = [
    [
      [{ guest: 3000, host: taken }],
      new RegExp(`port ${taken} on 127.0.0.1 is already in use .*published to vm "p1"`),
      /--publish HOST:3000 with a free HOST, or --publish 0:3000/,
    ],
    [[{ guest: 80 }, { guest: 80, host: 81 }], /guest port 80 is published twice/, /once/],
    [
      [
        { guest: 80, host: 9000 },
        { guest: 81, host: 9000 },
      ],
      /host port 9000 is given for two guest ports/,
      /--publish HOST:81/,
    ],
  ];
  for (const [publish, message, hint] of cases)
    await assert.rejects(
      createVm(kit.ctx, { ...base, name: 'p1', publish: publish as never }, op()),
      (err: unknown) =>
        err instanceof BangerError && message.test(err.message) && hint.test(err.hint ?? ''),
    );
  assert.deepEqual(kit.ensured, [], 'nothing resolved, nothing made');
  assert.equal(kit.store.vms.findByName('p1'), undefined);
});

test('create --publish: recorded with the VM, forwarded at boot, shown; same port by default, 0 any', async () => {
  const same = await freeLoopbackPort();
  const view = await createVm(
    kit.ctx,
    { ...base, name: 'web', publish: [{ guest: same }, { guest: 8000, host: 0 }] },
    op(),
  );
  const recorded = kit.store.publishedPorts.forVm(view.vm.id);
  assert.equal(recorded.length, 2);
  assert.deepEqual(recorded[0], { guestPort: 8000, hostPort: recorded[0]!.hostPort });
  assert.ok(recorded[0].hostPort > 0 && recorded[0].hostPort !== 8000);
  assert.deepEqual(recorded[1], { guestPort: same, hostPort: same });
  const handles = await handlesOf('web');
  assert.deepEqual(
    list(handles).sort((a, b) => a.guestPort - b.guestPort),
    [{ hostPort: handles.sshPort, guestPort: 22 }, ...recorded].sort(
      (a, b) => a.guestPort - b.guestPort,
    ),
  );
  assert.deepEqual((await viewOf(kit.ctx, findVm(kit.ctx, 'web'))).published, recorded);

  // Another VM cannot have the same host port, even while this one is stopped.
  await stopVm(kit.ctx, findVm(kit.ctx, 'web'));
  await assert.rejects(
    createVm(kit.ctx, { ...base, name: 'web2', publish: [{ guest: 1, host: same }] }, op()),
    (err: unknown) =>
      err instanceof BangerError &&
      err.message.includes(
        `host port ${same} is already published to vm "web" (its port ${same})`,
      ) &&
      (err.hint ?? '').includes(`banger vm port rm web ${same}`),
  );
  // The VM's next start opens them again.
  await startVm(kit.ctx, findVm(kit.ctx, 'web'), op(), 5000);
  assert.equal(list(await handlesOf('web')).length, 3);
  // Delete takes the records with the VM.
  await destroy(kit.ctx, findVm(kit.ctx, 'web'));
  assert.deepEqual(kit.store.publishedPorts.forVm(view.vm.id), []);
  assert.equal(kit.store.publishedPorts.byHostPort(same), undefined);
});

test('port add / rm: on a running VM at once, on a stopped one at its start; errors name the fix', async () => {
  kit.vmm.onStart = 'ready';
  const { vm } = await createVm(kit.ctx, { ...base, name: 'rt' }, op());
  const port = await freeLoopbackPort();
  assert.deepEqual(await addPort(kit.ctx, vm, { guest: 3000, host: port }), {
    ...{ name: 'rt', guest: 3000, host: port, open: true },
  });
  assert.ok(list(await handlesOf('rt')).some((f) => f.hostPort === port));
  await assert.rejects(
    addPort(kit.ctx, vm, { guest: 3000 }),
    new RegExp(`port 3000 of vm "rt" is already published on 127.0.0.1:${port}`),
  );
  // Taken on the host: refused, nothing recorded, the hint in the command's own words.
  const taken = await takenPort();
  await assert.rejects(addPort(kit.ctx, vm, { guest: 4000, host: taken }), (err: unknown) => {
    assert.ok(err instanceof BangerError);
    assert.match(err.message, new RegExp(`^port ${taken} on 127.0.0.1 is already in use`));
    assert.match(err.hint ?? '', /banger vm port add rt 4000 --host PORT", or --host 0/);
    return true;
  });
  assert.equal(kit.store.publishedPorts.forVm(vm.id).length, 1);

  assert.deepEqual(await removePort(kit.ctx, vm, 3000), { name: 'rt', guest: 3000, host: port });
  assert.equal(
    list(await handlesOf('rt')).some((f) => f.hostPort === port),
    false,
  );
  await assert.rejects(removePort(kit.ctx, vm, 3000), /port 3000 of vm "rt" is not published/);

  // Stopped: recorded only, opened by the start.
  await stopVm(kit.ctx, findVm(kit.ctx, 'rt'));
  const later = await addPort(kit.ctx, findVm(kit.ctx, 'rt'), { guest: 5000, host: port });
  assert.equal(later.open, false);
  await startVm(kit.ctx, findVm(kit.ctx, 'rt'), op(), 5000);
  assert.ok(list(await handlesOf('rt')).some((f) => f.hostPort === port && f.guestPort === 5000));
  await destroy(kit.ctx, findVm(kit.ctx, 'rt'));
});

test('openForwards converges: missing ones added, unrecorded ones closed, failures kept and warned', async () => {
  const vm = await addVm(kit, 'running', 990_001);
  kit.vmm.living.add(990_001);
  const handles = (await kit.ctx.handles.get(vm))!;
  const [a, b] = [await freeLoopbackPort(), await freeLoopbackPort()];
  kit.store.publishedPorts.add(vm.id, [
    { guestPort: 80, hostPort: a },
    { guestPort: 81, hostPort: b },
  ]);
  // As a new daemon finds it: QEMU still has one forward, plus one nobody records.
  forwards.set(handles.pid, [
    { hostPort: handles.sshPort, guestPort: 22 },
    { hostPort: a, guestPort: 80 },
    { hostPort: 1234, guestPort: 9 },
  ]);
  // b is held by another VM meanwhile.
  forwards.set(1, [{ hostPort: b, guestPort: 1 }]);
  const warned: string[] = [];
  await openForwards(kit.ctx, vm, handles, (m) => warned.push(m));
  assert.deepEqual(list(handles), [
    { hostPort: handles.sshPort, guestPort: 22 },
    { hostPort: a, guestPort: 80 },
  ]);
  assert.deepEqual(warned, [
    `127.0.0.1:${b} → port 81 not forwarded: port ${b} on 127.0.0.1 is already in use`,
  ]);
  assert.equal(kit.ctx.forwards.failure(vm.id, 81), `port ${b} on 127.0.0.1 is already in use`);
  // Freed: the daemon's reconcile at start opens it.
  forwards.delete(1);
  await reconcileAll(kit.ctx);
  assert.ok(list(handles).some((f) => f.hostPort === b));
  assert.equal(kit.ctx.forwards.failure(vm.id, 81), undefined);
  await destroy(kit.ctx, findVm(kit.ctx, vm.id));
});

const listener = (
  protocol: 'tcp' | 'udp',
  address: string,
  port: number,
  ...processes: string[]
): GuestListener => ({ protocol, address, port, processes });

test('vm ports rows: reach by mode; ssh, loopback, UDP and published-but-idle ports', () => {
  const listeners = [
    listener('tcp', '0.0.0.0', 22, 'sshd'),
    listener('tcp', '::', 22, 'sshd'),
    listener('tcp', '0.0.0.0', 3000, 'busybox'),
    listener('tcp', '127.0.0.1', 631, 'cupsd'),
    listener('tcp', '::', 9000, 'node'),
    listener('udp', '0.0.0.0', 68, 'dhclient'),
  ];
  const user: PortFacts = {
    vm: { name: 'box', networkMode: 'user', guestIp: '10.0.2.15' },
    sshPort: 41000,
    listeners,
    published: [
      { guestPort: 3000, hostPort: 3000 },
      { guestPort: 8080, hostPort: 18080 },
      { guestPort: 9000, hostPort: 9000 },
    ],
    open: [
      { hostPort: 41000, guestPort: 22 },
      { hostPort: 3000, guestPort: 3000 },
      { hostPort: 18080, guestPort: 8080 },
    ],
    failure: (p) => (p === 9000 ? 'port 9000 on 127.0.0.1 is already in use' : undefined),
  };
  const brief = (rows: ReturnType<typeof portRows>) =>
    rows.map((r) => [r.protocol, r.port, r.processes.join(), r.reach.join(), r.note ?? '']);
  assert.deepEqual(brief(portRows(user)), [
    ['tcp', 22, 'sshd', '127.0.0.1:41000', "banger's ssh"],
    ['tcp', 631, 'cupsd', '', 'guest loopback only'],
    ['tcp', 3000, 'busybox', '127.0.0.1:3000', ''],
    ['tcp', 8080, '', '127.0.0.1:18080', 'nothing listens on it yet'],
    ['tcp', 9000, 'node', '', 'not forwarded: port 9000 on 127.0.0.1 is already in use'],
    ['udp', 68, 'dhclient', '', 'not forwarded'],
  ]);
  const rows = portRows(user);
  assert.deepEqual(rows[0]!.addresses, ['0.0.0.0', '::'], 'IPv4 and IPv6 sockets in one row');
  assert.equal(rows[0]!.ssh, true);
  assert.deepEqual(rows[2]!.published, { host: 3000, open: true });
  assert.deepEqual(rows[4]!.published, {
    host: 9000,
    open: false,
    error: 'port 9000 on 127.0.0.1 is already in use',
  });
  assert.equal(rows[3]!.listening, false);

  const tap: PortFacts = {
    ...user,
    vm: { name: 'box', networkMode: 'tap', guestIp: '172.30.0.2' },
    sshPort: 22,
    listeners: [...listeners, listener('tcp', '192.168.5.1', 7000, 'app')],
    published: [{ guestPort: 3000, hostPort: 13000 }],
    open: [{ hostPort: 13000, guestPort: 3000 }],
  };
  assert.deepEqual(brief(portRows(tap)), [
    ['tcp', 22, 'sshd', 'box.vm:22,172.30.0.2:22', "banger's ssh"],
    ['tcp', 631, 'cupsd', '', 'guest loopback only'],
    ['tcp', 3000, 'busybox', '127.0.0.1:13000,box.vm:3000,172.30.0.2:3000', ''],
    ['tcp', 7000, 'app', '', 'bound to 192.168.5.1 only'],
    ['tcp', 9000, 'node', 'box.vm:9000,172.30.0.2:9000', ''],
    ['udp', 68, 'dhclient', 'box.vm:68,172.30.0.2:68', ''],
  ]);
});
