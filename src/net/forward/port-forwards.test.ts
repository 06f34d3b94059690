import assert from 'node:assert/strict';
import { createConnection, createServer } from 'node:net';
import { test } from 'node:test';
import { freeLoopbackPort } from '../../system/ports.js';
import type { VmHandles, Vmm } from '../../vmm/vmm.js';
import { PortForwards } from './port-forwards.js';

// Tap mode's relays in the daemon, to a "guest" that is a server on loopback here.

const handles = { sshPort: 22 } as VmHandles;
const noVmm = { driver: 'qemu' } as Vmm;

function fetchOnce(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('close', () => resolve(got));
    s.on('error', () => resolve(''));
  });
}

test('tap: a relay per published port, listed, replaced, closed by remove and by release', async () => {
  const guest = createServer((s) => s.end('from the guest'));
  await new Promise<void>((r) => guest.listen(0, '127.0.0.1', r));
  const guestPort = (guest.address() as { port: number }).port;
  const forwards = new PortForwards();
  const vm = { id: 'v1', name: 'box', networkMode: 'tap' as const, guestIp: '127.0.0.1' };
  const fw = forwards.for(vm, handles, noVmm);
  const [h1, h2] = [await freeLoopbackPort(), await freeLoopbackPort()];
  try {
    await fw.add({ hostPort: h1, guestPort });
    await fw.add({ hostPort: h1, guestPort }); // idempotent
    assert.equal(await fetchOnce(h1), 'from the guest');
    assert.deepEqual(await fw.open(), [{ hostPort: h1, guestPort }]);
    // Another host port for the same guest port replaces the relay.
    await fw.add({ hostPort: h2, guestPort });
    assert.deepEqual(await forwards.for(vm, handles, noVmm).open(), [{ hostPort: h2, guestPort }]);
    assert.equal(await fetchOnce(h1), '');
    await fw.remove({ hostPort: h2, guestPort });
    assert.equal(await fetchOnce(h2), '');
    await fw.add({ hostPort: h1, guestPort });
    forwards.setFailure('v1', 9, 'taken');
    await forwards.release('v1');
    assert.equal(await fetchOnce(h1), '', 'released with the VM');
    assert.deepEqual(await fw.open(), []);
    assert.equal(forwards.failure('v1', 9), undefined);
  } finally {
    await forwards.close();
    guest.close();
  }
});

test('user mode on a VMM without runtime forwards: a clear "cannot", listing nothing', async () => {
  const forwards = new PortForwards();
  const vm = { id: 'v2', name: 'box', networkMode: 'user' as const, guestIp: '10.0.2.15' };
  const fw = forwards.for(vm, handles, noVmm);
  await assert.rejects(
    fw.add({ hostPort: 1, guestPort: 1 }),
    /the qemu driver cannot forward ports/,
  );
  assert.deepEqual(await fw.open(), []);
});
