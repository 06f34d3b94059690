// The hostile archive corpus: one tar per trick an unpacker of untrusted archives must refuse
// or neutralise (the box that proves nothing escaped is sentinel-box.ts).
import { join } from 'node:path';
import { OWNED, type Box } from './sentinel-box.js';
import { tarBytes, type TarMember } from './tar.js';

/** Where a case's members go, so one corpus serves every unpacker. */
export interface Placement {
  /** A name the unpacker takes as legitimate (a bundle's "rootfs.ext4"); "safe" by default. */
  safe?: string;
  /** Put every member below this top directory (`vm cp` wants the one entry asked for). */
  top?: string;
  /** Members written first (a kernel tarball's vmlinux, so a neutralised case succeeds). */
  before?: TarMember[];
}

interface Context {
  /** Absolute paths of the sentinel. */
  outside: string;
  victim: string;
  /** The legitimate-looking name, below `top`. */
  safe: string;
  /** `p` below `top`. */
  at(p: string): string;
  /** From the directory of member `at(p)` up to the box: `..` for a top-level member. */
  up(p: string): string;
}

/** A piece of an archive: a member as tar-stream packs it (PAX records too), or raw blocks. */
type Part = TarMember | Buffer;

export interface Hostile {
  id: string;
  /** The trick, for a test's title. */
  about: string;
  parts(c: Context): Part[];
  /** How the archive ends: its end-of-archive blocks (default), none, or cut at a byte. */
  end?: 'blocks' | 'none' | { cutAt: number };
}

const file = (name: string, body: string | Buffer = OWNED, mode = 0o644): TarMember => ({
  name,
  body,
  mode,
});
const dir = (name: string): TarMember => ({ name, type: 'directory', mode: 0o755 });
const symlink = (name: string, linkname: string): TarMember => ({
  name,
  type: 'symlink',
  linkname,
});
const hardlink = (name: string, linkname: string): TarMember => ({ name, type: 'link', linkname });

/** Every trick the unpackers defend against, in one list (ids are unique). */
export const HOSTILE = [
  // Names that leave the root.
  {
    id: 'dotdot',
    about: 'a member named ../outside/victim',
    parts: (c) => [file(c.at(`${c.up('x')}/outside/victim`))],
  },
  {
    id: 'dotdot-inner',
    about: 'a member whose .. is in the middle: a/../../outside/victim',
    parts: (c) => [file(c.at(`a/${c.up('a/x')}/outside/victim`))],
  },
  {
    id: 'absolute',
    about: 'a member with an absolute name',
    parts: (c) => [file(c.victim)],
  },
  // Writing through a symlink the archive planted.
  {
    id: 'symlink-absolute',
    about: 'a symlink to an absolute outside dir, then a file below it',
    parts: (c) => [symlink(c.at('esc'), c.outside), file(c.at('esc/victim'))],
  },
  {
    id: 'symlink-relative',
    about: 'a relative symlink that climbs out, then a file below it',
    parts: (c) => [symlink(c.at('esc'), `${c.up('esc')}/outside`), file(c.at('esc/victim'))],
  },
  {
    id: 'symlink-deep',
    about: 'a symlink climbing out of a subdirectory, then a file below it',
    parts: (c) => [
      dir(c.at('d/')),
      symlink(c.at('d/esc'), `${c.up('d/esc')}/outside`),
      file(c.at('d/esc/victim')),
    ],
  },
  {
    id: 'symlink-chain',
    about: 'a symlink to a symlink to outside, then a file below the second',
    parts: (c) => [symlink(c.at('a'), c.outside), symlink(c.at('b'), 'a'), file(c.at('b/victim'))],
  },
  {
    id: 'symlink-directory',
    about: 'a symlink to outside, then a directory and a file below it',
    parts: (c) => [symlink(c.at('esc'), c.outside), dir(c.at('esc/sub/')), file(c.at('esc/sub/f'))],
  },
  {
    id: 'symlink-over-directory',
    about: 'a directory, a symlink to outside in its place, then a file below it',
    parts: (c) => [
      dir(c.at('d/')),
      file(c.at('d/x'), 'x'),
      symlink(c.at('d'), c.outside),
      file(c.at('d/victim')),
    ],
  },
  // Hard links out, forward, through a symlink, and written through.
  {
    id: 'hardlink-absolute',
    about: 'a hard link to an absolute outside file',
    parts: (c) => [hardlink(c.at('h'), c.victim)],
  },
  {
    id: 'hardlink-relative',
    about: 'a hard link to ../outside/victim',
    parts: (c) => [hardlink(c.at('h'), '../outside/victim')],
  },
  {
    id: 'hardlink-forward',
    about: 'a hard link to a file that comes after it',
    parts: (c) => [hardlink(c.at('h'), c.at('later')), file(c.at('later'))],
  },
  {
    id: 'hardlink-through-symlink',
    about: 'a symlink to outside, then a hard link to a file below it',
    parts: (c) => [symlink(c.at('esc'), c.outside), hardlink(c.at('h'), c.at('esc/victim'))],
  },
  {
    id: 'hardlink-then-write',
    about: 'a hard link to an outside file, then a file of the same name',
    parts: (c) => [hardlink(c.at('h'), c.victim), file(c.at('h'))],
  },
  // Special files and modes.
  {
    id: 'char-device',
    about: 'a character device (/dev/mem, 0666)',
    parts: (c) => [
      { name: c.safe, type: 'character-device', mode: 0o666, devmajor: 1, devminor: 1 },
    ],
  },
  {
    id: 'block-device',
    about: 'a block device (the first disk, 0666)',
    parts: (c) => [{ name: c.safe, type: 'block-device', mode: 0o666, devmajor: 8, devminor: 0 }],
  },
  {
    id: 'fifo',
    about: 'a fifo',
    parts: (c) => [{ name: c.safe, type: 'fifo', mode: 0o666 }],
  },
  {
    id: 'setuid',
    about: 'a setuid and setgid root file, world-writable',
    parts: (c) => [file(c.safe, '#!/bin/sh\n', 0o6777)],
  },
  // The same path twice, or as two kinds.
  {
    id: 'duplicate',
    about: 'the same file twice',
    parts: (c) => [file(c.safe, 'one'), file(c.safe, 'two')],
  },
  {
    id: 'file-then-directory',
    about: 'a file, then a directory of the same name with a file below',
    parts: (c) => [file(c.at('f')), dir(c.at('f/')), file(c.at('f/x'))],
  },
  {
    id: 'directory-then-file',
    about: 'a directory with a file, then a file of the same name',
    parts: (c) => [dir(c.at('d/')), file(c.at('d/x'), 'x'), file(c.at('d'))],
  },
  {
    id: 'newline-name',
    about: 'a name with a newline and a double quote',
    parts: (c) => [file(c.at('evil\n"name'))],
  },
  // Headers that override what the plain header says.
  {
    id: 'pax-path',
    about: 'a PAX path of ../outside/victim over a harmless name',
    parts: (c) => [{ ...file(c.safe), pax: { path: c.at(`${c.up('x')}/outside/victim`) } }],
  },
  {
    id: 'pax-nul-path',
    about: 'a PAX path holding a NUL',
    parts: (c) => [{ ...file(c.safe), pax: { path: `${c.safe}\0/../../outside/victim` } }],
  },
  {
    id: 'pax-linkpath',
    about: 'a PAX linkpath to an outside file over a harmless hard link target',
    parts: (c) => [
      file(c.at('t'), 't'),
      { ...hardlink(c.at('h'), c.at('t')), pax: { linkpath: c.victim } },
    ],
  },
  {
    id: 'pax-global-path',
    about: 'a global PAX header naming ../outside/victim',
    parts: (c) => [
      paxRecords('pax_global_header', 'g', { path: `../outside/victim` }),
      file(c.safe),
    ],
  },
  {
    id: 'gnu-long-name',
    about: 'a GNU long name of ../outside/victim over a harmless name',
    parts: (c) => [gnuLong('L', c.at(`${c.up('x')}/outside/victim`)), file(c.safe)],
  },
  {
    id: 'gnu-long-link',
    about: 'a GNU long link target to an outside file over a harmless one',
    parts: (c) => [file(c.at('t'), 't'), gnuLong('K', c.victim), hardlink(c.at('h'), c.at('t'))],
  },
  {
    id: 'long-header-bomb',
    about: 'a GNU long name header declaring 8 MiB',
    parts: (c) => [
      Buffer.concat([
        header({ name: '././@LongLink', type: 'L', size: 8 << 20 }),
        Buffer.alloc(512),
      ]),
      file(c.safe),
    ],
    end: 'none',
  },
  // Sizes that lie, and archives cut short.
  {
    id: 'size-overrun',
    about: 'a member declaring 1 MiB that ends after 512 bytes',
    parts: (c) => [header({ name: c.safe, size: 1 << 20 }), Buffer.alloc(512, 0x41)],
    end: 'none',
  },
  {
    id: 'size-underrun',
    about: 'a member declaring 10 bytes followed by 1 KiB that is no header',
    parts: (c) => [header({ name: c.safe, size: 10 }), Buffer.alloc(1024, 0x41)],
  },
  {
    id: 'huge-declared',
    about: 'a member declaring 5 GiB (a bomb announcing itself), cut after 8 MiB',
    parts: (c) => [header({ name: c.safe, size: 5 * 2 ** 30 }), Buffer.alloc(8 << 20)],
    end: 'none',
  },
  {
    id: 'pax-size-bogus',
    about: 'a PAX size of -1',
    parts: (c) => [{ ...file(c.safe, 'hello'), pax: { size: '-1' } }],
  },
  {
    id: 'bad-checksum',
    about: 'a header whose checksum is wrong',
    parts: (c) => [corruptChecksum(header({ name: c.safe, size: 0 }))],
  },
  {
    id: 'truncated-header',
    about: 'an archive cut inside its second header',
    parts: (c) => [file(c.at('first'), 'x'.repeat(600)), file(c.at('second'))],
    end: { cutAt: 1536 + 100 },
  },
  {
    id: 'truncated-body',
    about: 'an archive cut inside a member body',
    parts: (c) => [file(c.safe, 'x'.repeat(5000))],
    end: { cutAt: 512 + 3000 },
  },
  // OCI whiteouts that would reach outside.
  {
    id: 'whiteout-empty',
    about: 'a whiteout of no name (.wh.)',
    parts: (c) => [file(c.at('.wh.'), '')],
  },
  {
    id: 'whiteout-dot',
    about: 'a whiteout of "." (d/.wh..)',
    parts: (c) => [dir(c.at('d/')), file(c.at('d/.wh..'), '')],
  },
  {
    id: 'whiteout-dotdot',
    about: 'a whiteout whose path climbs out: ../outside/.wh.victim',
    parts: (c) => [file(c.at(`${c.up('x')}/outside/.wh.victim`), '')],
  },
  {
    id: 'whiteout-absolute',
    about: 'a whiteout with an absolute name',
    parts: (c) => [file(join(c.outside, '.wh.victim'), '')],
  },
  {
    id: 'whiteout-through-symlink',
    about: 'a symlink to outside, then a whiteout below it',
    parts: (c) => [symlink(c.at('esc'), c.outside), file(c.at('esc/.wh.victim'), '')],
  },
  {
    id: 'opaque-through-symlink',
    about: 'a symlink to outside, then an opaque marker below it',
    parts: (c) => [symlink(c.at('esc'), c.outside), file(c.at('esc/.wh..wh..opq'), '')],
  },
] as const satisfies readonly Hostile[];

export type HostileId = (typeof HOSTILE)[number]['id'];

/** The case's archive as tar bytes, laid out for one unpacker and aimed at `box`. */
export async function hostileTar(
  hostile: Hostile,
  box: Pick<Box, 'outside' | 'victim'>,
  placement: Placement = {},
): Promise<Buffer> {
  const top = placement.top === undefined ? '' : `${placement.top}/`;
  const at = (p: string) => `${top}${p}`;
  const context: Context = {
    outside: box.outside,
    victim: box.victim,
    safe: at(placement.safe ?? 'safe'),
    at,
    up: (p) => Array<string>(at(p).split('/').length).fill('..').join('/'),
  };
  const members = [...(placement.before ?? []), ...hostile.parts(context)];
  const blocks: Buffer[] = [];
  for (const part of members) {
    if (Buffer.isBuffer(part)) blocks.push(part);
    else blocks.push((await tarBytes([part])).subarray(0, -1024)); // without its end blocks
  }
  const end = hostile.end ?? 'blocks';
  if (end === 'blocks') blocks.push(Buffer.alloc(1024));
  const bytes = Buffer.concat(blocks);
  return typeof end === 'object' ? bytes.subarray(0, end.cutAt) : bytes;
}

/** A raw ustar header, for what tar-stream will not write (lying sizes, GNU records). */
export function header(h: {
  name: string;
  type?: string;
  size: number;
  linkname?: string;
  mode?: number;
}): Buffer {
  const buf = Buffer.alloc(512);
  buf.write(h.name, 0, 100, 'utf8');
  buf.write(octal(h.mode ?? 0o644, 7), 100);
  buf.write(octal(0, 7), 108);
  buf.write(octal(0, 7), 116);
  buf.write(octal(h.size, 11), 124);
  buf.write(octal(0, 11), 136);
  buf.write(h.type ?? '0', 156);
  if (h.linkname) buf.write(h.linkname, 157, 100, 'utf8');
  buf.write('ustar\u000000', 257, 'latin1');
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : buf[i]!;
  buf.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'latin1');
  return buf;
}

function octal(n: number, digits: number): string {
  return `${n.toString(8).padStart(digits, '0')}\u0000`;
}

function corruptChecksum(block: Buffer): Buffer {
  const copy = Buffer.from(block);
  copy[148] = copy[148] === 0x30 ? 0x31 : 0x30;
  return copy;
}

/** A GNU long name (`L`) or long link (`K`) record: its header and its padded data. */
function gnuLong(type: 'L' | 'K', value: string): Buffer {
  const data = Buffer.from(`${value}\0`);
  return Buffer.concat([header({ name: '././@LongLink', type, size: data.length }), pad(data)]);
}

/** A PAX extended (`x`) or global (`g`) header with these records. */
function paxRecords(name: string, type: 'x' | 'g', records: Record<string, string>): Buffer {
  const data = Buffer.from(
    Object.entries(records)
      .map(([key, value]) => {
        const line = ` ${key}=${value}\n`;
        let length = line.length + 1;
        while (`${length}${line}`.length !== length) length += 1;
        return `${length}${line}`;
      })
      .join(''),
  );
  return Buffer.concat([header({ name, type, size: data.length }), pad(data)]);
}

function pad(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}
