// Pulled images as users bring them, through the real CLI on real VMs: a three-layer musl
// image whose config sets Env, WorkingDir and User (commands and sessions run as it says,
// whiteouts applied, the kernel's modules there), and a Debian image made by mmdebstrap
// (a workspace import over the data port, a session). The musl image also warm-starts and
// forks: the kit carries the perl the identity hook needs.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { debianPackagesTarball, debianTarball } from '../helpers/debian-tarball.js';
import { guestKit } from '../helpers/kit.js';
import { busyboxBin, pushImage, startRegistry, type TestRegistry } from '../helpers/registry.js';
import type { Sandbox } from '../helpers/sandbox.js';
import { assertNoVmLeft, err, ok, out, vmSandbox } from '../helpers/vm.js';

const BOOT = { timeoutMs: 600_000 };
const APPLETS = ['sh', 'cat', 'echo', 'id', 'ls', 'find', 'sort', 'head', 'grep', 'sleep', 'sync'];

describe('pulled images: musl with a run context and layers, Debian with a workspace', () => {
  let sb: Sandbox;
  let reg: TestRegistry;
  /** The musl image's reference, pushed by the first test. */
  let muslRef = '';

  before(async () => {
    sb = await vmSandbox();
    reg = await startRegistry();
    await copyFile((await guestKit()).outFile, sb.layout.guestKit);
  });
  after(async () => {
    await reg?.dispose();
    await sb?.dispose();
  });

  /** busybox + Debian's musl, /data changed by two upper layers, run as user "app" in /srv. */
  async function pushMuslImage(): Promise<string> {
    const dir = (name: string, mode = 0o755, uid = 0) => ({
      name,
      type: 'directory' as const,
      mode,
      uid,
      gid: uid,
    });
    const file = (name: string, body: string | Buffer, mode = 0o644) => ({ name, body, mode });
    const { ref } = await pushImage(reg, join(sb.dir, 'musl-layout'), 'team/musl', '1', {
      config: {
        Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'GREETING=hello from the image'],
        WorkingDir: '/srv',
        User: 'app',
      },
      layers: [
        {
          compression: 'gzip',
          members: [
            ...(await busyboxBin(APPLETS)),
            dir('etc/'),
            file(
              'etc/passwd',
              'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n',
            ),
            file('etc/group', 'root:x:0:\napp:x:1000:\n'),
            dir('home/'),
            dir('home/app/', 0o755, 1000),
            dir('srv/', 0o777),
            dir('tmp/', 0o1777),
            dir('data/'),
            file('data/keep', 'keep\n'),
            file('data/gone', 'gone\n'),
            dir('data/dir/'),
            file('data/dir/old', 'old\n'),
          ],
        },
        {
          compression: 'zstd',
          members: [
            file('data/.wh.gone', ''),
            file('data/dir/.wh..wh..opq', ''),
            file('data/dir/new', 'new\n'),
          ],
        },
        { compression: 'none', tar: await readFile(await debianPackagesTarball(['musl'])) },
      ],
    });
    return ref;
  }

  test('a musl image: Env, WorkingDir and User apply to vm run and sessions; layers; modules', async () => {
    const ref = (muslRef = await pushMuslImage());
    const r = await sb.cli(
      [
        ...['vm', 'run', '--rm', '--image', ref, '--'],
        ...[
          'sh',
          '-c',
          'echo "$PWD|$GREETING|$(id -u):$(id -g)|$HOME"; find /data | sort; /lib/ld-musl-x86_64.so.1 2>&1 | head -n 1',
        ],
      ],
      BOOT,
    );
    assert.equal(r.exitCode, 0, err(r));
    assert.deepEqual(out(r).split('\n'), [
      '/srv|hello from the image|1000:1000|/home/app',
      '/data',
      '/data/dir',
      '/data/dir/new',
      '/data/keep',
      'musl libc (x86_64)',
    ]);
    await assertNoVmLeft(sb);

    ok(await sb.cli(['vm', 'create', '--name', 'm', '--image', ref], BOOT), 'vm create');
    // vm ssh is ssh: root, where banger's kit and the kernel's modules are at hand.
    const modules = await sb.cli([
      ...['vm', 'ssh', 'm', '--'],
      ...['sh', '-c', 'modprobe virtio_console && lsmod | grep -c ^virtio_console; id -u'],
    ]);
    assert.equal(out(ok(modules)), '1\n0');
    ok(
      await sb.cli([
        'vm',
        'session',
        'start',
        'm',
        'who',
        '--',
        'sh',
        '-c',
        'echo "$PWD $(id -u) $GREETING"',
      ]),
    );
    let logs = '';
    for (let i = 0; i < 100 && !logs.includes('hello'); i++) {
      await new Promise((r) => setTimeout(r, 300));
      logs = out(ok(await sb.cli(['vm', 'session', 'logs', 'm', 'who'])));
    }
    assert.match(logs, /^\/srv 1000 hello from the image\r?$/m);
    ok(await sb.cli(['vm', 'rm', 'm']));
    await assertNoVmLeft(sb);
  });

  test('a pulled image warm-starts (each VM its own identity) and forks: the kit brings the hook', async () => {
    assert.ok(muslRef, 'the musl image was pushed');
    const image = 'musl-1'; // pulled by the first test's vm run
    const warm = ok(await sb.cli(['image', 'warm', image], BOOT));
    assert.match(out(warm), new RegExp(`^${image}: warm for .* \\(template [0-9a-f]{16}\\)$`, 'm'));
    const identity = async (name: string) => {
      const r = await sb.cli(
        [
          ...['vm', 'run', '--rm', '--name', name, '--image', image, '--'],
          ...['cat', '/proc/sys/kernel/hostname', '/etc/machine-id'],
          '/proc/sys/kernel/random/boot_id',
        ],
        BOOT,
      );
      assert.equal(r.exitCode, 0, err(r));
      assert.match(err(r), /· warm$/m);
      return out(r).split('\n');
    };
    const [one, two] = [await identity('w-one'), await identity('w-two')];
    assert.equal(one[0], 'w-one');
    assert.equal(two[0], 'w-two');
    assert.notEqual(one[1], two[1], 'machine-id');
    assert.notEqual(one[2], two[2], 'boot_id');
    await assertNoVmLeft(sb);

    ok(await sb.cli(['vm', 'create', '--name', 'mp', '--image', image], BOOT), 'vm create');
    ok(await sb.cli(['vm', 'ssh', 'mp', '--', 'sh', '-c', 'echo before > /root/f']));
    ok(await sb.cli(['vm', 'fork', 'mp', '--name', 'mc'], BOOT), 'vm fork');
    ok(await sb.cli(['vm', 'ssh', 'mp', '--', 'sh', '-c', 'echo after > /root/f']));
    const child = ok(
      await sb.cli(['vm', 'ssh', 'mc', '--', 'cat', '/root/f', '/proc/sys/kernel/hostname']),
    );
    assert.deepEqual(out(child).split('\n'), ['before', 'mc']);
    const key = async (name: string) =>
      out(
        ok(
          await sb.cli(['vm', 'ssh', name, '--', 'cat', '/root/.banger/ssh_host_ed25519_key.pub']),
        ),
      );
    assert.notEqual(await key('mc'), await key('mp'), 'the child has its own host key');
    ok(await sb.cli(['vm', 'rm', 'mc', 'mp']));
    ok(await sb.cli(['image', 'warm', image, '--rm']));
    await assertNoVmLeft(sb);
  });

  test('a Debian image from mmdebstrap: a workspace over the data port and a session', async () => {
    const layout = join(sb.dir, 'debian-layout');
    const umoci = (...args: string[]) => execa('umoci', args);
    await umoci('init', '--layout', layout);
    await umoci('new', '--image', `${layout}:12`);
    await umoci('raw', 'add-layer', '--image', `${layout}:12`, await debianTarball());
    await umoci('config', '--image', `${layout}:12`, '--config.env', 'LANG=C.UTF-8');
    await reg.push(layout, '12', 'team/debian');
    const ref = `${reg.host}/team/debian:12`;
    ok(await sb.cli(['image', 'pull', ref], BOOT), 'image pull');

    const repo = join(sb.dir, 'repo');
    await mkdir(repo);
    const git = (...args: string[]) => execa('git', ['-C', repo, ...args]);
    await git('init', '-q', '-b', 'main');
    await writeFile(join(repo, 'hello.txt'), 'hello\n');
    await git('add', '-A');
    await git('-c', 'user.email=t@example.invalid', '-c', 'user.name=t', 'commit', '-qm', 'one');
    const r = await sb.cli(
      [
        ...['vm', 'run', '--rm', repo, '--image', 'debian-12', '--'],
        ...[
          'sh',
          '-c',
          'cat /etc/debian_version >/dev/null && echo "$PWD $LANG" && cat hello.txt && git log --format=%s',
        ],
      ],
      BOOT,
    );
    assert.equal(r.exitCode, 0, err(r));
    assert.match(err(r), /files over the data port/);
    assert.equal(out(r), '/root/repo C.UTF-8\nhello\none');
    await assertNoVmLeft(sb);

    ok(await sb.cli(['vm', 'create', '--name', 'deb', '--image', 'debian-12'], BOOT), 'vm create');
    ok(
      await sb.cli([
        'vm',
        'session',
        'start',
        'deb',
        's',
        '--',
        'sh',
        '-c',
        'echo "on $(cat /etc/os-release | grep ^ID=)"',
      ]),
    );
    let logs = '';
    for (let i = 0; i < 100 && !logs.includes('on '); i++) {
      await new Promise((r) => setTimeout(r, 300));
      logs = out(ok(await sb.cli(['vm', 'session', 'logs', 'deb', 's'])));
    }
    assert.match(logs, /^on ID=debian\r?$/m);
    ok(await sb.cli(['vm', 'rm', 'deb']));
    await assertNoVmLeft(sb);
  });
});
