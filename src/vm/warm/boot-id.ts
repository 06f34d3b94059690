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

/** Every place of the RAM file that holds the boot_id, in any of its forms. */
export async function findBootId(memoryFile: string, bootId: Buffer): Promise<BootIdSite[]> {
  const forms = Object.entries(encodings(bootId)) as [BootIdForm, Buffer][];
  const overlap = Math.max(...forms.map(([, b]) => b.length)) - 1;
  const sites: BootIdSite[] = [];
  const file = await open(memoryFile, 'r');
  try {
    const buf = Buffer.alloc(CHUNK + overlap);
    let base = 0; // file offset of buf[0]
    let carried = 0; // bytes at the start of buf kept from the previous chunk
    for (;;) {
      const { bytesRead } = await file.read(buf, carried, CHUNK, base + carried);
      const end = carried + bytesRead;
      if (end === 0) break;
      const view = buf.subarray(0, end);
      for (const [form, needle] of forms)
        for (let at = view.indexOf(needle); at >= 0; at = view.indexOf(needle, at + 1))
          // A match wholly inside the carried bytes was found in the previous round.
          if (at + needle.length > carried) sites.push({ offset: base + at, form });
      if (bytesRead === 0) break;
      const keep = Math.min(overlap, end);
      buf.copy(buf, 0, end - keep, end);
      base += end - keep;
      carried = keep;
    }
  } finally {
    await file.close();
  }
  return sites;
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
