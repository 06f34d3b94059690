import assert from 'node:assert/strict';
import { chown, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { resolveLayout, type Layout } from '../config/layout.js';
import { Daemon } from './daemon.js';
import { DaemonLock } from './daemon-lock.js';

const log = pino({ level: 'silent' });

async function withLayout(fn: (layout: Layout, dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'bgr-d-'));
  const layout = resolveLayout({
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, 'c'),
    XDG_STATE_HOME: join(dir, 's'),
    XDG_CACHE_HOME: join(dir, 'k'),
    XDG_RUNTIME_DIR: join(dir, 'r'),
  });
  try {
    await fn(layout, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

test('open acquires everything; close releases it and is idempotent under concurrency', () =>
  withLayout(async (layout) => {
    const daemon = await Daemon.open({ layout, log });
    assert.equal(((await stat(layout.socket)).mode & 0o777).toString(8), '600');
    assert.equal(((await stat(layout.runtimeDir)).mode & 0o777).toString(8), '700');
    assert.ok(await exists(layout.pidFile));
    assert.throws(() => DaemonLock.acquire(layout.daemonLock), /another bangerd holds/);
    await Promise.all([
      daemon.close(),
      daemon.close(),
      daemon.close(),
      daemon.close(),
      daemon.close(),
    ]);
    await daemon.closed;
    assert.equal(await exists(layout.socket), false);
    assert.equal(await exists(layout.pidFile), false);
    assert.equal(await exists(`${layout.database}-wal`), false, 'the store is still open');
    DaemonLock.acquire(layout.daemonLock).release();
  }));

test('a second daemon on the same state dir fails and leaves the first untouched', () =>
  withLayout(async (layout) => {
    const first = await Daemon.open({ layout, log });
    await assert.rejects(Daemon.open({ layout, log }), /another bangerd holds/);
    assert.ok(await exists(layout.socket), "the loser must not remove the winner's socket");
    assert.ok(await exists(layout.pidFile));
    await first.close();
  }));

test('a failure after the lock and store were taken releases both (partial open)', () =>
  withLayout(async (layout) => {
    // A runtime dir owned by someone else fails open after store + lock are held.
    await mkdir(layout.runtimeDir, { recursive: true, mode: 0o700 });
    await chown(layout.runtimeDir, 65534, 65534);
    await assert.rejects(Daemon.open({ layout, log }), /refusing to use .* owned by uid 65534/);
    // The store was opened (migrated) and closed: SQLite removes the WAL file on the last close.
    assert.ok(await exists(layout.database));
    assert.equal(await exists(`${layout.database}-wal`), false, 'the store is still open');
    DaemonLock.acquire(layout.daemonLock).release();
    assert.equal(await exists(join(layout.runtimeDir, 'bangerd.sock')), false);
  }));

test('an invalid config fails open before anything is acquired', () =>
  withLayout(async (layout) => {
    await mkdir(layout.configDir, { recursive: true });
    await writeFile(layout.configFile, '[vmm]\ndriver = "kvm"\n');
    await assert.rejects(Daemon.open({ layout, log }), /vmm\.driver/);
    assert.equal(await exists(layout.database), false);
  }));

test('a stale socket left by a killed daemon is replaced', () =>
  withLayout(async (layout) => {
    await mkdir(layout.runtimeDir, { recursive: true, mode: 0o700 });
    await writeFile(layout.socket, 'stale');
    const daemon = await Daemon.open({ layout, log });
    assert.ok((await stat(layout.socket)).isSocket());
    await daemon.close();
  }));

test('staging a killed daemon left (image dirs, guest kit files) is removed at open', () =>
  withLayout(async (layout) => {
    await mkdir(join(layout.imagesDir, 'cafe.staging'), { recursive: true });
    await writeFile(join(layout.imagesDir, 'cafe.staging', 'rootfs.ext4'), 'half');
    await mkdir(layout.stateDir, { recursive: true, mode: 0o700 });
    const kitStaging = join(layout.stateDir, `.${basename(layout.guestKit)}.0badcafe.staging`);
    await writeFile(kitStaging, 'half a kit');
    await writeFile(layout.guestKit, 'a whole kit');
    const daemon = await Daemon.open({ layout, log });
    try {
      assert.equal(await exists(join(layout.imagesDir, 'cafe.staging')), false);
      assert.equal(await exists(kitStaging), false);
      assert.equal(await exists(layout.guestKit), true, 'the published kit stays');
    } finally {
      await daemon.close();
    }
  }));
