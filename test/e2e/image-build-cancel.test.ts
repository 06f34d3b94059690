import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeSandbox, waitFor } from '../helpers/sandbox.js';

/** Processes (other than bangerd) whose environment points into the sandbox. */
async function sandboxProcesses(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(pid)) continue;
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
    if (!environ.includes(`XDG_STATE_HOME=${join(dir, 'state')}`)) continue;
    const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''))
      .replaceAll('\0', ' ')
      .trim();
    if (cmd && !cmd.includes('daemon/main.js')) found.push(`${pid} ${cmd.slice(0, 80)}`);
  }
  return found;
}

const mountsUnder = async (dir: string) =>
  (await readFile('/proc/self/mounts', 'utf8'))
    .split('\n')
    .filter((l) => l.split(' ')[1]?.startsWith(dir));

// Ctrl-C during a golden build: the daemon cancels it, and nothing is left behind — no
// mmdebstrap workers, no mounts inside its chroot, no staging, no scratch tree.
test('cancelling image build mid-way leaves no process, mount or file behind', async () => {
  const sb = await makeSandbox();
  try {
    const { child: build, stderr } = sb.spawn(['image', 'build']);
    // Wait for the worst moment: mmdebstrap's chroot has proc/sys/dev mounted.
    await waitFor(
      'mmdebstrap to mount inside its chroot',
      async () => (await mountsUnder(sb.dir)).length > 0,
      15 * 60_000,
    );
    assert.match(stderr(), /bootstrap: mmdebstrap/);
    build.kill('SIGINT');
    const result = await build;
    assert.notEqual(result.exitCode, 0);

    await waitFor(
      'the build processes to go',
      async () => (await sandboxProcesses(sb.dir)).length === 0,
      30_000,
    ).catch(async () =>
      assert.fail(`still running: ${(await sandboxProcesses(sb.dir)).join('; ')}`),
    );
    await waitFor(
      'the chroot mounts to go',
      async () => (await mountsUnder(sb.dir)).length === 0,
      30_000,
    ).catch(async () => assert.fail(`still mounted: ${(await mountsUnder(sb.dir)).join('; ')}`));
    await waitFor(
      'the scratch tree to go',
      async () => (await readdir(join(sb.layout.cacheDir, 'build')).catch(() => [])).length === 0,
      30_000,
    );
    assert.deepEqual(await readdir(sb.layout.imagesDir), []);
    assert.deepEqual(await readdir(sb.layout.kernelsDir), []);
    const ls = await sb.cli(['image', 'ls', '--json']);
    assert.deepEqual(JSON.parse(String(ls.stdout)), []);
  } finally {
    await sb.dispose();
  }
});
