import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { BangerError, ErrorCode } from '../../errors.js';
import { realRunner } from '../../system/runner.js';
import { flattenLayers, type Layer } from './flatten-layers.js';
import { MEDIA, layerOf, listTree } from '../../../test/helpers/layers.js';
import { scratch } from '../../../test/helpers/scratch.js';
import type { TarMember } from '../../../test/helpers/tar.js';

// Every layer here is hostile. Each runs into a fresh root in the scratch dir, beside `outside`,
// which holds one file that must stay the only thing there.
let outside: string;
const tmp = scratch('banger-layers-bad-', async (dir) => {
  outside = join(dir, 'outside');
  await mkdir(outside);
  await writeFile(join(outside, 'passwd'), 'host');
});

async function refused(
  layers: (TarMember[] | Layer)[],
  message: RegExp,
  code: ErrorCode = ErrorCode.InvalidParams,
): Promise<string> {
  const dest = await tmp.freshRoot();
  const blobs = await Promise.all(
    layers.map((l) => (Array.isArray(l) ? layerOf(tmp.dir, l, MEDIA.tar) : Promise.resolve(l))),
  );
  await assert.rejects(flattenLayers(blobs, dest, { runner: realRunner }), (err: unknown) => {
    assert.ok(err instanceof BangerError, String(err));
    assert.match(err.message, message);
    assert.equal(err.code, code);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
  assert.deepEqual(await readdir(outside), ['passwd']);
  assert.equal(await readFile(join(outside, 'passwd'), 'utf8'), 'host');
  assert.deepEqual(await readdir(join(dest, '..')), ['root'], 'nothing beside the root');
  return dest;
}

const LAYER = /^layer sha256:[0-9a-f]{12}: /;

test('members naming a path outside the root are refused, naming layer and member', async () => {
  await refused(
    [[{ name: '../passwd', body: 'x' }]],
    /^layer sha256:[0-9a-f]{12}: unsafe tar member "\.\.\/passwd": path escapes the root$/,
  );
  await refused(
    [[{ name: 'etc/../../outside/passwd', body: 'x' }]],
    /"etc\/\.\.\/\.\.\/outside\/passwd": path escapes/,
  );
  await refused([[{ name: join(outside, 'passwd'), body: 'x' }]], /: absolute path$/);
  await refused(
    [[{ name: 'x', type: 'link', linkname: join(outside, 'passwd') }]],
    /"x": hardlink target ".*\/outside\/passwd" escapes the root/,
  );
  await refused(
    [[{ name: 'x', type: 'link', linkname: '../outside/passwd' }]],
    /"x": hardlink target "\.\.\/outside\/passwd" escapes the root/,
  );
  await refused(
    [[{ name: 'x', type: 'link', linkname: 'etc/shadow' }]],
    /"x": hardlink target "etc\/shadow" is not a file extracted before it/,
  );
  await refused(
    [[{ name: 'd/a', type: 'symlink', linkname: '../../outside/passwd' }]],
    /"d\/a": symlink target "\.\.\/\.\.\/outside\/passwd" escapes the root/,
  );
  await refused([[{ name: 'etc/.wh...', body: '' }]], /"etc\/\.wh\.\.\.": whiteout of no name/);
});

test('nothing is written, linked or removed through a symlink, in one layer or across', async () => {
  const link = { name: 'a', type: 'symlink', linkname: outside } as const;
  await refused(
    [[link, { name: 'a/passwd', body: 'owned' }]],
    /"a\/passwd": parent "a" is a symlink/,
  );
  await refused([[link], [{ name: 'a/passwd', body: 'owned' }]], LAYER);
  await refused(
    [[{ name: 'a', type: 'symlink', linkname: '/etc' }], [{ name: 'a/passwd', body: 'x' }]],
    /"a\/passwd": parent "a" is a symlink/,
  );
  await refused(
    [[link], [{ name: 'a/sub/', type: 'directory' }]],
    /"a\/sub\/": parent "a" is a symlink/,
  );
  // A directory that a later layer made a symlink is no directory any more.
  await refused(
    [
      [
        { name: 'a/', type: 'directory' },
        { name: 'a/x', body: 'x' },
      ],
      [link],
      [{ name: 'a/passwd', body: 'owned' }],
    ],
    /"a\/passwd": parent "a" is a symlink/,
  );
  await refused(
    [[link], [{ name: 'a/.wh.passwd', body: '' }]],
    /"a\/\.wh\.passwd": parent "a" is a symlink/,
  );
  await refused(
    [[link], [{ name: 'a/.wh..wh..opq', body: '' }]],
    /"a\/\.wh\.\.wh\.\.opq": parent "a" is a symlink/,
  );
  await refused(
    [[link], [{ name: 'x', type: 'link', linkname: 'a/passwd' }]],
    /"x": hardlink target "a\/passwd" is not a file/,
  );

  // Whiting out the link, or replacing it, touches the link and not what it points at.
  const dest = await tmp.freshRoot();
  const layers = [
    await layerOf(tmp.dir, [
      link,
      { name: 'b', type: 'symlink', linkname: join(outside, 'passwd') },
    ]),
    await layerOf(tmp.dir, [
      { name: '.wh.a', body: '' },
      { name: 'b', body: 'inside' },
    ]),
  ];
  await flattenLayers(layers, dest, { runner: realRunner });
  assert.deepEqual(await listTree(dest), ['b']);
  assert.equal(await readFile(join(dest, 'b'), 'utf8'), 'inside');
  assert.equal(await readFile(join(outside, 'passwd'), 'utf8'), 'host');
});

test(
  'a truncated gzip or zstd stream is an error, not a hang; so is an unknown media type',
  { timeout: 20_000 },
  async () => {
    const big: TarMember[] = [
      { name: 'big', body: Array.from({ length: 40_000 }, (_, i) => `${i * 7919}`).join('') },
    ];
    const half = (blob: Buffer) => blob.subarray(0, Math.floor(blob.length / 2));
    const good = [{ name: 'f', body: 'x' }];
    for (const media of [MEDIA.gzip, MEDIA.zstd]) {
      await refused(
        [await layerOf(tmp.dir, good, media), await layerOf(tmp.dir, big, media, half)],
        new RegExp(
          `${LAYER.source}truncated or corrupt ${media.endsWith('zstd') ? 'zstd' : 'gzip'} stream`,
        ),
      );
      // Cut at a member boundary: the tar looks whole, only the decompressor knows.
      await refused(
        [await layerOf(tmp.dir, good, media, (b) => b.subarray(0, b.length - 4))],
        /truncated or corrupt/,
      );
    }
    await refused(
      [
        await layerOf(tmp.dir, good, MEDIA.tar, (b) =>
          Buffer.concat([b.subarray(0, 512), Buffer.alloc(1)]),
        ),
      ],
      /^reading layer sha256:[0-9a-f]{12}: /,
    );
    const dest = await refused(
      [
        await layerOf(tmp.dir, good),
        {
          ...(await layerOf(tmp.dir, good)),
          mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+bzip2',
        },
      ],
      /^layer sha256:[0-9a-f]{12} has media type ".*bzip2", which banger cannot unpack/,
    );
    assert.deepEqual(await readdir(dest), [], 'refused before anything is written');
  },
);

test('a cancelled flatten stops with Cancelled', async () => {
  const controller = new AbortController();
  controller.abort();
  const dest = await tmp.freshRoot();
  await assert.rejects(
    flattenLayers([await layerOf(tmp.dir, [{ name: 'f', body: 'x' }], MEDIA.zstd)], dest, {
      runner: realRunner,
      signal: controller.signal,
    }),
    (err: unknown) => err instanceof BangerError && err.code === ErrorCode.Cancelled,
  );
});

test('a layer unpacking past the room given stops before writing the member that would pass it', async () => {
  // 64 MiB of zeros: 64 KiB gzipped, a thousand to one.
  const bomb: TarMember[] = [
    { name: 'small', body: 'x'.repeat(1000) },
    { name: 'zeros', body: Buffer.alloc(64 * 2 ** 20) },
  ];
  const blob = await layerOf(tmp.dir, bomb, MEDIA.gzip);
  const dest = await tmp.freshRoot();
  const asked: number[] = [];
  const room = {
    bytes: 16 * 2 ** 20,
    tooBig: (bytes: number) => {
      asked.push(bytes);
      return new BangerError(ErrorCode.DiskFull, `no room for ${bytes}`, { hint: 'free space' });
    },
  };
  await assert.rejects(
    flattenLayers([blob], dest, { runner: realRunner, room }),
    (err: unknown) => {
      assert.ok(err instanceof BangerError, String(err));
      assert.equal(err.code, ErrorCode.DiskFull);
      assert.match(err.message, /^layer sha256:[0-9a-f]{12}: no room for 67109864$/);
      assert.equal(err.hint, 'free space');
      return true;
    },
  );
  assert.deepEqual(asked, [1000 + 64 * 2 ** 20]);
  assert.deepEqual(await readdir(dest), ['small'], 'the member past the room was never written');
  // Counted across layers: two that fit alone, not together.
  const half: TarMember[] = [{ name: 'half', body: Buffer.alloc(10 * 2 ** 20) }];
  const again: TarMember[] = [{ name: 'again', body: Buffer.alloc(10 * 2 ** 20) }];
  await assert.rejects(
    flattenLayers(
      [await layerOf(tmp.dir, half, MEDIA.gzip), await layerOf(tmp.dir, again, MEDIA.gzip)],
      await tmp.freshRoot(),
      { runner: realRunner, room },
    ),
    /no room for 20971520$/,
  );
});
