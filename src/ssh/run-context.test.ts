import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { remoteCommand } from './options.js';
import { contextPrefix, sessionRunScript, type RunContext } from './run-context.js';

const ctx: RunContext = {
  env: ['PATH=/opt/x/bin:/usr/bin:/bin', "GREETING=it's a b", 'not a name=1', 'LANG=C.UTF-8'],
  workingDir: '/srv/app dir',
};

/** What the host's sh makes of a prelude + command: its cwd and two variables. */
async function runLocally(text: string): Promise<string> {
  const r = await execa('sh', ['-c', text], { reject: false, env: { PATH: '/usr/bin:/bin' } });
  return `${r.exitCode}:${r.stdout}`;
}

test('no context and no directory: nothing before the command', () => {
  assert.deepEqual(contextPrefix(undefined, undefined), { prelude: '', runAs: '' });
  assert.deepEqual(contextPrefix({ env: [] }, undefined), { prelude: '', runAs: '' });
});

test("the prelude enters the directory and exports the image's Env, quoted for sh", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'banger-ctx-'));
  try {
    const work = join(dir, 'app dir');
    await execa('mkdir', [work]);
    const { prelude, runAs } = contextPrefix({ ...ctx, workingDir: work }, undefined);
    assert.equal(runAs, '');
    assert.doesNotMatch(prelude, /not a name/);
    const probe = remoteCommand(['sh', '-c', 'echo "$PWD|$GREETING|$LANG|$PATH"']);
    assert.equal(
      await runLocally(`${prelude}${probe}`),
      `0:${work}|it's a b|C.UTF-8|/opt/x/bin:/usr/bin:/bin`,
    );
    // A given directory (the workspace) wins over the image's WorkingDir.
    const inDir = contextPrefix({ ...ctx, workingDir: work }, dir).prelude;
    assert.equal(await runLocally(`${inDir}pwd`), `0:${dir}`);
    // A WorkingDir that does not exist stops the command, with cd's complaint.
    const missing = contextPrefix({ env: [], workingDir: join(dir, 'nope') }, undefined).prelude;
    assert.match(await runLocally(`${missing}echo ran`), /^[12]:$/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the run-as prefix comes before the command, quoted', () => {
  const { runAs } = contextPrefix({ env: [], runAs: ['/k/banger-as', 'app user'] }, undefined);
  assert.equal(runAs, "/k/banger-as 'app user' ");
});

test('a session script: the workspace, else the WorkingDir, else /root; then env and user', async () => {
  assert.equal(
    sessionRunScript('make test', undefined),
    'cd /root/repo 2>/dev/null || cd /root\nexec make test\n',
  );
  const script = sessionRunScript('npm start', { ...ctx, runAs: ['/k/as', 'node'] });
  const lines = script.split('\n');
  assert.equal(lines[0], "cd /root/repo 2>/dev/null || cd '/srv/app dir' 2>/dev/null || cd /root");
  assert.match(lines[1]!, /^export PATH=\/opt\/x\/bin:\/usr\/bin:\/bin 'GREETING=it'\\''s a b' /);
  assert.equal(lines[2], 'exec /k/as node npm start');
  // It runs: with no /root/repo here, the working directory is the fallback.
  const dir = await mkdtemp(join(tmpdir(), 'banger-ctx-'));
  try {
    const text = sessionRunScript('printenv GREETING', { env: ["GREETING=it's"], workingDir: dir });
    assert.equal(await runLocally(text.replace('/root/repo', join(dir, 'none'))), "0:it's");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
