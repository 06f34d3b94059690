import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SANDBOX_CONFIG, type Sandbox } from '../helpers/sandbox.js';
import { assertNoVmLeft, err, ok, out, vmSandbox } from '../helpers/vm.js';

// [[file_sync]] on a real VM: what the guest sees in /root after create.
describe('file_sync', () => {
  let sb: Sandbox;
  before(async () => {
    sb = await vmSandbox();
    const home = sb.env.HOME!;
    await mkdir(join(home, '.config', 'tool', 'nested dir'), { recursive: true });
    await writeFile(join(home, '.config', 'tool', 'settings.toml'), 'a = 1\n');
    await chmod(join(home, '.config', 'tool', 'settings.toml'), 0o640);
    await writeFile(join(home, '.config', 'tool', 'nested dir', 'run.sh'), '#!/bin/sh\necho hi\n');
    await chmod(join(home, '.config', 'tool', 'nested dir', 'run.sh'), 0o755);
    await writeFile(join(home, 'token'), 'secret-token\n');
    await mkdir(sb.layout.configDir, { recursive: true });
    await writeFile(
      sb.layout.configFile,
      [
        SANDBOX_CONFIG,
        '[[file_sync]]',
        'host = "~/token"',
        'guest = "~/.local/share/tool/token"',
        '',
        '[[file_sync]]',
        'host = "~/.config/tool"',
        'guest = "/root/.config/tool"',
        '',
        '[[file_sync]]',
        'host = "~/not-there"',
        'guest = "~/not-there"',
        '',
      ].join('\n'),
    );
    // The daemon reads config.toml when it starts: restart it to pick the entries up.
    ok(await sb.cli(['daemon', 'stop']));
  });
  after(() => sb?.dispose());

  test('a file (0600, root), a directory tree (modes kept), a missing path skipped with a warning', async () => {
    const show = [
      'cd /root',
      "stat -c '%a %U:%G %n' .local/share/tool/token .config/tool/settings.toml '.config/tool/nested dir/run.sh'",
      'cat .local/share/tool/token',
      "'.config/tool/nested dir/run.sh'",
      'test ! -e not-there && echo absent',
    ].join(' && ');
    const r = ok(
      await sb.cli(['vm', 'run', '--rm', '--', 'sh', '-c', show], { timeoutMs: 600_000 }),
    );
    assert.deepEqual(out(r).split('\n'), [
      '600 root:root .local/share/tool/token',
      '640 root:root .config/tool/settings.toml',
      '755 root:root .config/tool/nested dir/run.sh',
      'secret-token',
      'hi',
      'absent',
    ]);
    assert.match(err(r), /\] file sync: skipped ~\/not-there: not found on the host/);
    await assertNoVmLeft(sb);
  });
});
