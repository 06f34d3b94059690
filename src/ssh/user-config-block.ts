import { mkdir, readFile, realpath, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../system/atomic-write.js';
import { KeyedMutex } from '../system/mutex.js';
import { configPath } from './options.js';

// banger's block in the user's ~/.ssh/config: an Include of banger's own ssh_config between
// two marker lines, and nothing else of the file touched. It goes at the top: ssh takes the
// first value it meets, and an Include after a Host line would only apply inside that Host.

export const BLOCK_START = '# >>> banger (managed; banger removes this block) >>>';
export const BLOCK_END = '# <<< banger <<<';

/** The block's lines for an Include of `file`, each ending in a newline. */
export function blockFor(file: string): string {
  return `${BLOCK_START}\nInclude ${configPath(file)}\n${BLOCK_END}\n`;
}

interface Span {
  start: number;
  end: number;
}

/** Where each complete block is (offsets into `text`, whole lines, newline included). */
function blocks(text: string): Span[] {
  const spans: Span[] = [];
  let open: number | undefined;
  let offset = 0;
  for (const line of text.split(/(?<=\n)/)) {
    const bare = line.replace(/\r?\n$/, '').trimEnd();
    if (bare === BLOCK_START) open = offset;
    else if (bare === BLOCK_END && open !== undefined) {
      spans.push({ start: open, end: offset + line.length });
      open = undefined;
    }
    offset += line.length;
  }
  return spans;
}

/**
 * `text` with exactly one block, `block`: an existing one is replaced where it stands (the
 * user may have moved it), extra copies are dropped, and a file without one gets it first.
 */
export function withBlock(text: string, block: string): string {
  const [first, ...rest] = blocks(text);
  if (!first) return `${block}${text}`;
  const kept = cut(text, rest);
  // The end marker line of the last line of a file may lack its newline: keep it that way.
  const old = kept.slice(first.start, first.end);
  const replacement = old.endsWith('\n') ? block : block.replace(/\n$/, '');
  return `${kept.slice(0, first.start)}${replacement}${kept.slice(first.end)}`;
}

/** `text` without any block; everything else byte for byte. */
export function withoutBlock(text: string): string {
  return cut(text, blocks(text));
}

function cut(text: string, spans: Span[]): string {
  let out = '';
  let from = 0;
  for (const span of spans) {
    out += text.slice(from, span.start);
    from = span.end;
  }
  return out + text.slice(from);
}

// Daemon creates and starts may race within one process; the CLI's remove runs after the
// daemon has stopped (uninstall).
const locks = new KeyedMutex();

/**
 * Makes sure `userConfig` (~/.ssh/config) has the block including `include`. Creates ~/.ssh
 * (0700) and the file (0600) when missing, keeps an existing file's mode, writes through a
 * symlink to its target, and writes nothing when the block is already right.
 * Returns whether the file changed.
 */
export function ensureUserSshConfigBlock(userConfig: string, include: string): Promise<boolean> {
  return rewrite(userConfig, (text) => withBlock(text ?? '', blockFor(include)));
}

/** Removes the block (uninstall). Returns whether there was one. */
export function removeUserSshConfigBlock(userConfig: string): Promise<boolean> {
  return rewrite(userConfig, (text) => (text === undefined ? undefined : withoutBlock(text)));
}

function rewrite(
  path: string,
  change: (text: string | undefined) => string | undefined,
): Promise<boolean> {
  return locks.run(path, async () => {
    // A dotfile manager's symlink stays a symlink: the file it points at is replaced.
    const target = await realpath(path).catch(() => path);
    const current = await readFile(target, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    const next = change(current);
    if (next === undefined || next === current) return false;
    const mode = current === undefined ? 0o600 : (await stat(target)).mode & 0o7777;
    // ssh insists that ~/.ssh is not writable by others: a new one is 0700.
    if (current === undefined) await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    await writeFileAtomic(target, next, mode);
    return true;
  });
}
