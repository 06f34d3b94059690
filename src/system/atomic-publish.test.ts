import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { removeStaleStagedFiles, removeStaleStaging, stagedFilePath } from './atomic-publish.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bgr-ap-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a staged file sits beside its final name, hidden, random, ending .staging', () => {
  const a = stagedFilePath('/state/guest-kit-1.ext4');
  const b = stagedFilePath('/state/guest-kit-1.ext4');
  assert.equal(dirname(a), '/state');
  assert.match(basename(a), /^\.guest-kit-1\.ext4\.[0-9a-f]{8}\.staging$/);
  assert.notEqual(a, b);
});

test("stale staged files of one name go; the published file and other names' files stay", async () => {
  const state = join(dir, 'state');
  await mkdir(state);
  const kit = join(state, 'guest-kit-1.ext4');
  const stale = [stagedFilePath(kit), stagedFilePath(kit)];
  const keep = [
    'guest-kit-1.ext4',
    '.guest-kit-1.ext4.staging', // no random part: not a name stagedFilePath gives
    '.guest-kit-2.ext4.0badcafe.staging', // another kit's
    '.guest-kit-1.ext4.0badcafe.partial',
    'banger.db',
  ];
  for (const name of [...stale.map((p) => basename(p)), ...keep])
    await writeFile(join(state, name), 'x');
  const removed = await removeStaleStagedFiles(kit);
  assert.deepEqual(removed.sort(), stale.map((p) => basename(p)).sort());
  assert.deepEqual((await readdir(state)).sort(), [...keep].sort());
  assert.deepEqual(await removeStaleStagedFiles(join(dir, 'absent', 'guest-kit-1.ext4')), []);
});

test('stale staging dirs go, published ones stay', async () => {
  const images = join(dir, 'images');
  await mkdir(join(images, 'cafe.staging'), { recursive: true });
  await writeFile(join(images, 'cafe.staging', 'rootfs.ext4'), 'half');
  await mkdir(join(images, 'beef'));
  assert.deepEqual(await removeStaleStaging(images), ['cafe.staging']);
  assert.deepEqual(await readdir(images), ['beef']);
});
