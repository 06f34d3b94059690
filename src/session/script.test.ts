import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SESSION_LOGGER } from './script.js';

// The session logger runs for real here (the host's perl), fed the way tmux's pipe-pane
// feeds it: a pipe.

const HALF = 64 * 1024;

/** Numbered lines, so a lost, doubled or reordered byte shows. */
function output(lines: number): Buffer {
  let text = '';
  for (let i = 0; i < lines; i++) text += `line ${String(i).padStart(7, '0')} of the session\n`;
  return Buffer.from(text);
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banger-logger-'));
  await writeFile(join(dir, 'logger'), SESSION_LOGGER);
});
after(() => rm(dir, { recursive: true, force: true }));

/** Feeds `chunks` into the logger (pausing between them when `pauseMs`); resolves at its exit. */
async function feed(
  name: string,
  chunks: Buffer[],
  opts: { pauseMs?: number } = {},
): Promise<{ log: Buffer; older: Buffer | undefined }> {
  const log = join(dir, `${name}.log`);
  const child = spawn('perl', [join(dir, 'logger'), log, String(HALF)], {
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  for (const chunk of chunks) {
    if (!child.stdin.write(chunk)) await new Promise((r) => child.stdin.once('drain', r));
    if (opts.pauseMs) await sleep(opts.pauseMs);
  }
  child.stdin.end();
  assert.equal(await exited, 0);
  const older = await readFile(`${log}.1`).catch(() => undefined);
  return { log: await readFile(log), older };
}

function assertNewestKept(all: Buffer, kept: { log: Buffer; older: Buffer | undefined }): void {
  const both = Buffer.concat([kept.older ?? Buffer.alloc(0), kept.log]);
  assert.ok(kept.log.length <= HALF, `output.log ${kept.log.length} bytes`);
  assert.ok((kept.older?.length ?? 0) <= HALF, `output.log.1 ${kept.older?.length} bytes`);
  assert.ok(both.length >= Math.min(all.length, HALF), `only ${both.length} bytes kept`);
  assert.ok(all.subarray(all.length - both.length).equals(both), 'not the newest output, in order');
}

describe('session logger', () => {
  test('a flood keeps the newest output, in order, at most twice half the bound', async () => {
    const all = output(40_000); // ~1.2 MB: many rotations
    const chunks = [];
    for (let at = 0; at < all.length; at += 10_000) chunks.push(all.subarray(at, at + 10_000));
    const kept = await feed('flood', chunks);
    assert.ok(kept.older, 'rotated');
    assert.equal(kept.older.length, HALF, 'a rotated file holds exactly half');
    assertNewestKept(all, kept);
  });

  test('output in trickles, under the bound, is all there, unrotated', async () => {
    const all = output(300);
    const chunks = [];
    for (let at = 0; at < all.length; at += 999) chunks.push(all.subarray(at, at + 999));
    const kept = await feed('trickle', chunks, { pauseMs: 5 });
    assert.equal(kept.older, undefined);
    assert.ok(kept.log.equals(all));
  });

  test('one write bigger than the room left is split at the rotation, not lost', async () => {
    const all = output(3000); // ~90 KB in one write: more than HALF
    const kept = await feed('one-write', [all]);
    assertNewestKept(all, kept);
    assert.equal(kept.older?.length, HALF);
    assert.equal(kept.log.length, all.length - HALF);
  });
});
