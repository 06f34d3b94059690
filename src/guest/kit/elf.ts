import { open, readFile } from 'node:fs/promises';

/** What the dynamic loader reads from an ELF file: its interpreter and what it links against. */
export interface ElfInfo {
  /** PT_INTERP ("/lib64/ld-linux-x86-64.so.2"); absent for static programs and libraries. */
  interpreter?: string;
  /** DT_NEEDED names, in file order. */
  needed: string[];
  soname?: string;
  /** DT_RPATH and DT_RUNPATH as written (":"-separated, $ORIGIN unexpanded). */
  rpath?: string;
  runpath?: string;
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;
const DT_SONAME = 14n;
const DT_RPATH = 15n;
const DT_RUNPATH = 29n;

interface Segment {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

/** Whether a file starts with the ELF magic (scripts and data files do not). */
export async function isElf(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await file.read(head, 0, 4, 0);
    return bytesRead === 4 && head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    await file.close();
  }
}

/**
 * Reads the program headers and dynamic section of a 64-bit little-endian ELF (x86-64, the
 * only architecture banger boots). Parsed here rather than with readelf: binutils is not
 * among banger's host dependencies, and the loader needs only these few fields.
 */
export function parseElf(buf: Buffer, name = 'file'): ElfInfo {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46)
    throw new Error(`${name} is not an ELF file`);
  if (buf[4] !== 2 || buf[5] !== 1) throw new Error(`${name} is not a 64-bit little-endian ELF`);
  const phoff = Number(buf.readBigUInt64LE(32));
  const phentsize = buf.readUInt16LE(54);
  const phnum = buf.readUInt16LE(56);
  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 56 > buf.length) throw new Error(`${name}: program header ${i} is out of bounds`);
    segments.push({
      type: buf.readUInt32LE(at),
      offset: Number(buf.readBigUInt64LE(at + 8)),
      vaddr: Number(buf.readBigUInt64LE(at + 16)),
      filesz: Number(buf.readBigUInt64LE(at + 32)),
    });
  }
  const info: ElfInfo = { needed: [] };
  const interp = segments.find((s) => s.type === PT_INTERP);
  if (interp) info.interpreter = cString(buf, interp.offset, name);
  const dynamic = segments.find((s) => s.type === PT_DYNAMIC);
  if (!dynamic) return info;

  const entries: { tag: bigint; value: bigint }[] = [];
  for (let at = dynamic.offset; at + 16 <= dynamic.offset + dynamic.filesz; at += 16) {
    const tag = buf.readBigInt64LE(at);
    if (tag === 0n) break;
    entries.push({ tag, value: buf.readBigUInt64LE(at + 8) });
  }
  const strtab = entries.find((e) => e.tag === DT_STRTAB);
  if (!strtab) throw new Error(`${name}: dynamic section without a string table`);
  const strOffset = fileOffset(segments, Number(strtab.value), name);
  const str = (value: bigint) => cString(buf, strOffset + Number(value), name);
  for (const { tag, value } of entries) {
    if (tag === DT_NEEDED) info.needed.push(str(value));
    else if (tag === DT_SONAME) info.soname = str(value);
    else if (tag === DT_RPATH) info.rpath = str(value);
    else if (tag === DT_RUNPATH) info.runpath = str(value);
  }
  return info;
}

export async function readElf(path: string): Promise<ElfInfo> {
  return parseElf(await readFile(path), path);
}

/** DT_STRTAB holds a virtual address: the PT_LOAD segment containing it maps it to the file. */
function fileOffset(segments: readonly Segment[], vaddr: number, name: string): number {
  const load = segments.find(
    (s) => s.type === PT_LOAD && vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz,
  );
  if (!load) throw new Error(`${name}: address 0x${vaddr.toString(16)} is in no loaded segment`);
  return load.offset + (vaddr - load.vaddr);
}

function cString(buf: Buffer, offset: number, name: string): string {
  const end = buf.indexOf(0, offset);
  if (offset >= buf.length || end < 0)
    throw new Error(`${name}: string at ${offset} is unterminated`);
  return buf.toString('utf8', offset, end);
}
