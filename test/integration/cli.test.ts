import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { readFile } from 'node:fs/promises';
import { daemonPids, makeSandbox, REPO, type Sandbox } from '../helpers/sandbox.js';

describe('the banger CLI', () => {
  let sb: Sandbox;
  before(async () => {
    sb = await makeSandbox();
  });
  after(async () => {
    await sb.dispose();
  });

  test('--help lists every command group and examples, without starting the daemon', async () => {
    const r = await sb.cli(['--help']);
    assert.equal(r.exitCode, 0);
    const out = String(r.stdout);
    for (const group of ['vm', 'image', 'kernel', 'daemon', 'doctor', 'completion', 'version'])
      assert.match(out, new RegExp(`^ {2}${group}\\b`, 'm'));
    assert.doesNotMatch(out, /^ {2}internal\b/m, 'internal is hidden');
    assert.match(out, /Examples:/);
    assert.deepEqual(await daemonPids(sb.dir), []);
  });

  test('version and --version print the package version', async () => {
    const { version } = JSON.parse(await readFile(`${REPO}/package.json`, 'utf8')) as {
      version: string;
    };
    assert.equal(String((await sb.cli(['--version'])).stdout).trim(), version);
    assert.match(
      String((await sb.cli(['version'])).stdout),
      new RegExp(`^banger ${version.replaceAll('.', '\\.')} `),
    );
  });

  test('usage errors exit 2 with a one-line "banger:" message', async () => {
    const unknown = await sb.cli(['vm', 'frobnicate']);
    assert.equal(unknown.exitCode, 2);
    assert.match(String(unknown.stderr), /^banger: unknown command 'frobnicate'/);
    const flag = await sb.cli(['vm', 'ls', '--bogus']);
    assert.equal(flag.exitCode, 2);
    assert.match(String(flag.stderr), /unknown option '--bogus'/);
  });

  test('ls and rm aliases exist on list and delete commands', async () => {
    for (const args of [
      ['vm', 'ls', '--help'],
      ['image', 'ls', '--help'],
      ['kernel', 'ls', '--help'],
      ['vm', 'session', 'ls', '--help'],
      ['vm', 'rm', '--help'],
      ['image', 'rm', '--help'],
      ['kernel', 'rm', '--help'],
    ]) {
      const r = await sb.cli(args);
      assert.equal(r.exitCode, 0, args.join(' '));
    }
  });

  test('internal paths prints the layout derived from the XDG variables', async () => {
    const out = JSON.parse(String((await sb.cli(['internal', 'paths'])).stdout)) as {
      layout: Record<string, string>;
      names: Record<string, Record<string, string>>;
    };
    const paths = out.layout;
    assert.equal(out.names.VmFileName?.workDisk, 'work.ext4');
    assert.equal(paths.stateDir, `${sb.env.XDG_STATE_HOME}/banger`);
    assert.equal(paths.socket, `${sb.env.XDG_RUNTIME_DIR}/banger/bangerd.sock`);
    assert.equal(paths.configFile, `${sb.env.XDG_CONFIG_HOME}/banger/config.toml`);
  });
});
