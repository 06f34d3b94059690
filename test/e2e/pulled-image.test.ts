// A pulled image boots: a busybox-only OCI image (no init, no sshd, no glibc) pushed to a
// real registry on 127.0.0.1, pulled, and run with banger's guest kit, through the real CLI.
import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { guestKit } from '../helpers/kit.js';
import { busyboxBin, pushImage, startRegistry, type TestRegistry } from '../helpers/registry.js';
import type { Sandbox } from '../helpers/sandbox.js';
import { assertNoVmLeft, err, ok, out, vmSandbox } from '../helpers/vm.js';

const BOOT = { timeoutMs: 600_000 };
const APPLETS = ['sh', 'cat', 'echo', 'hostname', 'ls', 'uname', 'sync', 'sleep', 'id'];

describe('a pulled image without init or sshd boots with the guest kit', () => {
  let sb: Sandbox;
  let reg: TestRegistry;
  let ref: string;

  before(async () => {
    sb = await vmSandbox();
    reg = await startRegistry();
    // The image: Debian's static busybox and its applet links, a passwd, nothing else.
    ({ ref } = await pushImage(reg, join(sb.dir, 'layout'), 'tiny/busybox', '1', {
      layers: [
        {
          compression: 'gzip',
          members: [
            ...(await busyboxBin(APPLETS)),
            { name: 'etc/', type: 'directory', mode: 0o755 },
            { name: 'etc/passwd', body: 'root:x:0:0:root:/root:/bin/sh\n' },
            { name: 'etc/group', body: 'root:x:0:\n' },
            { name: 'etc/os-release', body: 'ID=bbtest\n' },
            { name: 'tmp/', type: 'directory', mode: 0o1777 },
          ],
        },
      ],
    }));
    // The kit is built once per test run (test/helpers/kit.ts); the daemon finds it here.
    await copyFile((await guestKit()).outFile, sb.layout.guestKit);
  });
  after(async () => {
    await reg?.dispose();
    await sb?.dispose();
  });

  test('vm run --rm --image REF: pulled on first use, the command runs, nothing left', async () => {
    const r = await sb.cli(
      [
        ...['vm', 'run', '--rm', '--image', ref, '--'],
        ...['sh', '-c', 'cat /etc/os-release; hostname; id -u; which tar git tmux; exit 3'],
      ],
      BOOT,
    );
    assert.equal(r.exitCode, 3, err(r));
    assert.match(err(r), /\] resolve: /);
    const lines = out(r).split('\n');
    assert.equal(lines[0], 'ID=bbtest');
    assert.match(lines[1] ?? '', /^[a-z]+-[a-z]+$/, 'the VM name as hostname');
    assert.equal(lines[2], '0');
    assert.deepEqual(lines.slice(3, 6), [
      '/run/banger-kit/bin/tar',
      '/run/banger-kit/bin/git',
      '/run/banger-kit/bin/tmux',
    ]);
    await assertNoVmLeft(sb);
    // The image was pulled under its derived name and is reused by the next run.
    assert.match(out(await sb.cli(['image', 'ls'])), /^busybox-1\s/m);
  });

  test('a VM from it stops quickly and starts again with its work disk', async () => {
    ok(await sb.cli(['vm', 'create', '--name', 'tiny', '--image', ref], BOOT), 'vm create');
    ok(await sb.cli(['vm', 'ssh', 'tiny', '--', 'sh', '-c', 'echo kept > /root/note']));
    ok(await sb.cli(['vm', 'stop', 'tiny'], BOOT), 'vm stop');
    ok(await sb.cli(['vm', 'start', 'tiny'], BOOT), 'vm start');
    assert.equal(out(ok(await sb.cli(['vm', 'ssh', 'tiny', '--', 'cat', '/root/note']))), 'kept');
    ok(await sb.cli(['vm', 'rm', 'tiny']));
    await assertNoVmLeft(sb);
  });
});
