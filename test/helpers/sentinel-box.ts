// The sentinel box: proof that an unpacker of untrusted archives wrote nothing outside its
// stage, and the check of what it did with one case of the hostile corpus.
import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BangerError } from '../../src/errors.js';
import { listTree } from './layers.js';
import { scratch, type Scratch } from './scratch.js';

/**
 * `<dir>/outside/` (the sentinel: a file, a directory) beside `<dir>/stage/` (the unpacker's
 * destination, empty). Every escape in the corpus aims at `outside`, by `..`, by absolute
 * name, through a symlink or a hard link.
 */
export interface Box {
  readonly dir: string;
  readonly outside: string;
  /** outside/victim: "host", 0644, one link. */
  readonly victim: string;
  readonly stage: string;
  /**
   * Asserts that nothing but `stage` changed: the box's every path (type, mode, size, link
   * count, inode, mtime, content, link target) and the names beside the box.
   */
  untouched(): Promise<void>;
}

export const VICTIM_TEXT = 'host';
export const OWNED = 'owned by the archive';

/** A fresh box in `parent` (a test's scratch dir), its snapshot taken. */
export async function sentinelBox(parent: string, name: string): Promise<Box> {
  const dir = join(parent, name);
  const outside = join(dir, 'outside');
  const stage = join(dir, 'stage');
  await mkdir(join(outside, 'dir'), { recursive: true });
  await writeFile(join(outside, 'victim'), VICTIM_TEXT, { mode: 0o644 });
  await mkdir(stage);
  const before = await snapshot(dir, stage);
  const beside = (await readdir(parent)).sort();
  return {
    dir,
    outside,
    victim: join(outside, 'victim'),
    stage,
    async untouched() {
      assert.deepEqual(await snapshot(dir, stage), before, 'nothing outside the stage changed');
      assert.deepEqual((await readdir(parent)).sort(), beside, 'nothing appeared beside the box');
    },
  };
}

async function snapshot(root: string, skip: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(join(root, prefix))).sort()) {
    const path = prefix === '' ? name : `${prefix}/${name}`;
    const full = join(root, path);
    if (full === skip) continue;
    const st = await lstat(full);
    const what = st.isSymbolicLink()
      ? `-> ${await readlink(full)}`
      : st.isFile()
        ? (await readFile(full)).toString('hex')
        : '';
    out.push(
      `${path} ${(st.mode & 0o177777).toString(8)} n${st.nlink} i${st.ino} ${st.size} ${st.mtimeMs} ${what}`,
    );
    if (st.isDirectory()) out.push(...(await snapshot(root, skip, path)));
  }
  return out;
}

/** What an unpacker must do with a case: refuse it (its error matching), or take it harmlessly. */
export type Outcome = RegExp | Taken;

export interface Taken {
  /** The stage afterwards, as listTree shows it. */
  tree: string[];
  /** More to check in the stage (a mode dropped, a link not made). */
  check?: (stage: string) => Promise<void>;
}

export const taken = (tree: string[], check?: (stage: string) => Promise<void>): Taken =>
  check ? { tree, check } : { tree };

/**
 * Unpacks one case into `box` and checks `outcome`: a refusal is a BangerError of one line
 * that starts with `names` (the archive) and matches the outcome, and leaves the stage
 * empty unless `stageLeft` (the caller removes it); either way nothing outside changed.
 */
export async function assertOutcome(
  box: Box,
  outcome: Outcome,
  unpack: () => Promise<unknown>,
  options: { names: RegExp; stageLeft?: boolean },
): Promise<void> {
  const result = await unpack().then(
    () => undefined,
    (err: unknown) => err,
  );
  await box.untouched();
  if (outcome instanceof RegExp) {
    assert.ok(result instanceof BangerError, `refused with a BangerError, got ${String(result)}`);
    assert.match(result.message, options.names);
    assert.match(result.message, outcome);
    assert.doesNotMatch(result.message, /\n/, 'one line');
    if (!options.stageLeft) assert.deepEqual(await listTree(box.stage), [], 'the stage is empty');
  } else {
    assert.equal(result, undefined, `taken, not refused: ${String(result)}`);
    assert.deepEqual(await listTree(box.stage), outcome.tree);
    await outcome.check?.(box.stage);
  }
}

/** A test file's scratch dir with `boxes/` (sentinel boxes) and `archives/` (the cases). */
export function hostileScratch(prefix: string): Scratch {
  return scratch(prefix, async (dir) => {
    await mkdir(join(dir, 'boxes'));
    await mkdir(join(dir, 'archives'));
  });
}

/** The refusals walkTarZst gives (bundles, kernel tarballs), matched at the message's end. */
export const said = (text: string): RegExp =>
  new RegExp(`: ${text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`);
export const unsafeMember = (name: string): RegExp =>
  said(`unsafe member path ${JSON.stringify(name)}`);
export const corruptTar = (why: string): RegExp => said(`corrupt tar archive: ${why}`);
export const TRUNCATED_TAR = said('truncated tar archive: Unexpected end of data');

/**
 * What walkTarZst itself refuses, whatever the archive is for: a path out of the archive
 * (plain, PAX, GNU long name, whiteout) and a tar that is not one.
 */
export const WALK_REFUSALS = {
  dotdot: unsafeMember('../outside/victim'),
  'dotdot-inner': unsafeMember('a/../../outside/victim'),
  absolute: /: unsafe member path "\/.*\/outside\/victim"$/,
  'pax-path': unsafeMember('../outside/victim'),
  'gnu-long-name': unsafeMember('../outside/victim'),
  'long-header-bomb': corruptTar('Header exceeds max size'),
  // Before the fix, an archive cut inside a file's bytes left the pull waiting forever.
  'size-overrun': TRUNCATED_TAR,
  'size-underrun': corruptTar('Invalid tar header'),
  'pax-size-bogus': corruptTar('Invalid header'),
  'bad-checksum': corruptTar('Invalid tar header'),
  'truncated-header': TRUNCATED_TAR,
  'truncated-body': TRUNCATED_TAR,
  'whiteout-dotdot': unsafeMember('../outside/.wh.victim'),
  'whiteout-absolute': /: unsafe member path "\/.*\/outside\/\.wh\.victim"$/,
} as const;
