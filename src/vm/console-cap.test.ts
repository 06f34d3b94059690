import assert from 'node:assert/strict';
import { open, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { rotateIfOver } from './console-cap.js';

// A writer holding the file open with O_APPEND, as QEMU's console chardev does.

const dir = await mkdtemp(join(tmpdir(), 'banger-console-'));
after(() => rm(dir, { recursive: true, force: true }));

test('rotate: under the cap nothing happens; over it the newest half is kept in .1 and the writer goes on at the start', async () => {
  const file = join(dir, 'console.log');
  const writer = await open(file, 'a');
  try {
    await writer.write('x'.repeat(900));
    assert.equal(await rotateIfOver(file, 1000), false);
    await writer.write(`${'y'.repeat(190)}0123456789`);
    assert.equal(await rotateIfOver(file, 1000), true);
    assert.equal((await stat(file)).size, 0);
    const older = await readFile(`${file}.1`, 'utf8');
    assert.equal(older.length, 500);
    assert.ok(older.endsWith('y0123456789'));
    await writer.write('after\n');
    assert.equal(await readFile(file, 'utf8'), 'after\n', 'appended at the new end, no hole');
    // Again: the older half is replaced, never more than twice the cap on disk.
    await writer.write('z'.repeat(2000));
    assert.equal(await rotateIfOver(file, 1000), true);
    assert.equal((await readFile(`${file}.1`, 'utf8')).length, 500);
    assert.equal(await rotateIfOver(join(dir, 'missing.log'), 1000), false);
  } finally {
    await writer.close();
  }
});
