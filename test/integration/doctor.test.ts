import assert from 'node:assert/strict';
import { execa } from 'execa';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, makeSandbox, type Sandbox } from '../helpers/sandbox.js';

describe('banger doctor', () => {
  let sb: Sandbox;
  before(async () => {
    sb = await makeSandbox();
  });
  after(async () => {
    await sb.dispose();
  });

  test('prints one line per check with a verdict, defaults provenance and the config path', async () => {
    const r = await sb.cli(['doctor']);
    const lines = String(r.stdout)
      .split('\n')
      .filter((l) => /^(ok|warn|fail)\s/.test(l));
    const names = lines.map((l) => l.split(/\s{2,}/)[1]);
    for (const name of [
      'node',
      'kvm',
      'qemu-system-x86_64',
      'qemu-img',
      'firecracker',
      'mkfs.ext4',
      'debugfs',
      'mmdebstrap',
      'busybox',
      'patchelf',
      'zstd',
      'ssh',
      'ssh-keygen',
      'git',
      'ip',
      'nft',
      '/dev/net/tun',
      'network modes',
      'name.vm',
      'device-mapper',
      'disk',
      'config',
      'vm defaults',
      'vmm',
      'image debian-bookworm',
    ])
      assert.ok(names.includes(name), `missing check ${name}: ${String(r.stdout)}`);
    const defaults = lines.find((l) => l.includes('vm defaults'))!;
    assert.match(
      defaults,
      /vcpu \d+ \((config|auto|builtin)\) · memory \d+ MiB \((config|auto|builtin)\) · disk \S+ \((config|auto|builtin)\)/,
    );
    assert.ok(defaults.includes(sb.layout.configFile));
    // The exit code follows the worst verdict: 1 only when a check failed.
    assert.equal(r.exitCode, lines.some((l) => l.startsWith('fail')) ? 1 : 0);
  });

  test('--fix installs the missing packages with apt-get and prints exactly what it runs', async () => {
    // PATH holds only node and a recording apt-get, so the /usr/bin tools look missing
    // (sbin, where mkfs.ext4, debugfs and ip live, is always searched).
    const bin = join(sb.dir, 'fixbin');
    await mkdir(bin, { recursive: true });
    const log = join(sb.dir, 'apt-get.log');
    await writeFile(
      join(bin, 'apt-get'),
      `#!/bin/sh\necho "$*" >> ${log}\necho "apt-get ran: $*"\n`,
    );
    await chmod(join(bin, 'apt-get'), 0o755);
    const r = await execa(process.execPath, [CLI, 'doctor', '--fix'], {
      env: { ...sb.env, PATH: bin },
      extendEnv: false,
      reject: false,
    });
    const out = r.stdout;
    const install = /^\+ apt-get install -y --no-install-recommends (.+)$/m.exec(out);
    assert.ok(install, out);
    const packages = install[1]!.split(' ');
    for (const p of ['qemu-system-x86', 'qemu-utils', 'patchelf', 'zstd', 'openssh-client', 'git'])
      assert.ok(packages.includes(p), p);
    assert.equal(new Set(packages).size, packages.length, 'each package once');
    assert.match(out, /^\+ apt-get update$/m);
    assert.deepEqual((await readFile(log, 'utf8')).trim().split('\n'), [
      'update',
      `install -y --no-install-recommends ${install[1]}`,
    ]);
    assert.match(out, /apt-get ran: update/);
    // The fake installed nothing, so the re-check still fails.
    assert.equal(r.exitCode, 1);
  });
});
