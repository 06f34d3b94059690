import { open, stat } from 'node:fs/promises';
import { BangerError, ErrorCode } from '../errors.js';

/** ext4's superblock magic (0xEF53 at byte 1080): enough to catch "that is not a disk image". */
export async function isExt4(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(2);
    await fh.read(buf, 0, 2, 1080);
    return buf.readUInt16LE(0) === 0xef53;
  } finally {
    await fh.close();
  }
}

export async function regularFile(path: string, what: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile())
    throw new BangerError(ErrorCode.InvalidParams, `${what} ${path} is not a file`, {
      hint: 'give the path of an existing file',
    });
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
