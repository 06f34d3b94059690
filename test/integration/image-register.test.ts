import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DaemonClient } from '../../src/client/client.js';
import { makeSandbox, type Sandbox } from '../helpers/sandbox.js';

// Images and kernels registered or imported from files, through the CLI and a real daemon.
describe('image register, kernel import and their guards', () => {
  let sb: Sandbox;
  let files: string;
  before(async () => {
    sb = await makeSandbox();
    files = join(sb.dir, 'files');
    await mkdir(join(files, 'kdir/boot'), { recursive: true });
    await mkdir(join(files, 'kdir/lib/modules/6.1.0-test/kernel'), { recursive: true });
    await execa('truncate', ['-s', '64M', join(files, 'root.ext4')]);
    await execa('mkfs.ext4', ['-q', '-F', join(files, 'root.ext4')]);
    await writeFile(join(files, 'not-ext4.img'), Buffer.alloc(4096));
    await writeFile(join(files, 'vmlinuz'), 'kernel bytes');
    await writeFile(join(files, 'initrd.img'), 'initrd bytes');
    await writeFile(join(files, 'kdir/boot/vmlinuz-6.1.0-test'), 'imported kernel');
    await writeFile(join(files, 'kdir/lib/modules/6.1.0-test/kernel/x.ko'), 'module');
  });
  after(async () => {
    await sb.dispose();
  });

  const ok = async (args: string[]) => {
    const r = await sb.cli(args);
    assert.equal(r.exitCode, 0, `${args.join(' ')}: ${String(r.stderr)}`);
    return String(r.stdout);
  };
  const fails = async (args: string[], message: RegExp, code = 1) => {
    const r = await sb.cli(args);
    assert.equal(r.exitCode, code, `${args.join(' ')}: ${String(r.stdout)}`);
    assert.match(String(r.stderr), message);
  };

  test('register in place with kernel files, then by kernel name', async () => {
    await ok([
      'image',
      'register',
      'alpha',
      '--rootfs',
      join(files, 'root.ext4'),
      '--kernel',
      join(files, 'vmlinuz'),
      '--initrd',
      join(files, 'initrd.img'),
    ]);
    await ok([
      'image',
      'register',
      'beta',
      '--rootfs',
      join(files, 'root.ext4'),
      '--kernel-ref',
      'alpha-kernel',
    ]);
    const images = JSON.parse(await ok(['image', 'ls', '--json'])) as {
      name: string;
      managed: boolean;
      kernel: string;
    }[];
    assert.deepEqual(
      images.map((i) => [i.name, i.managed, i.kernel]),
      [
        ['alpha', false, 'alpha-kernel'],
        ['beta', false, 'alpha-kernel'],
      ],
    );
    const show = JSON.parse(await ok(['image', 'show', 'alpha', '--json'])) as {
      rootfs: string;
      initrdFile: string;
    };
    assert.equal(show.rootfs, join(files, 'root.ext4'));
    assert.equal(show.initrdFile, join(files, 'initrd.img'));
  });

  test('bad registrations fail with the reason and change nothing', async () => {
    await fails(
      [
        'image',
        'register',
        'alpha',
        '--rootfs',
        join(files, 'root.ext4'),
        '--kernel-ref',
        'alpha-kernel',
      ],
      /image "alpha" already exists/,
    );
    await fails(
      [
        'image',
        'register',
        'gamma',
        '--rootfs',
        join(files, 'not-ext4.img'),
        '--kernel-ref',
        'alpha-kernel',
      ],
      /is not an ext4 file system image/,
    );
    await fails(
      [
        'image',
        'register',
        'gamma',
        '--rootfs',
        join(files, 'missing.ext4'),
        '--kernel-ref',
        'alpha-kernel',
      ],
      /rootfs .*missing\.ext4 is not a file/,
    );
    await fails(
      ['image', 'register', 'gamma', '--rootfs', join(files, 'root.ext4'), '--kernel-ref', 'nope'],
      /kernel "nope" not found/,
    );
    // The daemon checks the exclusion itself too, whoever the caller is.
    const client = await DaemonClient.connect(sb.layout, { autostart: false });
    try {
      await assert.rejects(
        client.call('image.register', {
          name: 'gamma',
          rootfs: join(files, 'root.ext4'),
          kernelRef: 'alpha-kernel',
          kernel: join(files, 'vmlinuz'),
        }),
        /mutually exclusive/,
      );
    } finally {
      client.close();
    }
    const names = (JSON.parse(await ok(['image', 'ls', '--json'])) as { name: string }[]).map(
      (i) => i.name,
    );
    assert.deepEqual(names, ['alpha', 'beta']);
  });

  test('kernel import copies kernel and modules; kernel rm is refused while an image uses it', async () => {
    await ok(['kernel', 'import', 'imported', '--from', join(files, 'kdir')]);
    const k = JSON.parse(await ok(['kernel', 'show', 'imported', '--json'])) as {
      version: string;
      kernel: string;
      modulesDir: string;
      dir: string;
    };
    assert.equal(k.version, '6.1.0-test');
    assert.ok(k.kernel.startsWith(sb.layout.kernelsDir));
    assert.ok((await stat(join(k.modulesDir, 'kernel/x.ko'))).isFile());
    await fails(
      ['kernel', 'import', 'imported', '--from', join(files, 'kdir')],
      /kernel "imported" already exists/,
    );

    await fails(
      ['kernel', 'rm', 'alpha-kernel'],
      /kernel "alpha-kernel" is used by images alpha, beta/,
    );
    await ok(['kernel', 'rm', 'imported']);
    await assert.rejects(stat(k.dir), /ENOENT/, 'a managed kernel takes its files with it');
  });

  test('image rm leaves registered files alone and drops an orphaned in-place kernel', async () => {
    await ok(['image', 'rm', 'alpha']);
    assert.ok((await stat(join(files, 'root.ext4'))).isFile());
    let kernels = (JSON.parse(await ok(['kernel', 'ls', '--json'])) as { name: string }[]).map(
      (x) => x.name,
    );
    assert.deepEqual(kernels, ['alpha-kernel'], 'still used by beta');
    await ok(['image', 'rm', 'beta']);
    kernels = (JSON.parse(await ok(['kernel', 'ls', '--json'])) as { name: string }[]).map(
      (x) => x.name,
    );
    assert.deepEqual(kernels, []);
    assert.ok((await stat(join(files, 'vmlinuz'))).isFile());
    await fails(['image', 'rm', 'beta'], /image "beta" not found/);
  });
});
