import { createWriteStream } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { BangerError, ErrorCode } from '../errors.js';
import type { Runner } from '../system/runner.js';

/**
 * Extracts the uncompressed ELF vmlinux from a bzImage: the boot protocol header says where
 * the compressed payload is; its magic says which program decompresses it. QEMU can boot
 * the ELF directly through its PVH entry point, skipping the in-guest decompression.
 */
const DECOMPRESSORS: readonly { magic: Buffer; file: string; args: string[] }[] = [
  { magic: Buffer.from([0x1f, 0x8b]), file: 'gzip', args: ['-dc'] },
  { magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), file: 'xz', args: ['-dc'] },
  { magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), file: 'zstd', args: ['-dc'] },
  { magic: Buffer.from([0x02, 0x21, 0x4c, 0x18]), file: 'lz4', args: ['-dc'] },
  { magic: Buffer.from('BZh'), file: 'bzip2', args: ['-dc'] },
  { magic: Buffer.from([0x5d, 0x00, 0x00]), file: 'xz', args: ['--format=lzma', '-dc'] },
];

export interface BzImagePayload {
  data: Buffer;
  /** The uncompressed size the kernel build appended after the payload. */
  size: number;
  decompressor: { file: string; args: string[] };
}

export function bzImagePayload(image: Buffer, source: string): BzImagePayload {
  const bad = (why: string) =>
    new BangerError(ErrorCode.InvalidParams, `${source} is not a bzImage kernel: ${why}`, {
      hint: 'give a vmlinuz (bzImage) or an ELF vmlinux',
    });
  if (image.length < 0x250 || image.toString('latin1', 0x202, 0x206) !== 'HdrS')
    throw bad('no "HdrS" boot header');
  if (image.readUInt16LE(0x206) < 0x208)
    throw bad('boot protocol older than 2.08 has no payload fields');
  const setupSects = image[0x1f1] || 4;
  const start = (setupSects + 1) * 512 + image.readUInt32LE(0x248);
  const length = image.readUInt32LE(0x24c);
  if (length < 8 || start + length > image.length) throw bad('payload outside the file');
  const payload = image.subarray(start, start + length);
  const decompressor = DECOMPRESSORS.find((d) =>
    payload.subarray(0, d.magic.length).equals(d.magic),
  );
  if (!decompressor)
    throw bad(`unknown compression (magic ${payload.subarray(0, 4).toString('hex')})`);
  // The last 4 bytes are the uncompressed size, not part of the compressed stream.
  return {
    data: payload.subarray(0, length - 4),
    size: payload.readUInt32LE(length - 4),
    decompressor,
  };
}

export async function extractVmlinux(
  bzImage: string,
  outFile: string,
  runner: Runner,
): Promise<void> {
  const payload = bzImagePayload(await readFile(bzImage), bzImage);
  const child = runner.stream(payload.decompressor.file, payload.decompressor.args);
  child.stdin.end(payload.data);
  try {
    await Promise.all([
      pipeline(child.stdout, createWriteStream(outFile, { mode: 0o644 })),
      child.done,
    ]);
    const fh = await open(outFile, 'r');
    try {
      const { size } = await fh.stat();
      const head = Buffer.alloc(4);
      await fh.read(head, 0, 4, 0);
      if (!head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])) || size !== payload.size)
        throw new BangerError(
          ErrorCode.Internal,
          `extracting vmlinux from ${bzImage} gave ${size} bytes, not the ${payload.size}-byte ELF its header announces`,
        );
    } finally {
      await fh.close();
    }
  } catch (err) {
    await rm(outFile, { force: true });
    throw err;
  }
}

/** Whether an ELF kernel has the Xen PVH entry note QEMU needs to boot it directly. */
export async function hasPvhEntry(vmlinux: string): Promise<boolean> {
  const elf = await readFile(vmlinux);
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false; // 64-bit ELF only
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (elf.readUInt32LE(ph) !== 4) continue; // PT_NOTE
    let at = Number(elf.readBigUInt64LE(ph + 8));
    const end = at + Number(elf.readBigUInt64LE(ph + 0x20));
    while (at + 12 <= end) {
      const namesz = elf.readUInt32LE(at);
      const descsz = elf.readUInt32LE(at + 4);
      const type = elf.readUInt32LE(at + 8);
      const name = elf.toString('latin1', at + 12, at + 12 + namesz).replace(/\0+$/, '');
      if (name === 'Xen' && type === 18) return true; // XEN_ELFNOTE_PHYS32_ENTRY
      at += 12 + align4(namesz) + align4(descsz);
    }
  }
  return false;
}

const align4 = (n: number) => (n + 3) & ~3;
