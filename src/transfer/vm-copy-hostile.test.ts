// The host side of `vm cp GUEST:/guest/n DIR` fed the hostile archive corpus
// (test/helpers/hostile-archives.ts) as a guest could send it, over ssh and over the data port:
// the host's GNU tar unpacks into a staging dir that must end up holding the one entry asked
// for. Every archive is refused in one line, or taken with the harm left out; nothing outside
// the destination changes, and a refused copy leaves the destination as it was. The guest is
// a fixture: `ssh` runs `cat` on the archive, or nothing while a socket plays the data port.
import assert from 'node:assert/strict';
import { lstat, mkdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BangerError } from '../errors.js';
import { realRunner, type Runner } from '../system/runner.js';
import { FRAME_LENGTH } from './data-port.js';
import { copyOut } from './vm-copy.js';
import { HOSTILE, hostileTar, type HostileId } from '../../test/helpers/hostile-archives.js';
import {
  OWNED,
  VICTIM_TEXT,
  assertOutcome,
  sentinelBox,
  taken,
  type Box,
  type Outcome,
  hostileScratch,
} from '../../test/helpers/sentinel-box.js';
import { listTree } from '../../test/helpers/layers.js';
import { tarBytes, type TarMember } from '../../test/helpers/tar.js';

const tmp = hostileScratch('banger-cp-hostile-');
let n = 0;

const SOURCE = '/guest/n';
const target = {
  host: '127.0.0.1',
  port: 22,
  user: 'root',
  keyFile: '/nonexistent/key',
  controlPath: '/nonexistent/control',
  knownHostsFile: '/nonexistent/known_hosts',
  hostKeyAlias: 'hostile.vm',
};

/** What the guest sends next: over ssh from this file, over the port these bytes. */
let sending: { file: string; bytes: Buffer } = { file: '', bytes: Buffer.alloc(0) };

// The data port as a guest answers on it: the host's header, then the framed archive.
let port: Server;
let socketPath = '';
before(async () => {
  socketPath = join(tmp.dir, 'data.sock');
  port = createServer((socket) => {
    let head = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      if (head.length >= FRAME_LENGTH) return;
      head = Buffer.concat([head, chunk]);
      if (head.length < FRAME_LENGTH) return;
      const token = head.subarray('banger-data:'.length, FRAME_LENGTH).toString();
      const done = Buffer.from(`banger-done:${token}`);
      socket.end(Buffer.concat([Buffer.from(`banger-data:${token}`), sending.bytes, done]));
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => port.listen(socketPath, resolve));
});
after(() => new Promise<void>((resolve) => port.close(() => resolve())));

/** Every program real but ssh, whose guest script is `script` (sh, the archive as $1). */
const guest = (script: string): Runner => ({
  run: (file, args, options) => realRunner.run(file, args, options),
  stream: (file, args, options) =>
    file === 'ssh'
      ? realRunner.stream('sh', ['-c', script, 'guest', sending.file], options)
      : realRunner.stream(file, args, options),
});
const routes = {
  ssh: { runner: guest('exec cat "$1"'), dataSocket: undefined },
  'data port': { runner: guest('exit 0'), dataSocket: () => socketPath },
};

async function send(bytes: Buffer): Promise<void> {
  const file = join(tmp.dir, 'archives', `g${++n}.tar`);
  await writeFile(file, bytes);
  sending = { file, bytes };
}

function copy(box: Box, route: keyof typeof routes, signal = new AbortController().signal) {
  const { runner, dataSocket } = routes[route];
  return copyOut(SOURCE, box.stage, { target, runner, signal, dataSocket: dataSocket?.() });
}

const quote = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const tarSaid = (text: string) =>
  new RegExp(`^unpacking the guest's copy of /guest/n failed: ${text}$`);
const dotdot = (name: string) => tarSaid(`${quote(name)}: Member name contains '\\.\\.'`);
// GNU tar's quotes around a link target follow the locale.
const noLink = (name: string, to: string) =>
  tarSaid(`${quote(name)}: Cannot hard link to .${to}.: No such file or directory`);
const holds = (kind: string) =>
  new RegExp(
    `^the guest's copy of /guest/n holds "n/safe", a ${kind}: vm cp copies files, directories and symlinks only$`,
  );
const notDir = (name: string, op = 'open') =>
  tarSaid(`${quote(name)}: Cannot ${op}: Not a directory`);
const SENT_ABSOLUTE = /^the guest sent \["tmp"\] instead of "n"$/;
const EOF = tarSaid('Unexpected EOF in archive');

const expected: Record<HostileId, Outcome> = {
  dotdot: dotdot('n/../../outside/victim'),
  'dotdot-inner': dotdot('n/a/../../../outside/victim'),
  // GNU tar drops the leading "/": it lands inside, and is not the entry asked for.
  absolute: SENT_ABSOLUTE,
  // GNU tar makes a link whose target is absolute or climbs last, a plain file until then.
  'symlink-absolute': notDir('n/esc/victim'),
  'symlink-relative': notDir('n/esc/victim'),
  'symlink-deep': notDir('n/d/esc/victim'),
  'symlink-chain': notDir('n/b/victim'),
  'symlink-directory': notDir('n/esc/sub', 'mkdir'),
  'symlink-over-directory': tarSaid('n/d: Cannot open: File exists'),
  'hardlink-absolute': noLink('n/h', 'tmp/.*/outside/victim'),
  'hardlink-relative': noLink('n/h', 'outside/victim'),
  'hardlink-forward': noLink('n/h', 'n/later'),
  'hardlink-through-symlink': notDir('n/esc/victim', 'stat'),
  'hardlink-then-write': noLink('n/h', 'tmp/.*/outside/victim'),
  // bangerd may run as root: GNU tar would make these, so they are refused before publishing.
  'char-device': holds('character device'),
  'block-device': holds('block device'),
  fifo: holds('fifo'),
  // Owners are not kept (--no-same-owner): a setuid bit would name bangerd's user.
  setuid: taken(['n/', 'n/safe'], async (stage) => {
    assert.equal((await lstat(join(stage, 'n/safe'))).mode & 0o7777, 0o777);
  }),
  duplicate: taken(['n/', 'n/safe'], async (stage) => {
    assert.equal(await readFile(join(stage, 'n/safe'), 'utf8'), 'two');
  }),
  'file-then-directory': taken(['n/', 'n/f/', 'n/f/x']),
  'directory-then-file': tarSaid('n/d: Cannot open: File exists'),
  'newline-name': taken(['n/', 'n/evil\n"name']),
  'pax-path': dotdot('n/../../outside/victim'),
  // GNU tar ends the name at the NUL.
  'pax-nul-path': taken(['n/', 'n/safe']),
  'pax-linkpath': noLink('n/h', 'tmp/.*/outside/victim'),
  // Unlike tar-stream, GNU tar applies a global header's path.
  'pax-global-path': dotdot('../outside/victim'),
  'gnu-long-name': dotdot('n/../../outside/victim'),
  'gnu-long-link': noLink('n/h', 'tmp/.*/outside/victim'),
  'long-header-bomb': EOF,
  'size-overrun': EOF,
  'size-underrun': tarSaid('Skipping to next header'),
  'huge-declared': EOF,
  'pax-size-bogus': tarSaid('Extended header size=-1 is out of range 0..9223372036854775807'),
  'bad-checksum': tarSaid('This does not look like a tar archive'),
  // A cut inside a header block GNU tar takes as the end; the entry is whole, and harmless.
  'truncated-header': taken(['n/', 'n/first']),
  'truncated-body': EOF,
  'whiteout-empty': taken(['n/', 'n/.wh.']),
  'whiteout-dot': taken(['n/', 'n/d/', 'n/d/.wh..']),
  'whiteout-dotdot': dotdot('n/../../outside/.wh.victim'),
  'whiteout-absolute': SENT_ABSOLUTE,
  'whiteout-through-symlink': notDir('n/esc/.wh.victim'),
  'opaque-through-symlink': notDir('n/esc/.wh..wh..opq'),
};

// The port's trailer is only looked for after whole tar blocks: an archive cut elsewhere
// never ends, and the port closing says so.
const CUT_OFF = /^the data port stream ended early$/;
const overPort: Partial<Record<HostileId, Outcome>> = {
  'truncated-header': CUT_OFF,
  'truncated-body': CUT_OFF,
};

const NAMES =
  /^(unpacking the guest's copy of |the guest's copy of |the guest sent |the data port )/;

for (const route of Object.keys(routes) as (keyof typeof routes)[]) {
  for (const hostile of HOSTILE) {
    test(`${route}: ${hostile.id}, ${hostile.about}`, { timeout: 20_000 }, async () => {
      const box = await sentinelBox(join(tmp.dir, 'boxes'), `b${++n}`);
      await send(await hostileTar(hostile, box, { top: 'n' }));
      const outcome =
        (route === 'data port' ? overPort[hostile.id] : undefined) ?? expected[hostile.id];
      await assertOutcome(box, outcome, () => copy(box, route), { names: NAMES });
    });
  }
}

test('the data port route rides the port (the fixture ssh sends nothing)', async () => {
  const box = await sentinelBox(join(tmp.dir, 'boxes'), `b${++n}`);
  await send(await tarBytes([{ name: 'n', body: 'fine' }]));
  assert.deepEqual(await copy(box, 'data port'), { via: 'data port' });
  assert.equal(await readFile(join(box.stage, 'n'), 'utf8'), 'fine');
  await box.untouched();
});

test('a merge replaces the symlinks an earlier copy left, and never writes through them', async () => {
  const box = await sentinelBox(join(tmp.dir, 'boxes'), `b${++n}`);
  // What a first `vm cp` from this guest may have published: links to the host's files.
  await mkdir(join(box.stage, 'n'));
  await symlink(box.victim, join(box.stage, 'n/f'));
  await symlink(join(box.outside, 'dir'), join(box.stage, 'n/sub'));
  const second = async (members: TarMember[]) => {
    await send(await tarBytes([{ name: 'n/', type: 'directory', mode: 0o755 }, ...members]));
    return copy(box, 'ssh').then(
      () => undefined,
      (err: unknown) => err,
    );
  };

  assert.equal(await second([{ name: 'n/f', body: OWNED }]), undefined);
  await box.untouched();
  assert.equal(await readFile(box.victim, 'utf8'), VICTIM_TEXT);
  assert.ok((await lstat(join(box.stage, 'n/f'))).isFile(), 'the link was replaced');
  assert.equal(await readFile(join(box.stage, 'n/f'), 'utf8'), OWNED);

  const err = await second([
    { name: 'n/sub/', type: 'directory', mode: 0o755 },
    { name: 'n/sub/x', body: OWNED },
  ]);
  assert.ok(err instanceof BangerError, String(err));
  assert.match(err.message, /cannot overwrite non-directory .*n\/\.\/sub.* with directory/);
  await box.untouched();
  assert.equal(await readlink(join(box.stage, 'n/sub')), join(box.outside, 'dir'));
  assert.deepEqual(await listTree(box.stage), ['n/', 'n/f', 'n/sub ->']);
});

test('a guest still running when the host tar refuses: the refusal is told, not the kill', async () => {
  const box = await sentinelBox(join(tmp.dir, 'boxes'), `b${++n}`);
  await send(
    await hostileTar(
      HOSTILE.find((h) => h.id === 'dotdot')!,
      box,
      { top: 'n' },
    ),
  );
  // Its archive sent and its output closed, it lingers (ssh has not reported its exit yet).
  const runner = guest('cat "$1"; exec sleep 30 >/dev/null');
  const started = Date.now();
  await assertOutcome(
    box,
    expected.dotdot,
    () => copyOut(SOURCE, box.stage, { target, runner, signal: new AbortController().signal }),
    { names: NAMES },
  );
  assert.ok(Date.now() - started < 20_000, 'the guest was not waited for');
});
