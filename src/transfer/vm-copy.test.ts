import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { test } from 'node:test';
import { unframe } from './vm-copy.js';

const TOKEN = 'a'.repeat(32);
const collect = () => {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  return { sink, bytes: () => Buffer.concat(chunks) };
};

test('unframe: the archive between header and trailer, split anywhere', async () => {
  const archive = Buffer.alloc(1024, 7);
  const stream = Buffer.concat([
    Buffer.from(`banger-data:${TOKEN}`),
    archive,
    Buffer.from(`banger-done:${TOKEN}`),
  ]);
  for (const size of [1, 5, 44, 500, 5000]) {
    const parts: Buffer[] = [];
    for (let at = 0; at < stream.length; at += size) parts.push(stream.subarray(at, at + size));
    const { sink, bytes } = collect();
    await unframe(Readable.from(parts), TOKEN, sink);
    assert.deepEqual(bytes(), archive, `chunks of ${size}`);
  }
});

test('unframe: another copy’s header, or no trailer, is an error', async () => {
  const other = Buffer.from(`banger-data:${'b'.repeat(32)}`);
  await assert.rejects(
    unframe(Readable.from([other, Buffer.alloc(512)]), TOKEN, collect().sink),
    /another copy/,
  );
  const cut = [Buffer.from(`banger-data:${TOKEN}`), Buffer.alloc(512)];
  await assert.rejects(unframe(Readable.from(cut), TOKEN, collect().sink), /ended early/);
});
