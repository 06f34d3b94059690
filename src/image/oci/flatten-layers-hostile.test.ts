// The hostile archive corpus (test/helpers/hostile-archives.ts) as OCI layers, plain, gzip and
// zstd: every one is refused with a line naming the layer and the member, or taken with the
// harm left out; nothing outside the tree changes. A refused tree is the caller's to remove
// (image/oci/pull.ts staged it), so what was written stays.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { realRunner } from '../../system/runner.js';
import { flattenLayers, type Layer } from './flatten-layers.js';
import { HOSTILE, hostileTar } from '../../../test/helpers/hostile-archives.js';
import { assertOutcome, sentinelBox, type Box } from '../../../test/helpers/sentinel-box.js';
import { MEDIA, compress } from '../../../test/helpers/layers.js';
import { scratch } from '../../../test/helpers/scratch.js';
import { tarBytes } from '../../../test/helpers/tar.js';
import { treeWriterOutcomes } from '../../../test/helpers/tree-writer-outcomes.js';

const tmp = scratch('banger-layers-hostile-', async (dir) => {
  await mkdir(join(dir, 'boxes'));
  await mkdir(join(dir, 'blobs'));
});
let n = 0;
const expected = treeWriterOutcomes({ layers: true });
const NAMES = /^(reading )?layer sha256:[0-9a-f]{12}: /;

/** A blob as the cache holds it, named by the digest of what is stored. */
async function layer(blob: Buffer, mediaType: string): Promise<Layer> {
  const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
  const file = join(tmp.dir, 'blobs', `${++n}-${digest.slice(7)}`);
  await writeFile(file, blob);
  return { digest, mediaType, open: () => createReadStream(file) };
}

const box = () => sentinelBox(join(tmp.dir, 'boxes'), `b${++n}`);
const flatten = (layers: Layer[], b: Box) => () =>
  flattenLayers(layers, b.stage, { runner: realRunner });

for (const media of [MEDIA.tar, MEDIA.gzip, MEDIA.zstd]) {
  const kind = media.split('.').at(-1);
  for (const hostile of HOSTILE) {
    test(`${kind}: ${hostile.id}, ${hostile.about}`, async () => {
      const b = await box();
      const blob = compress(await hostileTar(hostile, b), media);
      await assertOutcome(b, expected[hostile.id], flatten([await layer(blob, media)], b), {
        names: NAMES,
        stageLeft: true,
      });
    });
  }
}

test('a chain of symlinks across layers is no way out either', async () => {
  const b = await box();
  const lower = await tarBytes([{ name: 'a', type: 'symlink', linkname: b.outside }]);
  const upper = await tarBytes([
    { name: 'b', type: 'symlink', linkname: 'a' },
    { name: 'b/victim', body: 'owned' },
  ]);
  const layers = [await layer(lower, MEDIA.tar), await layer(upper, MEDIA.tar)];
  await assertOutcome(b, expected['symlink-chain'], flatten(layers, b), {
    names: NAMES,
    stageLeft: true,
  });
});

test('a zstd layer that needs a 2 GiB window is refused in one line, not decoded', async () => {
  const b = await box();
  const tar = await tarBytes([{ name: 'f', body: 'x' }]);
  const zstd = execFileSync('zstd', ['-q', '-c', '--long=31'], { input: tar });
  await assertOutcome(
    b,
    /: truncated or corrupt zstd stream: Decoding error \(36\) : Frame requires too much memory for decoding$/,
    flatten([await layer(zstd, MEDIA.zstd)], b),
    { names: NAMES, stageLeft: true },
  );
});
