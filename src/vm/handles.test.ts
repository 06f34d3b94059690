import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { VmHandles } from '../vmm/vmm.js';
import { vmFiles } from '../config/layout.js';
import { parseQemuHandles } from '../vmm/qemu/handles.js';
import { QemuVmm } from '../vmm/qemu/qemu-vmm.js';
import { realRunner } from '../system/runner.js';
import { HandlesCache } from './handles.js';

const qemu = new QemuVmm('tcg', realRunner);
const cache = () => new HandlesCache({ forDriver: () => qemu });
const handlesPath = (dir: string) => vmFiles(dir).handles;
const parseHandles = (v: unknown) =>
  typeof v === 'object' && v !== null ? parseQemuHandles(v as Record<string, unknown>) : undefined;

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
async function vmDir() {
  const d = await mkdtemp(join(tmpdir(), 'banger-handles-'));
  dirs.push(d);
  return d;
}

const handles: VmHandles = {
  driver: 'qemu',
  accel: 'tcg',
  pid: 4242,
  controlSocket: '/v/qmp.sock',
  consoleLog: '/v/console.log',
  sshPort: 40022,
  startedAt: '2026-11-25T00:00:00.000Z',
};

test('handles.json round trip through a new cache (a daemon restart), private', async () => {
  const dir = await vmDir();
  const vm = { id: 'vm1', dir };
  await cache().set(vm, handles);
  // A fresh cache has nothing in memory: it reads the file and the driver parses it.
  const fresh = cache();
  assert.equal(fresh.peek('vm1'), undefined);
  assert.deepEqual(await fresh.get(vm), handles);
  assert.deepEqual(fresh.ports(), new Set(), 'only remembered handles count as held ports');
  fresh.remember('vm1', handles);
  assert.deepEqual(fresh.ports(), new Set([40022]));
  const { stat } = await import('node:fs/promises');
  assert.equal((await stat(handlesPath(dir))).mode & 0o777, 0o600);
  await fresh.drop(vm);
  assert.equal(await fresh.get(vm), undefined);
  assert.equal(await cache().get(vm), undefined);
  await fresh.drop(vm); // twice is fine
});

test('a missing or corrupt handles.json reads as no handles, never as a crash', async () => {
  const dir = await vmDir();
  const vm = { id: 'vm2', dir };
  assert.equal(await cache().get(vm), undefined);
  await writeFile(handlesPath(dir), '{not json');
  assert.equal(await cache().get(vm), undefined);
  await writeFile(handlesPath(dir), JSON.stringify({ ...handles, pid: -1 }));
  assert.equal(await cache().get(vm), undefined);
  await writeFile(handlesPath(dir), JSON.stringify({ ...handles, driver: 'xen' }));
  assert.equal(await cache().get(vm), undefined);
});

test('parseHandles rejects wrong kinds of values field by field', () => {
  assert.deepEqual(parseHandles(handles), handles);
  for (const bad of [
    { driver: 'xen' },
    { accel: 'hvf' },
    { pid: 1.5 },
    { pid: '12' },
    { sshPort: 0 },
    { controlSocket: 7 },
    { consoleLog: undefined },
    { startedAt: null },
  ])
    assert.equal(parseHandles({ ...handles, ...bad }), undefined, JSON.stringify(bad));
  assert.equal(parseHandles(null), undefined);
  assert.equal(parseHandles([]), undefined);
});

test('the data socket is optional: VMs started before banger had it still parse', () => {
  const withData = { ...handles, dataSocket: '/v/data.sock' };
  assert.deepEqual(parseHandles(withData), withData);
  assert.deepEqual(parseHandles({ ...handles, dataSocket: 7 }), handles);
  assert.equal('dataSocket' in parseHandles(handles)!, false);
});
