// The hostile archive corpus (test/helpers/hostile-archives.ts) as kernel tarballs, each after
// a harmless vmlinux: every one is refused with a line naming the tarball, or taken with the
// harm left out (hard links, devices and fifos skipped, setuid bits dropped); nothing outside
// the staging dir changes, and a refused tarball leaves the staging dir empty.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { realRunner } from '../system/runner.js';
import { extractKernelTarball } from './kernel-tarball.js';
import { HOSTILE, hostileTar, type HostileId } from '../../test/helpers/hostile-archives.js';
import {
  OWNED,
  assertOutcome,
  sentinelBox,
  taken,
  type Box,
  type Outcome,
  hostileScratch,
  said,
  unsafeMember,
  WALK_REFUSALS,
} from '../../test/helpers/sentinel-box.js';
import { tarBytes, type TarMember } from '../../test/helpers/tar.js';

const tmp = hostileScratch('banger-kernel-hostile-');
let n = 0;

const VMLINUX = { name: 'vmlinux', body: 'KERNEL' };

const expected: Record<HostileId, Outcome> = {
  ...WALK_REFUSALS,
  'symlink-absolute': said('esc/victim is inside the symlink esc'),
  'symlink-relative': said('unsafe symlink esc -> ../outside points outside the archive'),
  'symlink-deep': said('unsafe symlink d/esc -> ../../outside points outside the archive'),
  'symlink-chain': said('b/victim is inside the symlink b'),
  'symlink-directory': said('esc/sub is inside the symlink esc'),
  'symlink-over-directory': said('"d" appears twice'),
  // Hard links have no place in a kernel tree: skipped, so none reaches the victim.
  'hardlink-absolute': taken(['vmlinux']),
  'hardlink-relative': taken(['vmlinux']),
  'hardlink-forward': taken(['later', 'vmlinux']),
  // An absolute symlink is kept (it resolves inside the guest); nothing is linked through it.
  'hardlink-through-symlink': taken(['esc ->', 'vmlinux']),
  'hardlink-then-write': taken(['h', 'vmlinux'], async (stage) => {
    assert.equal(await readFile(join(stage, 'h'), 'utf8'), OWNED);
    assert.equal((await stat(join(stage, 'h'))).nlink, 1);
  }),
  'char-device': taken(['vmlinux']),
  'block-device': taken(['vmlinux']),
  fifo: taken(['vmlinux']),
  setuid: taken(['safe', 'vmlinux'], async (stage) => {
    assert.equal((await stat(join(stage, 'safe'))).mode & 0o7777, 0o755);
  }),
  duplicate: said('"safe" appears twice'),
  'file-then-directory': said('f is not a directory'),
  'directory-then-file': said('"d" appears twice'),
  'newline-name': taken(['evil\n"name', 'vmlinux']),
  'pax-nul-path': unsafeMember('safe\0/../../outside/victim'),
  'pax-linkpath': taken(['t', 'vmlinux']),
  'pax-global-path': taken(['safe', 'vmlinux']),
  'gnu-long-link': taken(['t', 'vmlinux']),
  // Refused at its header: not a byte of it is written.
  'huge-declared': said('safe takes the tree past 4G, more than any kernel tree holds'),
  'whiteout-empty': taken(['.wh.', 'vmlinux']),
  'whiteout-dot': taken(['d/', 'd/.wh..', 'vmlinux']),
  'whiteout-through-symlink': said('esc/.wh.victim is inside the symlink esc'),
  'opaque-through-symlink': said('esc/.wh..wh..opq is inside the symlink esc'),
};

async function tarball(bytes: Buffer, ...flags: string[]): Promise<string> {
  const file = join(tmp.dir, 'archives', `k${++n}.tar.zst`);
  await writeFile(file, execFileSync('zstd', ['-q', '-c', ...flags], { input: bytes }));
  return file;
}

const box = () => sentinelBox(join(tmp.dir, 'boxes'), `b${++n}`);
const names = (file: string) => new RegExp(`^kernel tarball ${file}: `);
const unpack = (file: string, b: Box) => () => extractKernelTarball(file, b.stage, realRunner);

for (const hostile of HOSTILE) {
  test(`${hostile.id}: ${hostile.about}`, { timeout: 10_000 }, async () => {
    const b = await box();
    const file = await tarball(await hostileTar(hostile, b, { before: [VMLINUX] }));
    await assertOutcome(b, expected[hostile.id], unpack(file, b), { names: names(file) });
  });
}

test('a module tree that is a symlink is refused: the host reads it to make a disk', async () => {
  const modules = (b: Box): TarMember[][] => [
    [{ name: 'lib/modules/6.1.0', type: 'symlink', linkname: b.outside }],
    [
      { name: 'mods/modules.dep', body: '' },
      { name: 'lib/modules/6.1.0', type: 'symlink', linkname: '../../mods' },
    ],
  ];
  for (const i of [0, 1]) {
    const b = await box();
    const file = await tarball(await tarBytes([VMLINUX, ...modules(b)[i]!]));
    await assertOutcome(
      b,
      said('the module tree lib/modules/6.1.0 is a symlink, not a directory'),
      unpack(file, b),
      { names: names(file) },
    );
  }
});

test('a zstd frame that needs a 2 GiB window is refused in one line', async () => {
  const b = await box();
  const file = await tarball(await tarBytes([VMLINUX]), '--long=31');
  await assertOutcome(
    b,
    said(
      'truncated or corrupt zstd stream: Decoding error (36) : Frame requires too much memory for decoding',
    ),
    unpack(file, b),
    { names: names(file) },
  );
});

test('a zero bomb module costs no disk: its zeros are left as holes', async () => {
  const b = await box();
  const size = 64 * 2 ** 20;
  const file = await tarball(
    await tarBytes([VMLINUX, { name: 'lib/modules/6.1.0/zeros.ko', body: Buffer.alloc(size) }]),
  );
  await assertOutcome(
    b,
    taken(
      ['lib/', 'lib/modules/', 'lib/modules/6.1.0/', 'lib/modules/6.1.0/zeros.ko', 'vmlinux'],
      async (stage) => {
        const module = await stat(join(stage, 'lib/modules/6.1.0/zeros.ko'));
        assert.equal(module.size, size);
        assert.ok(module.blocks * 512 < 2 ** 20, `${module.blocks} blocks allocated`);
      },
    ),
    unpack(file, b),
    { names: names(file) },
  );
});
