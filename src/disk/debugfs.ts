import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { BangerError, ErrorCode, SubprocessError } from '../errors.js';
import type { Runner } from '../system/runner.js';

// Edits an ext4 image from the host without mounting it (no root, no loop device): many
// commands in one `debugfs -w -f -` process, paths in debugfs's own quoting.

export interface DebugfsCommand {
  readonly line: string;
  /** debugfs complaints this command may make without failing the script. */
  readonly tolerate?: RegExp;
}

export class DebugfsScript {
  readonly #commands: DebugfsCommand[] = [];
  readonly #made = new Set<string>();

  mkdir(path: string): this {
    const guest = guestPath(path);
    if (guest === '/' || this.#made.has(guest)) return this;
    this.#made.add(guest);
    // Only for a path that does not exist: debugfs's mkdir of an existing name allocates an
    // inode before it notices, leaving an unconnected directory that e2fsck reports (a VM's
    // work disk came out corrupt that way). Callers check with debugfsStat first.
    return this.#add(`mkdir ${quote(guest)}`);
  }

  /** Copies a host file to a path that must not exist yet. */
  write(hostFile: string, path: string): this {
    return this.#add(`write ${quote(checked(hostFile))} ${quote(guestPath(path))}`);
  }

  symlink(path: string, target: string): this {
    return this.#add(`symlink ${quote(guestPath(path))} ${quote(checked(target))}`);
  }

  setOwner(path: string, uid: number, gid: number): this {
    const guest = quote(guestPath(path));
    return this.#add(`sif ${guest} uid ${id(uid)}`).#add(`sif ${guest} gid ${id(gid)}`);
  }

  /** `mode` is the whole st_mode, type bits included (0o104755 for a setuid file). */
  setMode(path: string, mode: number): this {
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o177777 || mode >> 12 === 0) {
      throw new BangerError(ErrorCode.Internal, `invalid inode mode ${mode} for ${path}`);
    }
    return this.#add(`sif ${quote(guestPath(path))} mode 0${mode.toString(8)}`);
  }

  rm(path: string): this {
    return this.#add(`rm ${quote(guestPath(path))}`);
  }

  get commands(): readonly DebugfsCommand[] {
    return this.#commands;
  }

  text(): string {
    return this.#commands.map((c) => `${c.line}\n`).join('');
  }

  #add(line: string, tolerate?: RegExp): this {
    this.#commands.push(tolerate ? { line, tolerate } : { line });
    return this;
  }
}

/** An absolute, normalised path inside the image. */
function guestPath(path: string): string {
  return posix.normalize(`/${checked(path)}`).replace(/(.)\/$/, '$1');
}

function checked(text: string): string {
  if (text === '' || /["\n\r\0]/.test(text)) {
    throw new BangerError(
      ErrorCode.InvalidParams,
      `debugfs cannot name ${JSON.stringify(text)}: empty, or holds a double quote or line break`,
    );
  }
  return text;
}

export function quote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `"${text}"`;
}

function id(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new BangerError(ErrorCode.Internal, `invalid uid/gid ${n}`);
  }
  return n;
}

// debugfs exits 0 when a command fails, echoes commands to (buffered) stdout and reports
// errors on (unbuffered) stderr, so the two cannot be lined up. After each command we look
// up a path that cannot exist: its numbered "not found" line on stderr closes that command.
const MARK = '/.banger-debugfs-mark-';
const MARK_LINE = /^\/\.banger-debugfs-mark-(\d+): /;
const NOISE = /^(debugfs \d+\.\d+.*|Allocated inode: \d+|\s*)$/;

export async function runDebugfs(
  image: string,
  script: DebugfsScript,
  runner: Runner,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const commands = script.commands;
  if (commands.length === 0) return;
  // No mark after the last command: debugfs's exit status is that of its last command.
  const input = commands
    .map((c, i) => (i < commands.length - 1 ? `${c.line}\nstat ${MARK}${i}\n` : `${c.line}\n`))
    .join('');
  const result = await runner.run('debugfs', ['-w', '-f', '-', image], {
    input,
    env: { DEBUGFS_PAGER: '__none__' },
    allowFailure: true,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const complaints = new Map<number, string[]>();
  const note = (index: number, line: string): void => {
    complaints.set(index, [...(complaints.get(index) ?? []), line.trim()]);
  };
  let current = 0;
  for (const line of result.stderr.split('\n')) {
    throwIfNotOpened(image, line);
    const mark = MARK_LINE.exec(line);
    if (mark) current = Number(mark[1]) + 1;
    else if (!NOISE.test(line)) note(current, line);
  }
  // stdout is in order: an echoed "debugfs: CMD" line starts each command's output.
  current = -1;
  for (const line of result.stdout.split('\n')) {
    if (line.startsWith('debugfs: ')) {
      if (!line.startsWith(`debugfs: stat ${MARK}`)) current += 1;
    } else if (!NOISE.test(line)) note(Math.max(current, 0), line);
  }
  for (const [index, lines] of [...complaints].sort(([a], [b]) => a - b)) {
    const command = commands[index];
    const tolerate = command?.tolerate;
    if (tolerate && lines.every((l) => tolerate.test(l))) continue;
    const what = command ? `"${command.line}" (command ${index + 1})` : 'the script';
    throw new BangerError(
      ErrorCode.Subprocess,
      `debugfs failed at ${what} on ${image}: ${lines.join('; ')}`,
    );
  }
  // A non-zero exit with no complaint at all is not debugfs reporting a command.
  if (result.exitCode !== 0 && complaints.size === 0) {
    throw new SubprocessError(result.command, result.exitCode, result.stderr);
  }
}

function throwIfNotOpened(image: string, line: string): void {
  if (/while trying to open|Filesystem not open/.test(line)) {
    throw new BangerError(ErrorCode.Subprocess, `debugfs could not open ${image}: ${line.trim()}`);
  }
}

export type InodeType = 'file' | 'directory' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

const TYPES: Record<string, [InodeType, number]> = {
  regular: ['file', 0o100000],
  directory: ['directory', 0o040000],
  symlink: ['symlink', 0o120000],
  'character special': ['char', 0o020000],
  'block special': ['block', 0o060000],
  FIFO: ['fifo', 0o010000],
  socket: ['socket', 0o140000],
};

export interface InodeStat {
  uid: number;
  gid: number;
  /** The whole st_mode, type bits included. */
  mode: number;
  type: InodeType;
}

/** The inode at `path`, or undefined when nothing is there. */
export async function debugfsStat(
  image: string,
  path: string,
  runner: Runner,
): Promise<InodeStat | undefined> {
  const { stdout, stderr } = await runner.run(
    'debugfs',
    ['-R', `stat ${quote(guestPath(path))}`, image],
    { env: { DEBUGFS_PAGER: '__none__' } },
  );
  if (notFound(image, stderr)) return undefined;
  const typeMode = /Type:\s+(.+?)\s+Mode:\s+([0-7]+)/.exec(stdout);
  const owner = /User:\s+(\d+)\s+Group:\s+(\d+)/.exec(stdout);
  const type = TYPES[typeMode?.[1] ?? ''];
  if (!typeMode || !owner || !type) {
    throw new BangerError(
      ErrorCode.Subprocess,
      `could not read debugfs stat of ${path} in ${image}: ${stdout.slice(0, 200)}`,
    );
  }
  return {
    uid: Number(owner[1]),
    gid: Number(owner[2]),
    mode: type[1] | parseInt(typeMode[2] ?? '0', 8),
    type: type[0],
  };
}

/** The bytes of a file in the image (streamed: stdout of a string runner would mangle binary). */
export async function debugfsCat(image: string, path: string, runner: Runner): Promise<Buffer> {
  const child = runner.stream('debugfs', ['-R', `cat ${quote(guestPath(path))}`, image], {
    env: { DEBUGFS_PAGER: '__none__' },
  });
  child.stdin.end();
  const [data, { stderr }] = await Promise.all([collect(child.stdout), child.done]);
  if (notFound(image, stderr)) {
    throw new BangerError(ErrorCode.NotFound, `no file ${guestPath(path)} in ${image}`);
  }
  return data;
}

function notFound(image: string, stderr: string): boolean {
  stderr.split('\n').forEach((line) => throwIfNotOpened(image, line));
  return /File not found by ext2_lookup/.test(stderr);
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
