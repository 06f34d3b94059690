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

// Ctrl-C during a golden build: the CLI asks the daemon to cancel it and returns only when
// the daemon has cleaned up, so the moment the prompt is back nothing is left behind — no
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
    assert.equal(result.exitCode, 130, stderr());
    assert.match(stderr(), /cancelling: .*Ctrl-C again to leave it to the daemon/);
    assert.match(stderr(), /banger: image build cancelled/);

    // No waiting from here on: what is left when the CLI returns is what a user would find.
    assert.deepEqual(await sandboxProcesses(sb.dir), [], 'still running');
    assert.deepEqual(await mountsUnder(sb.dir), [], 'still mounted');
    assert.deepEqual(await readdir(join(sb.layout.cacheDir, 'build')).catch(() => []), []);
    assert.deepEqual(await readdir(sb.layout.imagesDir), []);
    assert.deepEqual(await readdir(sb.layout.kernelsDir), []);
    const ls = await sb.cli(['image', 'ls', '--json']);
    assert.deepEqual(JSON.parse(String(ls.stdout)), []);
  } finally {
    await sb.dispose();
  }
});
