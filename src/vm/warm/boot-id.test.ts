import assert from 'node:assert/strict';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { findBootId, freshBootId, parseBootId } from './boot-id.js';

const ID = 'b04ddbad-54ce-4304-97b7-33d16a651278';

test('boot_id: found in all three forms in a sparse RAM file, across read chunks, once each', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bootid-'));
  try {
    const file = join(dir, 'memory.ram');
    const bytes = parseBootId(ID);
    const f = await open(file, 'w');
    await f.truncate(20 * 2 ** 20);
    // One straddles the 8 MiB read chunk, one sits at the very end.
    const sites = [
      { offset: 4096, data: bytes },
      { offset: 8 * 2 ** 20 - 10, data: Buffer.from(ID) },
      { offset: 12 * 2 ** 20 + 7, data: Buffer.from(ID.replace(/-/g, '')) },
      { offset: 20 * 2 ** 20 - 16, data: bytes },
    ];
    for (const s of sites) await f.write(s.data, 0, s.data.length, s.offset);
    await f.close();
    const found = await findBootId(file, bytes);
    assert.deepEqual(
      found.sort((a, b) => a.offset - b.offset),
      [
        { offset: 4096, form: 'bytes' },
        { offset: 8 * 2 ** 20 - 10, form: 'uuid' },
        { offset: 12 * 2 ** 20 + 7, form: 'hex' },
        { offset: 20 * 2 ** 20 - 16, form: 'bytes' },
      ],
    );
    const fresh = freshBootId(found);
    assert.match(
      fresh.bootId,
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    assert.notEqual(fresh.bootId, ID);
    assert.deepEqual(
      fresh.writes.map((w) => w.bytes.length),
      [16, 36, 32, 16],
    );
    assert.equal(fresh.writes[1]!.bytes.toString(), fresh.bootId);
    assert.deepEqual(fresh.writes[0]!.bytes, parseBootId(fresh.bootId));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('boot_id: searched only in the ranges given, across a seam between two of them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bootid-'));
  try {
    const file = join(dir, 'memory.ram');
    const bytes = parseBootId(ID);
    const f = await open(file, 'w');
    await f.truncate(2 ** 20);
    for (const at of [100, 5000, 9000]) await f.write(bytes, 0, 16, at);
    await f.close();
    // [4096, 5005) and [5005, 8192) meet inside the second id; the third is outside both.
    const found = await findBootId(file, bytes, [
      [0, 200],
      [4096, 5005],
      [5005, 8192],
    ]);
    assert.deepEqual(
      found.map((s) => s.offset).sort((a, b) => a - b),
      [100, 5000],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('boot_id: anything but 32 hex digits is refused', () => {
  assert.throws(() => parseBootId('not-an-id'), /not a boot_id/);
  assert.equal(parseBootId(`${ID}\n`).length, 16);
});
