// The hostile archive corpus (test/helpers/hostile-archives.ts) as rootfs tars (image build,
// image make-bundle --rootfs-tar): every one is refused with a line naming the member, or
// taken with the harm left out (devices and fifos skipped); nothing outside the tree changes.
// A refused tree is the caller's to remove (it staged it), so what was written stays.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { flattenTar } from './flatten-tar.js';
import { HOSTILE, hostileTar } from '../../test/helpers/hostile-archives.js';
import { assertOutcome, sentinelBox } from '../../test/helpers/sentinel-box.js';
import { scratch } from '../../test/helpers/scratch.js';
import { treeWriterOutcomes } from '../../test/helpers/tree-writer-outcomes.js';

const tmp = scratch('banger-flatten-hostile-', (dir) => mkdir(join(dir, 'boxes')));
let n = 0;
const expected = treeWriterOutcomes({ layers: false });

for (const hostile of HOSTILE) {
  test(`${hostile.id}: ${hostile.about}`, async () => {
    const box = await sentinelBox(join(tmp.dir, 'boxes'), `b${++n}`);
    const tar = await hostileTar(hostile, box);
    await assertOutcome(
      box,
      expected[hostile.id],
      () => flattenTar(Readable.from([tar]), box.stage),
      { names: /^(unsafe tar member "|reading rootfs tar: )/, stageLeft: true },
    );
  });
}
