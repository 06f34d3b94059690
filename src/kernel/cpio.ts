/**
 * A writer for the newc cpio format the kernel unpacks as an initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst). Entries are kept in memory:
 * an initramfs is a few MiB.
 */
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const TRAILER = 'TRAILER!!!';

export class CpioWriter {
  private readonly parts: Buffer[] = [];
  private readonly seen = new Set<string>();
  private inode = 1;
  private length = 0;

  constructor(private readonly mtime = 0) {}

  dir(path: string, mode = 0o755): this {
    return this.entry(path, S_IFDIR | (mode & 0o7777), Buffer.alloc(0), 2);
  }

  file(path: string, data: Buffer, mode = 0o644): this {
    return this.entry(path, S_IFREG | (mode & 0o7777), data, 1);
  }

  symlink(path: string, target: string): this {
    return this.entry(path, S_IFLNK | 0o777, Buffer.from(target), 1);
  }

  /** A character device node (the kernel wants /dev/console before init runs). */
  charDevice(path: string, major: number, minor: number, mode = 0o600): this {
    return this.entry(path, S_IFCHR | (mode & 0o7777), Buffer.alloc(0), 1, [major, minor]);
  }

  /** Creates every missing ancestor of `path` as a 0755 directory. */
  parents(path: string): this {
    const segments = normalise(path).split('/');
    for (let i = 1; i < segments.length; i++) {
      const dir = segments.slice(0, i).join('/');
      if (!this.seen.has(dir)) this.dir(dir);
    }
    return this;
  }

  /** The archive: every entry, then the trailer, padded to a 512-byte multiple. */
  finish(): Buffer {
    this.header(TRAILER, 0, 0, 1, 0, [0, 0]);
    this.pad(512);
    return Buffer.concat(this.parts);
  }

  private entry(
    path: string,
    mode: number,
    data: Buffer,
    nlink: number,
    rdev: [number, number] = [0, 0],
  ): this {
    const name = normalise(path);
    if (this.seen.has(name)) throw new Error(`cpio: duplicate entry "${name}"`);
    this.seen.add(name);
    this.header(name, this.inode++, mode, nlink, data.length, rdev);
    this.push(data);
    this.pad(4);
    return this;
  }

  private header(
    name: string,
    ino: number,
    mode: number,
    nlink: number,
    size: number,
    rdev: [number, number],
  ): void {
    // c_ino c_mode c_uid c_gid c_nlink c_mtime c_filesize c_devmajor c_devminor
    // c_rdevmajor c_rdevminor c_namesize c_check
    const namesize = Buffer.byteLength(name) + 1;
    const fields = [ino, mode, 0, 0, nlink, this.mtime, size, 0, 0, rdev[0], rdev[1], namesize, 0];
    this.push(Buffer.from('070701' + fields.map(hex8).join(''), 'ascii'));
    this.push(Buffer.from(`${name}\0`));
    this.pad(4);
  }

  private push(buf: Buffer): void {
    this.parts.push(buf);
    this.length += buf.length;
  }

  private pad(to: number): void {
    const rest = this.length % to;
    if (rest) this.push(Buffer.alloc(to - rest));
  }
}

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
    throw new Error(`cpio: field out of range: ${n}`);
  return n.toString(16).padStart(8, '0');
}

function normalise(path: string): string {
  const name = path.replace(/^\/+/, '').replace(/\/+$/, '');
  if (!name || name.split('/').some((s) => s === '..' || s === '.' || s === ''))
    throw new Error(`cpio: bad entry path "${path}"`);
  return name;
}
