// What TreeWriter (image/tree-writer.ts) does with each archive of the hostile corpus: it
// writes both a rootfs tar (flattenTar) and each OCI layer (flattenLayers), which differ
// where a layer may replace a directory and where a `.wh.` name is a whiteout.
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type HostileId } from './hostile-archives.js';
import { OWNED, taken, type Outcome } from './sentinel-box.js';

const quote = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
/** The member refusal, after whatever names the archive (the layer). */
const refused = (member: string, why: string) =>
  new RegExp(`unsafe tar member ${quote(JSON.stringify(member))}: ${quote(why)}$`);
const linkOut = (member: string) =>
  new RegExp(
    `unsafe tar member "${member}": hardlink target "/.*/outside/victim" escapes the root$`,
  );
const ESCAPES = 'path escapes the root';

export function treeWriterOutcomes(options: { layers: boolean }): Record<HostileId, Outcome> {
  const stream = (why: string) =>
    new RegExp(
      `^reading ${options.layers ? 'layer sha256:[0-9a-f]{12}' : 'rootfs tar'}: ${quote(why)}`,
    );
  const cut = stream('Unexpected end of data');
  return {
    dotdot: refused('../outside/victim', ESCAPES),
    'dotdot-inner': refused('a/../../outside/victim', ESCAPES),
    absolute: /unsafe tar member "\/.*\/outside\/victim": absolute path$/,
    'symlink-absolute': refused('esc/victim', 'parent "esc" is a symlink'),
    'symlink-relative': refused('esc', 'symlink target "../outside" escapes the root'),
    'symlink-deep': refused('d/esc', 'symlink target "../../outside" escapes the root'),
    'symlink-chain': refused('b/victim', 'parent "b" is a symlink'),
    'symlink-directory': refused('esc/sub/', 'parent "esc" is a symlink'),
    // A layer may replace a directory, with a link too: the write below it is what is refused.
    'symlink-over-directory': options.layers
      ? refused('d/victim', 'parent "d" is a symlink')
      : refused('d', 'replaces a directory'),
    'hardlink-absolute': linkOut('h'),
    'hardlink-relative': refused('h', 'hardlink target "../outside/victim" escapes the root'),
    'hardlink-forward': refused('h', 'hardlink target "later" is not a file extracted before it'),
    'hardlink-through-symlink': refused(
      'h',
      'hardlink target "esc/victim" is not a file extracted before it',
    ),
    'hardlink-then-write': linkOut('h'),
    // The guest's devtmpfs makes device nodes: none is ever made on the host.
    'char-device': taken([]),
    'block-device': taken([]),
    fifo: taken([]),
    // An image keeps its setuid files (the owners pass applies them to the ext4 too).
    setuid: taken(['safe'], async (root) => {
      assert.equal((await stat(join(root, 'safe'))).mode & 0o7777, 0o6777);
    }),
    duplicate: taken(['safe'], async (root) => {
      assert.equal(await readFile(join(root, 'safe'), 'utf8'), 'two');
    }),
    'file-then-directory': taken(['f/', 'f/x']),
    'directory-then-file': options.layers
      ? taken(['d'], async (root) => assert.equal(await readFile(join(root, 'd'), 'utf8'), OWNED))
      : refused('d', 'replaces a directory'),
    'newline-name': refused('evil\n"name', 'holds a double quote or line break'),
    'pax-path': refused('../outside/victim', ESCAPES),
    'pax-nul-path': refused('safe\0/../../outside/victim', ESCAPES),
    'pax-linkpath': linkOut('h'),
    // tar-stream applies a global header's path only with a local one: the name stays harmless.
    'pax-global-path': taken(['safe']),
    'gnu-long-name': refused('../outside/victim', ESCAPES),
    'gnu-long-link': linkOut('h'),
    'long-header-bomb': stream('Header exceeds max size'),
    'size-overrun': cut,
    'size-underrun': stream('Invalid tar header'),
    'huge-declared': cut,
    'pax-size-bogus': stream('Invalid header'),
    'bad-checksum': stream('Invalid tar header'),
    'truncated-header': cut,
    'truncated-body': cut,
    // Outside a layer a whiteout is a file like another.
    'whiteout-empty': options.layers ? refused('.wh.', 'whiteout of no name') : taken(['.wh.']),
    'whiteout-dot': options.layers
      ? refused('d/.wh..', 'whiteout of no name')
      : taken(['d/', 'd/.wh..']),
    'whiteout-dotdot': refused('../outside/.wh.victim', ESCAPES),
    'whiteout-absolute': /unsafe tar member "\/.*\/outside\/\.wh\.victim": absolute path$/,
    'whiteout-through-symlink': refused('esc/.wh.victim', 'parent "esc" is a symlink'),
    'opaque-through-symlink': refused('esc/.wh..wh..opq', 'parent "esc" is a symlink'),
  };
}
