import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { realRunner } from './runner.js';
import { processesIn, removeWorkDir } from './work-dir.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banger-workdir-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** A process that keeps writing into `work` (as an orphaned mmdebstrap would) from `how`. */
function writer(work: string, how: 'cwd' | 'tmpdir' | 'args') {
  const script = 'while :; do echo x >> "${1:-$TMPDIR}/f" 2>/dev/null || :; sleep 0.05; done';
  return spawn('sh', ['-c', script, 'w', ...(how === 'args' ? [work] : [])], {
    cwd: how === 'cwd' ? work : tmpdir(),
    env: how === 'tmpdir' ? { TMPDIR: work, PATH: '/usr/bin:/bin' } : { PATH: '/usr/bin:/bin' },
    stdio: 'ignore',
  });
}

test('removeWorkDir stops the processes working in it first: none writes into it again', async () => {
  const work = join(dir, 'build');
  const others = join(dir, 'elsewhere');
  await mkdir(join(work, 'a'), { recursive: true });
  await mkdir(others, { recursive: true });
  const inside = [writer(join(work, 'a'), 'cwd'), writer(work, 'tmpdir'), writer(work, 'args')];
  const outside = writer(others, 'cwd');
  try {
    await new Promise((r) => setTimeout(r, 200));
    const found = await processesIn(work);
    for (const child of inside) assert.ok(found.includes(child.pid ?? 0), `${child.pid} found`);
    assert.equal(found.includes(outside.pid ?? 0), false, 'a process elsewhere is not');
    await removeWorkDir(work, realRunner);
    await new Promise((r) => setTimeout(r, 300));
    await assert.rejects(stat(work), { code: 'ENOENT' }, 'nothing wrote it back');
    assert.equal(outside.exitCode, null, 'the process elsewhere still runs');
  } finally {
    for (const child of [...inside, outside]) child.kill('SIGKILL');
  }
});
