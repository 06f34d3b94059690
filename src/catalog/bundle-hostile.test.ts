// The hostile archive corpus (test/helpers/hostile-archives.ts) packed as image bundles, each
// extracted from a file and fetched (extracted as it streams): every one is refused with a
// line naming the bundle, or taken harmlessly; nothing outside the staging dir changes, and
// a refused bundle leaves the staging dir empty.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { realRunner } from '../system/runner.js';
import { extractBundle, fetchBundle } from './bundle.js';
import {
  HOSTILE,
  header,
  hostileTar,
  type HostileId,
} from '../../test/helpers/hostile-archives.js';
import {
  assertOutcome,
  sentinelBox,
  taken,
  type Outcome,
  hostileScratch,
  said,
  unsafeMember,
  WALK_REFUSALS,
  TRUNCATED_TAR,
} from '../../test/helpers/sentinel-box.js';
import { tarBytes } from '../../test/helpers/tar.js';

const tmp = hostileScratch('banger-bundle-hostile-');
let n = 0;

const MANIFEST = { name: 'manifest.json', body: JSON.stringify({ name: 'team-base' }) };
const BOTH = ['manifest.json', 'rootfs.ext4'];
const unexpected = (name: string) => said(`unexpected member ${JSON.stringify(name)}`);

/** Every case: the bundle's member check sees each name as the extractor would write it. */
const expected: Record<HostileId, Outcome> = {
  ...WALK_REFUSALS,
  'symlink-absolute': unexpected('esc'),
  'symlink-relative': unexpected('esc'),
  'symlink-deep': unexpected('d/'),
  'symlink-chain': unexpected('a'),
  'symlink-directory': unexpected('esc'),
  'symlink-over-directory': unexpected('d/'),
  'hardlink-absolute': unexpected('h'),
  'hardlink-relative': unexpected('h'),
  'hardlink-forward': unexpected('h'),
  'hardlink-through-symlink': unexpected('esc'),
  'hardlink-then-write': unexpected('h'),
  'char-device': said('rootfs.ext4 is a character device, not a regular file'),
  'block-device': said('rootfs.ext4 is a block device, not a regular file'),
  fifo: said('rootfs.ext4 is a fifo, not a regular file'),
  // The archive's mode is never used: the rootfs is written 0644.
  setuid: taken(BOTH, async (stage) => {
    assert.equal((await stat(join(stage, 'rootfs.ext4'))).mode & 0o7777, 0o644);
  }),
  duplicate: said('rootfs.ext4 appears twice'),
  'file-then-directory': unexpected('f'),
  'directory-then-file': unexpected('d/'),
  'newline-name': unexpected('evil\n"name'),
  'pax-nul-path': unsafeMember('rootfs.ext4\0/../../outside/victim'),
  'pax-linkpath': unexpected('t'),
  // tar-stream applies a global header's path only with a local one: the name stays harmless.
  'pax-global-path': taken(BOTH),
  'gnu-long-link': unexpected('t'),
  'huge-declared': TRUNCATED_TAR,
  'whiteout-empty': unexpected('.wh.'),
  'whiteout-dot': unexpected('d/'),
  'whiteout-through-symlink': unexpected('esc'),
  'opaque-through-symlink': unexpected('esc'),
};

function zstd(bytes: Buffer, ...flags: string[]): Buffer {
  return execFileSync('zstd', ['-q', '-c', ...flags], { input: bytes });
}

async function archive(bytes: Buffer): Promise<string> {
  const file = join(tmp.dir, 'archives', `b${++n}.tar.zst`);
  await writeFile(file, bytes);
  return file;
}

const unpackers = {
  extractBundle: (file: string, stage: string) => extractBundle(file, stage, realRunner),
  fetchBundle: (file: string, stage: string) => fetchBundle(file, stage, realRunner),
};

for (const hostile of HOSTILE) {
  for (const [via, unpack] of Object.entries(unpackers)) {
    test(`${via}: ${hostile.id}, ${hostile.about}`, async () => {
      const box = await sentinelBox(join(tmp.dir, 'boxes'), `b${++n}`);
      const tar = await hostileTar(hostile, box, { safe: 'rootfs.ext4', before: [MANIFEST] });
      const file = await archive(zstd(tar));
      await assertOutcome(box, expected[hostile.id], () => unpack(file, box.stage), {
        names: new RegExp(`^bundle ${file}: `),
      });
    });
  }
}

test('a zstd frame that needs a 2 GiB window is refused in one line, not decoded', async () => {
  const box = await sentinelBox(join(tmp.dir, 'boxes'), `b${++n}`);
  const tar = await tarBytes([MANIFEST, { name: 'rootfs.ext4', body: 'x' }]);
  // zstd -d keeps to 128 MiB of window unless told otherwise; a bigger one is a memory bomb.
  const file = await archive(zstd(tar, '--long=31'));
  await assertOutcome(
    box,
    said(
      'truncated or corrupt zstd stream: Decoding error (36) : Frame requires too much memory for decoding',
    ),
    () => extractBundle(file, box.stage, realRunner),
    { names: new RegExp(`^bundle ${file}: `) },
  );
});

test('a zero bomb rootfs costs no disk: its zeros are left as holes', async () => {
  const box = await sentinelBox(join(tmp.dir, 'boxes'), `b${++n}`);
  const size = 256 * 2 ** 20;
  const file = join(tmp.dir, 'archives', `b${++n}.tar.zst`);
  const manifest = (await tarBytes([MANIFEST])).subarray(0, -1024);
  const zeros = Buffer.alloc(2 ** 20);
  const child = realRunner.stream('zstd', ['-q', '-c']);
  await Promise.all([
    pipeline(
      (function* () {
        yield Buffer.concat([manifest, header({ name: 'rootfs.ext4', size })]);
        for (let i = 0; i < size / zeros.length; i++) yield zeros;
        yield Buffer.alloc(1024);
      })(),
      child.stdin,
    ),
    pipeline(child.stdout, createWriteStream(file)),
    child.done,
  ]);
  assert.ok((await stat(file)).size < size / 1000, 'the bomb is tiny compressed');
  await assertOutcome(
    box,
    taken(BOTH, async (stage) => {
      const rootfs = await stat(join(stage, 'rootfs.ext4'));
      assert.equal(rootfs.size, size);
      assert.ok(rootfs.blocks * 512 < 2 ** 20, `${rootfs.blocks} blocks allocated`);
    }),
    () => extractBundle(file, box.stage, realRunner),
    { names: /^bundle / },
  );
});
