// Disk full: banger's state and cache dirs each on a small loop-mounted ext4, filled to the
// brim before an operation. Every operation fails with one line naming the disk (its mount
// point and device) and what of banger's lives there, and leaves nothing behind: the
// trees are the same file for file as before, no record was made, and once space is back
// the same operation works.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { pushImage, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { makeSandbox, type Sandbox } from '../helpers/sandbox.js';
import { smallDisk, type SmallDisk } from '../helpers/small-disk.js';
import { err, ok, out } from '../helpers/vm.js';

const MiB = 1024 * 1024;

/**
 * Every file (not directory: banger's layout dirs may be made empty) under `root`, but
 * those meant to change.
 */
async function tree(root: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, prefix), { withFileTypes: true }).catch(() => [])) {
    const path = join(prefix, e.name);
    // Meant to change: the store, the daemon's log, the test's filler; banger's ssh key is
    // made whole at the first create, before anything else.
    if (/^(banger\.db|bangerd\.log|\.test-filler|lost\+found|id_ed25519|ssh$)/.test(e.name))
      continue;
    if (e.isDirectory()) out.push(...(await tree(root, path)));
    else out.push(path);
  }
  return out.sort();
}

/** A layer of a /bin/sh (what a pull requires) and one file, `data`, holding `body`. */
function shellAnd(compression: 'none' | 'gzip', body: Buffer) {
  return {
    compression,
    members: [
      { name: 'bin/', type: 'directory' as const, mode: 0o755 },
      { name: 'bin/sh', body: '#!/bin/true\n', mode: 0o755 },
      { name: 'data', body },
    ],
  };
}

describe('disk full', () => {
  let sb: Sandbox;
  let state: SmallDisk;
  let cache: SmallDisk;
  let reg: TestRegistry;
  let ref: string;

  before(async () => {
    sb = await makeSandbox();
    state = await smallDisk(sb.env.XDG_STATE_HOME!, 64);
    cache = await smallDisk(sb.env.XDG_CACHE_HOME!, 64);
    reg = await startRegistry();
    // One 12 MiB layer that does not compress: more than the room either disk is left with.
    const pushed = await pushImage(reg, join(sb.dir, 'layout'), 'team/big', '1', {
      layers: [shellAnd('none', randomBytes(12 * MiB))],
    });
    ref = pushed.ref;
    const kdir = join(sb.dir, 'kernel');
    await mkdir(kdir, { recursive: true });
    await writeFile(join(kdir, 'vmlinuz'), 'not really a kernel');
    ok(await sb.cli(['kernel', 'import', 'k1', '--from', kdir]), 'kernel import');
    // A registered image (its rootfs is used in place): what vm create starts from.
    const rootfs = join(sb.dir, 'root.ext4');
    await execa('truncate', ['-s', '16M', rootfs]);
    await execa('mkfs.ext4', ['-q', '-F', rootfs]);
    ok(await sb.cli(['image', 'register', 'tiny', '--rootfs', rootfs, '--kernel-ref', 'k1']));
  });
  after(async () => {
    await sb?.cli(['daemon', 'stop']).catch(() => undefined);
    await reg?.dispose();
    await state?.dispose();
    await cache?.dispose();
    await sb?.dispose();
  });

  /** Runs `args` with `disk` full: it must fail naming it, and change nothing on either disk. */
  async function failsFull(disk: SmallDisk, what: RegExp, args: string[]): Promise<void> {
    await disk.fill(MiB);
    const other = disk === state ? cache : state;
    const before = { full: await tree(disk.mountPoint), other: await tree(other.mountPoint) };
    try {
      const r = await sb.cli(args, { timeoutMs: 120_000 });
      assert.equal(r.exitCode, 1, `${args.join(' ')}: ${err(r)}`);
      const line =
        err(r)
          .split('\n')
          .find((l) => l.startsWith('banger: ')) ?? '';
      assert.match(line, what, err(r));
      assert.ok(
        line.includes(`is full: ${disk.mountPoint} (${disk.device}),`),
        `the disk is named: ${line}`,
      );
      assert.deepEqual(await tree(disk.mountPoint), before.full, 'the full disk is as it was');
      // The other disk may keep what was finished there (a verified blob), nothing half-done.
      const added = (await tree(other.mountPoint)).filter((p) => !before.other.includes(p));
      assert.deepEqual(
        added.filter((p) => /\.partial$|staging|\.tmp|build\//.test(p)),
        [],
        `left on the other disk: ${added.join(' ')}`,
      );
    } finally {
      await disk.unfill();
    }
  }

  test('image pull with the cache full: the cache named, no blob or staging left', async () => {
    await failsFull(cache, /^banger: the disk holding banger's cache \(downloads, OCI blobs\)/, [
      ...['image', 'pull', ref, '--name', 'big', '--kernel-ref', 'k1'],
    ]);
    assert.doesNotMatch((await sb.cli(['image', 'ls'])).stdout as string, /^big\s/m);
  });

  test('image pull with the state full: the state dir named, no image made; with room it works', async () => {
    await failsFull(state, /^banger: the disk holding banger's state \(images, VM disks\)/, [
      ...['image', 'pull', ref, '--name', 'big', '--kernel-ref', 'k1'],
    ]);
    assert.doesNotMatch((await sb.cli(['image', 'ls'])).stdout as string, /^big\s/m);
    ok(
      await sb.cli(['image', 'pull', ref, '--name', 'big', '--kernel-ref', 'k1'], {
        timeoutMs: 120_000,
      }),
      'the same pull with room',
    );
  });

  test('kernel import into a full state dir: named, nothing kept', async () => {
    const kdir = join(sb.dir, 'kernel-big');
    await mkdir(kdir, { recursive: true });
    await writeFile(join(kdir, 'vmlinuz'), randomBytes(4 * MiB));
    await execa('truncate', ['-s', '8M', join(kdir, 'initrd.img')]);
    await failsFull(state, /^banger: the disk holding banger's state/, [
      ...['kernel', 'import', 'k2', '--from', kdir],
    ]);
    assert.doesNotMatch((await sb.cli(['kernel', 'ls'])).stdout as string, /^k2\s/m);
  });

  test('a layer that unpacks past the room on the cache disk stops short of filling it', async () => {
    // 96 MiB of zeros, about 100 KiB gzipped: more than the whole 64 MiB cache disk.
    const bomb = await pushImage(reg, join(sb.dir, 'layout-bomb'), 'team/bomb', '1', {
      layers: [shellAnd('gzip', Buffer.alloc(96 * MiB))],
    });
    const freeBefore = await cache.freeBytes();
    const r = await sb.cli(['image', 'pull', bomb.ref, '--name', 'bomb', '--kernel-ref', 'k1'], {
      timeoutMs: 120_000,
    });
    assert.equal(r.exitCode, 1, err(r));
    const line =
      err(r)
        .split('\n')
        .find((l) => l.startsWith('banger: ')) ?? '';
    assert.match(
      line,
      /unpacks to more than the disk holding banger's cache can take: past /,
      line,
    );
    assert.ok(line.includes(`free on ${cache.mountPoint} (${cache.device}) besides the `), line);
    assert.match(err(r), /free space on .*, or move banger's cache \(XDG_CACHE_HOME\)/);
    assert.doesNotMatch((await sb.cli(['image', 'ls'])).stdout as string, /^bomb\s/m);
    assert.deepEqual(await readdir(join(sb.layout.cacheDir, 'build')).catch(() => []), []);
    // Only the verified blob (100 KiB or so) stayed: the disk was never near full.
    assert.ok(freeBefore - (await cache.freeBytes()) < 2 * MiB, 'the cache disk kept its room');
  });

  test('image build with the cache full: mmdebstrap stops, the cache named, no build scratch or image', async () => {
    // The recipe's own name: debian-bookworm.
    await failsFull(cache, /^banger: the disk holding banger's cache/, ['image', 'build']);
    assert.doesNotMatch((await sb.cli(['image', 'ls'])).stdout as string, /^debian-bookworm\s/m);
  });

  test('vm create on a full state dir: named, no VM record or directory', async () => {
    await failsFull(state, /^banger: the disk holding banger's state/, [
      ...['vm', 'create', '--name', 'nospace', '--image', 'tiny'],
    ]);
    assert.doesNotMatch((await sb.cli(['vm', 'ls'])).stdout as string, /nospace/);
  });
});

// The state dir alone on a small disk: an image build does its minutes of mmdebstrap in the
// cache, then finds no room for the image. BANGER_FAULT_BUILD_FULL=1 (test:faults) runs it.
describe(
  'disk full: image build into a full state dir',
  {
    skip:
      !process.env.BANGER_FAULT_BUILD_FULL &&
      'the long form only (BANGER_FAULT_BUILD_FULL=1, npm run test:faults)',
  },
  () => {
    let sb: Sandbox;
    let state: SmallDisk;
    before(async () => {
      sb = await makeSandbox();
      state = await smallDisk(sb.env.XDG_STATE_HOME!, 64);
    });
    after(async () => {
      await sb?.cli(['daemon', 'stop']).catch(() => undefined);
      await state?.dispose();
      await sb?.dispose();
    });

    test('the state dir named after mmdebstrap; no image, kernel or scratch kept', async () => {
      ok(await sb.cli(['image', 'ls']), 'the daemon starts: its lock files are in the state dir');
      const kept = await tree(state.mountPoint);
      await state.fill(MiB);
      const r = await sb.cli(['image', 'build'], { timeoutMs: 1_200_000 });
      assert.equal(r.exitCode, 1, err(r));
      assert.match(err(r), /\] bootstrap: mmdebstrap /);
      const line =
        err(r)
          .split('\n')
          .find((l) => l.startsWith('banger: ')) ?? '';
      assert.match(line, /^banger: the disk holding banger's state \(images, VM disks\) is full: /);
      assert.ok(line.includes(`${state.mountPoint} (${state.device}),`), line);
      assert.match(out(await sb.cli(['image', 'ls'])), /^no local images/);
      assert.doesNotMatch(out(await sb.cli(['kernel', 'ls'])), /debian/);
      assert.deepEqual(await tree(state.mountPoint), kept);
      assert.deepEqual(await readdir(join(sb.layout.cacheDir, 'build')).catch(() => []), []);
    });
  },
);
