import { BangerError, ErrorCode } from '../errors.js';
import type { Vm } from './vm.js';

// A VM's files from a program: read, write (staged beside the file, then renamed into
// place, so a reader never sees half of it) and list, each one command over the VM's ssh
// master. Contents are bytes; modes are kept.

export interface FileEntry {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  /** Permission bits, e.g. 0o755. */
  mode: number;
  size: number;
  modifiedAt: Date;
}

const LIST_SCRIPT = `cd -- "$1" || exit 3
for f in * .*; do
  case "$f" in .|..) continue;; esac
  [ -e "$f" ] || [ -L "$f" ] || continue
  stat -c '%F|%a|%s|%Y|%n' -- "$f" && printf '\\0'
done`;

const WRITE_SCRIPT = `[ -d "$1" ] && { echo "$1: Is a directory" >&2; exit 21; }
t="$1.banger-$$"
cat > "$t" && chmod "$2" "$t" && mv -f -- "$t" "$1" || { s=$?; rm -f -- "$t"; exit $s; }`;

export class VmFiles {
  constructor(private readonly vm: Vm) {}

  async read(path: string): Promise<Buffer> {
    const r = await this.vm.exec(['cat', '--', path]);
    if (r.exitCode !== 0) throw fileError(this.vm.name, path, r.stderr);
    return r.stdout;
  }

  /** Writes the whole file (mode 0644 unless given), replacing any file there. */
  async write(path: string, data: Buffer | string, options: { mode?: number } = {}): Promise<void> {
    const mode = (options.mode ?? 0o644).toString(8);
    const r = await this.vm.exec(['sh', '-c', WRITE_SCRIPT, 'banger-write', path, mode], {
      stdin: Buffer.isBuffer(data) ? data : Buffer.from(data),
    });
    if (r.exitCode !== 0) throw fileError(this.vm.name, path, r.stderr);
  }

  /** The entries of a directory (not . and ..), sorted by name. */
  async list(path: string): Promise<FileEntry[]> {
    const r = await this.vm.exec(['sh', '-c', LIST_SCRIPT, 'banger-list', path]);
    if (r.exitCode !== 0) throw fileError(this.vm.name, path, r.stderr);
    return parseListing(r.stdout.toString('utf8'));
  }
}

export function parseListing(text: string): FileEntry[] {
  return text
    .split('\n\0')
    .filter((row) => row !== '')
    .map((row) => {
      const [kind = '', mode = '0', size = '0', mtime = '0', ...name] = row.split('|');
      return {
        name: name.join('|'),
        type: kind.includes('directory')
          ? 'directory'
          : kind.includes('symbolic link')
            ? 'symlink'
            : kind.includes('regular')
              ? 'file'
              : 'other',
        mode: Number.parseInt(mode, 8),
        size: Number(size),
        modifiedAt: new Date(Number(mtime) * 1000),
      } satisfies FileEntry;
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function fileError(vm: string, path: string, stderr: Buffer): BangerError {
  const said = stderr.toString('utf8').trim().split('\n').at(-1) ?? '';
  const code = /no such file|can't cd|not found/i.test(said)
    ? ErrorCode.NotFound
    : /permission denied/i.test(said)
      ? ErrorCode.Permission
      : ErrorCode.InvalidParams;
  return new BangerError(code, `vm ${vm}: ${path}: ${said || 'failed'}`);
}
