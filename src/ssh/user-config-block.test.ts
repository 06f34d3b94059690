import assert from 'node:assert/strict';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  BLOCK_END,
  BLOCK_START,
  blockFor,
  ensureUserSshConfigBlock,
  removeUserSshConfigBlock,
  withBlock,
  withoutBlock,
} from './user-config-block.js';

// The block banger keeps in ~/.ssh/config: the user's file is theirs, so everything outside
// the markers must come back byte for byte, whatever they did around the block.

const INCLUDE = '/state/banger/ssh/ssh_config';
const BLOCK = blockFor(INCLUDE);
const USER = 'Host work\n  HostName work.example\n  User me\n\nHost *\n  ServerAliveInterval 30';

let dir: string;
before(async () => (dir = await mkdtemp(join(tmpdir(), 'bgr-sshcfg-'))));
after(() => rm(dir, { recursive: true, force: true }));

test('the block is the markers around one Include line', () => {
  assert.equal(BLOCK, `${BLOCK_START}\nInclude "${INCLUDE}"\n${BLOCK_END}\n`);
});

test('empty text gets the block; other text gets it first, before any Host line', () => {
  assert.equal(withBlock('', BLOCK), BLOCK);
  assert.equal(withBlock(USER, BLOCK), `${BLOCK}${USER}`);
});

test('adding is idempotent, and removing gives back the exact text', () => {
  for (const text of ['', USER, `${USER}\n`, '\n\n', 'Host a\r\n  User b\r\n']) {
    const once = withBlock(text, BLOCK);
    assert.equal(withBlock(once, BLOCK), once, JSON.stringify(text));
    assert.equal(withoutBlock(once), text, JSON.stringify(text));
  }
  assert.equal(withoutBlock(USER), USER, 'no block: nothing changes');
});

test("the user's edits around the block are kept; a moved block is updated where it is", () => {
  const edited = `# my comment\n${BLOCK}\n${USER}\nHost late\n  Port 2222\n`;
  assert.equal(withBlock(edited, BLOCK), edited);
  const other = blockFor('/elsewhere/ssh_config');
  assert.equal(
    withBlock(edited, other),
    `# my comment\n${other}\n${USER}\nHost late\n  Port 2222\n`,
  );
  assert.equal(withoutBlock(edited), `# my comment\n\n${USER}\nHost late\n  Port 2222\n`);
  // Lines the user put inside the markers belong to the block and go with it.
  const inside = `${BLOCK_START}\nInclude "${INCLUDE}"\n  User extra\n${BLOCK_END}\n${USER}`;
  assert.equal(withBlock(inside, BLOCK), `${BLOCK}${USER}`);
  // Trailing spaces on a marker (an editor's doing) still mark it.
  const spaced = `${BLOCK_START}  \nInclude "${INCLUDE}"\n${BLOCK_END}\t\n${USER}`;
  assert.equal(withoutBlock(spaced), USER);
});

test('copies of the block become one; a block ending the file without a newline stays so', () => {
  const twice = `${BLOCK}${USER}\n${BLOCK}`;
  assert.equal(withBlock(twice, BLOCK), `${BLOCK}${USER}\n`);
  assert.equal(withoutBlock(twice), `${USER}\n`);
  const last = `${USER}\n${BLOCK.slice(0, -1)}`;
  assert.equal(withBlock(last, BLOCK), last);
  assert.equal(withoutBlock(last), `${USER}\n`);
});

test('a start marker without its end is left alone, and the block goes first once', () => {
  const broken = `${USER}\n${BLOCK_START}\nHost x\n`;
  const fixed = withBlock(broken, BLOCK);
  assert.equal(fixed, `${BLOCK}${broken}`);
  assert.equal(withBlock(fixed, BLOCK), fixed);
  assert.equal(withoutBlock(fixed), broken);
});

test('a missing ~/.ssh and config are made 0700 and 0600', async () => {
  const home = join(dir, 'fresh');
  const config = join(home, '.ssh', 'config');
  assert.equal(await ensureUserSshConfigBlock(config, INCLUDE), true);
  assert.equal(await readFile(config, 'utf8'), BLOCK);
  assert.equal((await stat(join(home, '.ssh'))).mode & 0o777, 0o700);
  assert.equal((await stat(config)).mode & 0o777, 0o600);
  // Again: nothing to do, the file is not rewritten.
  const inode = (await stat(config)).ino;
  assert.equal(await ensureUserSshConfigBlock(config, INCLUDE), false);
  assert.equal((await stat(config)).ino, inode);
});

test('an existing file keeps its mode and every byte outside the block; remove restores it', async () => {
  const ssh = join(dir, 'existing', '.ssh');
  await mkdir(ssh, { recursive: true });
  const config = join(ssh, 'config');
  const original = `${USER}\n`;
  await writeFile(config, original);
  await chmod(config, 0o640);
  assert.equal(await ensureUserSshConfigBlock(config, INCLUDE), true);
  assert.equal(await readFile(config, 'utf8'), `${BLOCK}${original}`);
  assert.equal((await stat(config)).mode & 0o777, 0o640);
  // The user adds lines after banger wrote its block.
  await writeFile(config, `${await readFile(config, 'utf8')}Host new\n  User x\n`);
  assert.equal(await ensureUserSshConfigBlock(config, INCLUDE), false);
  assert.equal(await removeUserSshConfigBlock(config), true);
  assert.equal(await readFile(config, 'utf8'), `${original}Host new\n  User x\n`);
  assert.equal((await stat(config)).mode & 0o777, 0o640);
  assert.equal(await removeUserSshConfigBlock(config), false);
});

test('remove without a file creates nothing; a symlinked config stays a symlink', async () => {
  const nothing = join(dir, 'none', '.ssh', 'config');
  assert.equal(await removeUserSshConfigBlock(nothing), false);
  await assert.rejects(lstat(join(dir, 'none')), { code: 'ENOENT' });

  const ssh = join(dir, 'linked', '.ssh');
  await mkdir(ssh, { recursive: true });
  const real = join(dir, 'linked', 'dotfiles-ssh-config');
  await writeFile(real, USER);
  await symlink(real, join(ssh, 'config'));
  await ensureUserSshConfigBlock(join(ssh, 'config'), INCLUDE);
  assert.equal(await readlink(join(ssh, 'config')), real);
  assert.equal(await readFile(real, 'utf8'), `${BLOCK}${USER}`);
  await removeUserSshConfigBlock(join(ssh, 'config'));
  assert.equal(await readFile(real, 'utf8'), USER);
});

test('parallel ensures write one block', async () => {
  const config = join(dir, 'parallel', '.ssh', 'config');
  await Promise.all(Array.from({ length: 8 }, () => ensureUserSshConfigBlock(config, INCLUDE)));
  assert.equal(await readFile(config, 'utf8'), BLOCK);
});
