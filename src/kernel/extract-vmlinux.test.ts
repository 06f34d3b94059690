import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { realRunner } from '../system/runner.js';
import { bzImagePayload, extractVmlinux } from './extract-vmlinux.js';

/** A bzImage-shaped file: boot header fields that locate a compressed payload + its size. */
function fakeBzImage(payload: Buffer, uncompressedSize: number): Buffer {
  const setupSects = 3;
  const headerLen = (setupSects + 1) * 512;
  const image = Buffer.alloc(headerLen + 64 + payload.length + 4);
  image[0x1f1] = setupSects;
  image.write('HdrS', 0x202, 'latin1');
  image.writeUInt16LE(0x20f, 0x206);
  image.writeUInt32LE(64, 0x248);
  image.writeUInt32LE(payload.length + 4, 0x24c);
  payload.copy(image, headerLen + 64);
  image.writeUInt32LE(uncompressedSize, headerLen + 64 + payload.length);
  return image;
}

test('the ELF inside a bzImage is extracted and checked against the announced size', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bgr-vmlinux-'));
  try {
    const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(5000, 7)]);
    const bz = join(dir, 'vmlinuz');
    await writeFile(bz, fakeBzImage(gzipSync(elf), elf.length));
    await extractVmlinux(bz, join(dir, 'vmlinux'), realRunner);
    assert.deepEqual(await readFile(join(dir, 'vmlinux')), elf);

    await writeFile(bz, fakeBzImage(gzipSync(elf), elf.length + 1));
    await assert.rejects(
      extractVmlinux(bz, join(dir, 'vmlinux'), realRunner),
      /not the 5005-byte ELF/,
    );
    await assert.rejects(readFile(join(dir, 'vmlinux')), /ENOENT/, 'a bad result is removed');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('files that are not bzImages are refused with the reason', () => {
  assert.throws(
    () => bzImagePayload(Buffer.alloc(4096), 'x'),
    /x is not a bzImage kernel: no "HdrS" boot header/,
  );
  assert.throws(
    () => bzImagePayload(fakeBzImage(Buffer.from('not compressed'), 1), 'y'),
    /unknown compression/,
  );
});
