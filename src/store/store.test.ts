import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { migrate, openDatabase, schemaVersion } from './database.js';
import { migrations } from './migrations.js';
import { Store } from './store.js';

async function tempDb(fn: (path: string) => Promise<void> | void) {
  const dir = await mkdtemp(join(tmpdir(), 'bgr-store-'));
  try {
    await fn(join(dir, 'banger.db'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const now = '2026-11-25T00:00:00.000Z';

test('a new store is migrated to the latest version, in WAL mode', () =>
  tempDb((path) => {
    const db = openDatabase(path);
    assert.equal(schemaVersion(db), migrations.length);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
    db.close();
    // Reopening applies nothing new and keeps the data.
    const again = openDatabase(path);
    assert.equal(schemaVersion(again), migrations.length);
    again.close();
  }));

test('a failing migration rolls back every step of the run', () =>
  tempDb((path) => {
    const db = new Database(path);
    assert.throws(() => migrate(db, ['CREATE TABLE a (x INTEGER)', 'CREATE TABLE b (oops']));
    assert.equal(schemaVersion(db), 0);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    assert.deepEqual(tables, []);
    db.close();
  }));

test('a store newer than this banger is refused', () =>
  tempDb((path) => {
    const db = new Database(path);
    db.pragma(`user_version = ${migrations.length + 5}`);
    db.close();
    assert.throws(() => openDatabase(path), /newer than this banger knows/);
  }));

test('repositories round-trip kernels, images and VMs and guard references', () =>
  tempDb((path) => {
    const store = Store.open(path);
    store.kernels.insert({
      id: 'k1',
      name: 'debian-bookworm-cloud',
      version: '6.1',
      source: 'build',
      dir: '/k',
      kernelFile: '/k/vmlinux',
      initrdFile: '/k/initrd',
      modulesDir: null,
      sha256: 'ab',
      managed: true,
      createdAt: now,
    });
    store.images.insert({
      id: 'i1',
      name: 'debian-bookworm',
      managed: true,
      distro: 'debian',
      arch: 'x86_64',
      description: '',
      source: 'build',
      dir: '/i',
      rootfsFile: '/i/rootfs.ext4',
      sizeBytes: 1 << 30,
      kernelId: 'k1',
      createdAt: now,
    });
    store.vms.insert({
      id: 'abcdef',
      name: 'blue-fox',
      imageId: 'i1',
      state: 'created',
      vcpu: 2,
      memoryMiB: 1024,
      diskBytes: 8 * 2 ** 30,
      networkMode: 'user',
      nat: false,
      egress: 'none',
      guestIp: null,
      sshPort: 0,
      dir: '/v',
      lastError: null,
      createdAt: now,
      updatedAt: now,
      owner: 'mcp:12:s1',
    });
    assert.deepEqual(store.vms.names(), ['blue-fox']);
    assert.equal(store.vms.list()[0]!.owner, 'mcp:12:s1');
    assert.equal(store.vms.find('blue-fox')?.id, 'abcdef');
    assert.equal(store.vms.find('abc')?.name, 'blue-fox', 'an id prefix resolves');
    assert.equal(store.vms.find('nope'), undefined);
    assert.deepEqual(store.vms.usingImage('i1'), ['blue-fox']);
    assert.deepEqual(store.kernels.usedBy('k1'), ['debian-bookworm']);
    assert.equal(store.kernels.findById('k1')?.managed, true);
    store.vms.setState('abcdef', 'error', 'qemu exited', new Date(now));
    assert.equal(store.vms.find('blue-fox')?.lastError, 'qemu exited');
    assert.throws(() => store.images.delete('i1'), /FOREIGN KEY/, 'an image in use cannot go');
    assert.throws(
      () => store.vms.insert({ ...store.vms.find('blue-fox')!, id: 'other' }),
      /UNIQUE/,
    );
    store.vms.delete('abcdef');
    store.images.delete('i1');
    store.kernels.delete('k1');
    assert.deepEqual(store.vms.list(), []);
    store.close();
    store.close();
  }));

test('published ports: per VM by guest port, a host port to one VM only, gone with the VM', () =>
  tempDb((path) => {
    const store = Store.open(path);
    store.kernels.insert({
      ...{ id: 'k1', name: 'k', version: '', source: '', dir: '/k', kernelFile: '/k/vmlinux' },
      ...{ initrdFile: null, modulesDir: null, sha256: '', managed: true, createdAt: now },
    });
    store.images.insert({
      ...{ id: 'i1', name: 'i', managed: true, distro: '', arch: 'x86_64', description: '' },
      ...{
        source: '',
        dir: '/i',
        rootfsFile: '/i/r',
        sizeBytes: 1,
        kernelId: 'k1',
        createdAt: now,
      },
    });
    const vm = (id: string, name: string) =>
      store.vms.insert({
        ...{ id, name, imageId: 'i1', state: 'stopped', vcpu: 1, memoryMiB: 256, diskBytes: 1 },
        ...{ networkMode: 'user', nat: false, egress: 'none', guestIp: null, sshPort: 0 },
        dir: `/v/${id}`,
        ...{ lastError: null, createdAt: now, updatedAt: now, owner: null },
      });
    vm('a1', 'alpha');
    vm('b1', 'beta');
    store.publishedPorts.add('a1', [
      { guestPort: 8000, hostPort: 18000 },
      { guestPort: 3000, hostPort: 3000 },
    ]);
    assert.deepEqual(store.publishedPorts.forVm('a1'), [
      { guestPort: 3000, hostPort: 3000 },
      { guestPort: 8000, hostPort: 18000 },
    ]);
    assert.deepEqual(store.publishedPorts.byHostPort(18000), { vmId: 'a1', guestPort: 8000 });
    assert.equal(store.publishedPorts.byHostPort(1), undefined);
    // Another VM cannot take a host port; a failing batch writes none of its rows.
    assert.throws(
      () =>
        store.publishedPorts.add('b1', [
          { guestPort: 1, hostPort: 4001 },
          { guestPort: 2, hostPort: 3000 },
        ]),
      /host port 3000 \(for guest port 2\) is already published/,
    );
    assert.deepEqual(store.publishedPorts.forVm('b1'), []);
    assert.throws(
      () => store.publishedPorts.add('a1', [{ guestPort: 3000, hostPort: 3001 }]),
      /UNIQUE|PRIMARY/,
      'one forward per guest port',
    );
    assert.throws(() => store.publishedPorts.add('a1', [{ guestPort: 0, hostPort: 9 }]), /CHECK/);
    assert.throws(
      () => store.publishedPorts.add('nope', [{ guestPort: 9, hostPort: 9 }]),
      /FOREIGN/,
    );
    assert.deepEqual(store.publishedPorts.remove('a1', 8000), { guestPort: 8000, hostPort: 18000 });
    assert.equal(store.publishedPorts.remove('a1', 8000), undefined);
    store.publishedPorts.add('b1', [{ guestPort: 22, hostPort: 2222 }]);
    assert.deepEqual([...store.publishedPorts.hostPorts()].sort(), [2222, 3000]);
    store.vms.delete('a1');
    assert.deepEqual([...store.publishedPorts.hostPorts()], [2222], 'removed with its VM');
    store.close();
  }));
