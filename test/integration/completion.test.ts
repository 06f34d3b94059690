import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdir, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { CLI, daemonPids, makeSandbox, type Sandbox } from '../helpers/sandbox.js';

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

describe('shell completion', () => {
  let sb: Sandbox;
  before(async () => {
    sb = await makeSandbox();
  });
  after(async () => {
    await sb.dispose();
  });

  for (const shell of ['bash', 'zsh', 'fish']) {
    test(`completion ${shell} prints a script that calls back "banger complete --"`, async () => {
      const r = await sb.cli(['completion', shell]);
      assert.equal(r.exitCode, 0, String(r.stderr));
      const script = String(r.stdout);
      assert.ok(script.length > 200);
      assert.match(script, /banger complete --/);
      if (shell === 'bash') assert.match(script, /complete -F \S+ banger/);
      if (shell === 'zsh') assert.match(script, /#compdef banger/);
      if (shell === 'fish') assert.match(script, /complete -c banger/);
    });
  }

  test('an unknown shell is a usage error', async () => {
    const r = await sb.cli(['completion', 'tcsh']);
    assert.equal(r.exitCode, 2);
    assert.match(String(r.stderr), /unsupported shell "tcsh"/);
  });

  test('without a daemon: subcommands complete, no names, and no daemon is started', async () => {
    const groups = await sb.cli(['complete', '--', 'vm', '']);
    assert.equal(groups.exitCode, 0);
    const words = String(groups.stdout)
      .split('\n')
      .map((l) => l.split('\t')[0]);
    for (const verb of ['run', 'create', 'start', 'stop', 'list', 'ssh', 'session', 'workspace'])
      assert.ok(words.includes(verb), verb);

    const names = await sb.cli(['complete', '--', 'vm', 'start', '']);
    assert.equal(names.exitCode, 0);
    assert.deepEqual(String(names.stdout).trim().split('\n'), [':4']);
    assert.equal(await exists(sb.layout.socket), false);
    assert.deepEqual(await daemonPids(sb.dir), []);
  });

  test('with a daemon: VM names come from it, minus those already typed', async () => {
    assert.equal((await sb.cli(['daemon', 'start'])).exitCode, 0);
    seedVms(sb.layout.database, ['blue-fox', 'red-owl']);
    const r = await sb.cli(['complete', '--', 'vm', 'stop', '']);
    assert.deepEqual(candidates(String(r.stdout)), ['blue-fox', 'red-owl']);
    const variadic = await sb.cli(['complete', '--', 'vm', 'stop', 'blue-fox', '']);
    assert.deepEqual(candidates(String(variadic.stdout)), ['red-owl']);
    const prefix = await sb.cli(['complete', '--', 'vm', 'rm', 're']);
    assert.deepEqual(
      candidates(String(prefix.stdout)),
      ['red-owl'],
      'aliases resolve to their command',
    );
  });

  test('bash really completes "banger vm start <TAB>" through the generated script', async () => {
    const bin = join(sb.dir, 'bin');
    await mkdir(bin, { recursive: true });
    await symlink(CLI, join(bin, 'banger')).catch(() => undefined);
    const script = String((await sb.cli(['completion', 'bash'])).stdout);
    const fn = /complete -F (\S+) banger/.exec(script)?.[1];
    assert.ok(fn);
    // The generated script relies on bash-completion's _get_comp_words_by_ref, as users' shells do.
    const driver = `source /usr/share/bash-completion/bash_completion
${script}
COMP_WORDS=(banger vm start "")
COMP_CWORD=3
COMP_LINE="banger vm start "
COMP_POINT=\${#COMP_LINE}
${fn} banger "" start 2>/dev/null
printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = await execa('bash', ['-c', driver], {
      env: { ...sb.env, PATH: `${bin}:${sb.env.PATH}` },
      extendEnv: false,
      reject: false,
    });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n').filter(Boolean).sort(), ['blue-fox', 'red-owl']);
  });
});

function candidates(out: string): string[] {
  return out
    .split('\n')
    .filter((l) => l && !l.startsWith(':'))
    .map((l) => l.split('\t')[0]!)
    .sort();
}

/** The test writes rows straight into the daemon's store (WAL lets it) to have names to complete. */
function seedVms(path: string, names: string[]): void {
  const db = new Database(path);
  const now = new Date().toISOString();
  db.prepare(
    `INSERT OR IGNORE INTO images (id, name, dir, rootfs_file, created_at) VALUES ('i1', 'img', '/i', '/i/r', ?)`,
  ).run(now);
  for (const name of names)
    db.prepare(
      `INSERT OR IGNORE INTO vms (id, name, image_id, state, vcpu, memory_mib, disk_bytes, dir, created_at, updated_at)
       VALUES (?, ?, 'i1', 'stopped', 2, 1024, 1, '/v', ?, ?)`,
    ).run(`id-${name}`, name, now, now);
  db.close();
}
