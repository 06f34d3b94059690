import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';

// The kernel's boot_id (/proc/sys/kernel/random/boot_id) is made once per boot and cannot be
// written from user space, so every VM resumed from one template would share it — and with
// it journald's _BOOT_ID and whatever else keys on "this boot". Before a resumed VM runs,
// banger rewrites it in the VM's memory instead, the way vmgenid hands a guest a new GUID:
// when the template is saved, its RAM file is searched once for the template's boot_id in
// the three forms it is kept in (16 bytes, as the kernel and sd_id128_t hold it; 36 and 32
// hex characters, as printed), and each resumed VM gets a fresh id written at those places
// of its own copy-on-write mapping. A 128-bit random value does not occur by chance.

export type BootIdForm = 'bytes' | 'uuid' | 'hex';

export interface BootIdSite {
  offset: number;
  form: BootIdForm;
}

const CHUNK = 8 * 2 ** 20;

function encodings(uuid: Buffer): Record<BootIdForm, Buffer> {
  const hex = uuid.toString('hex');
  const text = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return { bytes: uuid, uuid: Buffer.from(text), hex: Buffer.from(hex) };
}

/** `0f2c…-…` as the kernel prints it → its 16 bytes. */
export function parseBootId(text: string): Buffer {
  const hex = text.trim().replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/.test(hex)) throw new Error(`not a boot_id: ${JSON.stringify(text)}`);
  return Buffer.from(hex, 'hex');
}

/**
 * Finds the boot_id in RAM handed over in pieces (offset, bytes), in increasing offsets:
 * a piece right after the previous one is searched with that one's last bytes in front, so
 * an id across the seam is found once. Pieces may skip ranges (a copy of the guest's own
 * pages only): an id cannot straddle a range nobody wrote.
 */
export class BootIdSearch {
  readonly sites: BootIdSite[] = [];
  private readonly forms: [BootIdForm, Buffer][];
  private readonly overlap: number;
  private tail = Buffer.alloc(0);
  private tailEnd = -1;

  constructor(bootId: Buffer) {
    this.forms = Object.entries(encodings(bootId)) as [BootIdForm, Buffer][];
    this.overlap = Math.max(...this.forms.map(([, b]) => b.length)) - 1;
  }

  feed(offset: number, bytes: Buffer): void {
    // Across the seam: the previous piece's last bytes and this one's first.
    if (offset === this.tailEnd && this.tail.length > 0) {
      const seam = Buffer.concat([this.tail, bytes.subarray(0, this.overlap)]);
      this.search(seam, offset - this.tail.length, this.tail.length);
    }
    this.search(bytes, offset, 0);
    this.tail = Buffer.from(bytes.subarray(Math.max(0, bytes.length - this.overlap)));
    this.tailEnd = offset + bytes.length;
  }

  /** Matches in `view` (at `base`) that reach past its first `from` bytes. */
  private search(view: Buffer, base: number, from: number): void {
    // Most of a guest's RAM is empty: no id there (it is never all zeros), and memcmp is fast.
    if (isZero(view)) return;
    for (const [form, needle] of this.forms)
      for (let at = view.indexOf(needle); at >= 0; at = view.indexOf(needle, at + 1))
        if (at + needle.length > from && (from === 0 || at < from))
          this.sites.push({ offset: base + at, form });
  }
}

const ZERO = Buffer.alloc(CHUNK);

function isZero(view: Buffer): boolean {
  for (let at = 0; at < view.length; at += CHUNK) {
    const part = view.subarray(at, at + CHUNK);
    if (!part.equals(ZERO.subarray(0, part.length))) return false;
  }
  return true;
}

/**
 * Every place of the RAM file that holds the boot_id, in any of its forms: in the whole
 * file, or only in the byte ranges [start, end) given (where a fork's copy holds what its
 * parent wrote since its own RAM file was made: its boot_id cannot be anywhere else).
 */
export async function findBootId(
  memoryFile: string,
  bootId: Buffer,
  ranges?: readonly (readonly [number, number])[],
): Promise<BootIdSite[]> {
  const search = new BootIdSearch(bootId);
  const file = await open(memoryFile, 'r');
  try {
    const buf = Buffer.alloc(CHUNK);
    for (const [start, end] of ranges ?? [[0, Number.MAX_SAFE_INTEGER] as const])
      for (let offset = start; offset < end;) {
        const { bytesRead } = await file.read(buf, 0, Math.min(CHUNK, end - offset), offset);
        if (bytesRead === 0) break;
        search.feed(offset, buf.subarray(0, bytesRead));
        offset += bytesRead;
      }
  } finally {
    await file.close();
  }
  return search.sites;
}

/** A fresh random boot_id (a version 4 UUID, as the kernel makes them) for every site. */
export function freshBootId(sites: readonly BootIdSite[]): {
  bootId: string;
  writes: { offset: number; bytes: Buffer }[];
} {
  const uuid = randomBytes(16);
  uuid[6] = (uuid[6]! & 0x0f) | 0x40;
  uuid[8] = (uuid[8]! & 0x3f) | 0x80;
  const forms = encodings(uuid);
  return {
    bootId: forms.uuid.toString(),
    writes: sites.map((s) => ({ offset: s.offset, bytes: forms[s.form] })),
  };
}
