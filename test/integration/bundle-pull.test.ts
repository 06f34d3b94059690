import assert from 'node:assert/strict';
import { execa } from 'execa';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tar from 'tar-stream';
import { sha256File } from '../../src/system/sha256.js';
import { makeSandbox, SANDBOX_CONFIG, type Sandbox } from '../helpers/sandbox.js';

/** A tiny rootfs tar: enough for make-bundle's guest-asset step and an ownership check. */
async function rootfsTar(path: string): Promise<void> {
  const pack = tar.pack();
  const { createWriteStream } = await import('node:fs');
  const { pipeline } = await import('node:stream/promises');
  const done = pipeline(pack, createWriteStream(path));
  const dir = (name: string) =>
    pack.entry({ name, type: 'directory', mode: 0o755, uid: 0, gid: 0 });
  const file = (name: string, body: string, mode = 0o644, uid = 0) =>
    pack.entry({ name, mode, uid, gid: 0 }, body);
  for (const d of [
    './',
    './etc/',
    './etc/ssh/',
    './etc/pam.d/',
    './usr/',
    './usr/bin/',
    './var/',
    './var/lib/',
  ])
    dir(d);
  file('./etc/shadow', 'root:*:20000:0:99999:7:::\n', 0o640);
  file('./etc/ssh/ssh_host_ed25519_key', 'must not ship', 0o600);
  file('./usr/bin/sudo', '#!/bin/sh\n', 0o4755);
  pack.finalize();
  await done;
}

describe('bundles: make-bundle → catalog → image pull, export, kernel pull', () => {
  let sb: Sandbox;
  let files: string;
  let server: Server;
  let base: string;

  before(async () => {
    sb = await makeSandbox();
    files = join(sb.dir, 'files');
    await mkdir(join(files, 'kernel/boot'), { recursive: true });
    await rootfsTar(join(files, 'rootfs.tar'));
    await writeFile(join(files, 'kernel/boot/vmlinuz-6.1.0-test'), 'a kernel');
    // A kernel tarball for the kernel catalog: vmlinux + modules (with an absolute symlink).
    await mkdir(join(files, 'ktar/lib/modules/6.1.0-k/kernel'), { recursive: true });
    await writeFile(join(files, 'ktar/vmlinux'), 'pulled kernel');
    await writeFile(join(files, 'ktar/lib/modules/6.1.0-k/kernel/x.ko'), 'module');
    await execa('ln', [
      '-s',
      '/usr/src/linux-6.1.0-k',
      join(files, 'ktar/lib/modules/6.1.0-k/build'),
    ]);
    await execa('sh', [
      '-c',
      `tar -C ${join(files, 'ktar')} -c . | zstd -q -c > ${join(files, 'k.tar.zst')}`,
    ]);
    server = createServer((req, res) => {
      const path = join(files, (req.url ?? '/').replace(/^\/+/, ''));
      stat(path).then(
        (s) => {
          res.writeHead(200, { 'content-length': s.size });
          createReadStream(path).pipe(res);
        },
        () => res.writeHead(404).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  after(async () => {
    await sb.dispose();
    await new Promise((resolve) => server.close(resolve));
  });

  const ok = async (args: string[]) => {
    const r = await sb.cli(args, { timeoutMs: 120_000 });
    assert.equal(r.exitCode, 0, `${args.join(' ')}: ${String(r.stderr)}`);
    return String(r.stdout);
  };
  const field = (out: string, key: string) =>
    new RegExp(`^${key}:\\s+(\\S+)$`, 'm').exec(out)?.[1] ?? '';

  test('a bundle made here is pulled through a catalog with an identical rootfs', async () => {
    const made = await ok([
      'internal',
      'make-bundle',
      '--rootfs-tar',
      join(files, 'rootfs.tar'),
      '--name',
      'tiny',
      '--distro',
      'test',
      '--kernel-ref',
      'tiny-kernel',
      '--size',
      '64M',
      '--out',
      join(files, 'tiny.tar.zst'),
    ]);
    const sha = field(made, 'sha256');
    const size = Number(field(made, 'size'));
    assert.match(sha, /^[0-9a-f]{64}$/);
    assert.equal(size, (await stat(join(files, 'tiny.tar.zst'))).size);

    // The rootfs inside the bundle, for comparison with what pull publishes.
    await mkdir(join(files, 'unpacked'), { recursive: true });
    await execa('sh', [
      '-c',
      `zstd -dc ${join(files, 'tiny.tar.zst')} | tar -x -C ${join(files, 'unpacked')}`,
    ]);
    const rootfsSha = await sha256File(join(files, 'unpacked/rootfs.ext4'));
    const { stdout: sudo } = await execa('debugfs', [
      '-R',
      'stat /usr/bin/sudo',
      join(files, 'unpacked/rootfs.ext4'),
    ]);
    assert.match(sudo, /Mode:\s+04755/);
    const { stdout: keys } = await execa('debugfs', [
      '-R',
      'ls /etc/ssh',
      join(files, 'unpacked/rootfs.ext4'),
    ]);
    assert.doesNotMatch(keys, /ssh_host_ed25519_key/);

    const catalog = {
      version: 1,
      entries: [
        {
          name: 'tiny',
          distro: 'test',
          tarball_url: `${base}/tiny.tar.zst`,
          tarball_sha256: sha,
          size_bytes: size,
        },
        {
          name: 'tampered',
          tarball_url: `${base}/tiny.tar.zst`,
          tarball_sha256: '0'.repeat(64),
          kernel_ref: 'tiny-kernel',
        },
      ],
    };
    await writeFile(join(files, 'images.json'), JSON.stringify(catalog));
    await mkdir(sb.layout.configDir, { recursive: true });
    const kernelSha = await sha256File(join(files, 'k.tar.zst'));
    const kernelEntry = {
      name: 'pulled-61',
      kernel_version: '6.1.0-k',
      tarball_url: `${base}/k.tar.zst`,
      tarball_sha256: kernelSha,
    };
    await writeFile(
      join(files, 'kernels.json'),
      JSON.stringify({ version: 1, entries: [kernelEntry] }),
    );
    await writeFile(
      sb.layout.configFile,
      `${SANDBOX_CONFIG}[catalog]\nimages = ["${join(files, 'images.json')}"]\nkernels = ["${join(files, 'kernels.json')}"]\n`,
    );
    await ok(['kernel', 'import', 'tiny-kernel', '--from', join(files, 'kernel')]);

    const pulled = await sb.cli(['image', 'pull', 'tiny']);
    assert.equal(pulled.exitCode, 0, String(pulled.stderr));
    assert.match(String(pulled.stderr), /download: /);
    const show = JSON.parse(await ok(['image', 'show', 'tiny', '--json'])) as {
      rootfs: string;
      kernel: string;
      distro: string;
    };
    assert.equal(show.kernel, 'tiny-kernel', "the manifest's kernel_ref");
    assert.equal(show.distro, 'test');
    assert.equal(await sha256File(show.rootfs), rootfsSha);
  });

  test('a sha256 mismatch publishes nothing and leaves no staging behind', async () => {
    const r = await sb.cli(['image', 'pull', 'tampered']);
    assert.equal(r.exitCode, 1);
    assert.match(String(r.stderr), /sha256 mismatch/);
    const names = (JSON.parse(await ok(['image', 'ls', '--json'])) as { name: string }[]).map(
      (i) => i.name,
    );
    assert.deepEqual(names, ['tiny']);
    assert.deepEqual(
      (await readdir(sb.layout.imagesDir)).filter((n) => n.endsWith('.staging')),
      [],
    );
    const missing = await sb.cli(['image', 'pull', 'nowhere']);
    assert.equal(missing.exitCode, 1);
    // A catalog miss falls through to the default registry (here a closed loopback port).
    assert.match(
      String(missing.stderr),
      /image "nowhere" is in no catalog, and registry 127\.0\.0\.1:1 .* is unreachable/,
    );
  });

  test('image export packs a local image as a bundle with the same rootfs', async () => {
    const out = await ok(['image', 'export', 'tiny', '--out', join(files, 'exported.tar.zst')]);
    assert.match(field(out, 'sha256'), /^[0-9a-f]{64}$/);
    await mkdir(join(files, 'exported'), { recursive: true });
    await execa('sh', [
      '-c',
      `zstd -dc ${join(files, 'exported.tar.zst')} | tar -x -C ${join(files, 'exported')}`,
    ]);
    assert.equal(
      await sha256File(join(files, 'exported/rootfs.ext4')),
      await sha256File(join(files, 'unpacked/rootfs.ext4')),
    );
    const { readFile } = await import('node:fs/promises');
    const manifest = JSON.parse(
      await readFile(join(files, 'exported/manifest.json'), 'utf8'),
    ) as Record<string, string>;
    assert.equal(manifest.name, 'tiny');
    assert.equal(manifest.kernel_ref, 'tiny-kernel');
  });

  test("the embedded catalog's kernel is built with its image: kernel pull refuses it, naming the build", async () => {
    const list = JSON.parse(await ok(['kernel', 'ls', '--available', '--json'])) as {
      name: string;
    }[];
    assert.deepEqual(
      list.find((k) => k.name === 'debian-bookworm-cloud'),
      {
        name: 'debian-bookworm-cloud',
        description: 'linux-image-cloud-amd64 from the debian-bookworm build',
        version: '',
        source: 'embedded',
        local: false,
        how: 'build',
      },
    );
    const r = await sb.cli(['kernel', 'pull', 'debian-bookworm-cloud']);
    assert.equal(r.exitCode, 1);
    assert.deepEqual(String(r.stderr).trimEnd().split('\n'), [
      'banger: kernel "debian-bookworm-cloud" is built with the debian-bookworm image, not downloaded',
      '  "banger image build debian-bookworm" builds and registers it',
    ]);
  });

  test('kernel pull downloads a kernel tarball from the kernel catalog; --force replaces it', async () => {
    const available = JSON.parse(await ok(['kernel', 'ls', '--available', '--json'])) as {
      name: string;
      how: string;
      local: boolean;
    }[];
    assert.deepEqual(
      available.filter((k) => k.name === 'pulled-61').map((k) => [k.how, k.local]),
      [['download', false]],
    );
    await ok(['kernel', 'pull', 'pulled-61']);
    const k = JSON.parse(await ok(['kernel', 'show', 'pulled-61', '--json'])) as {
      kernel: string;
      modulesDir: string;
      version: string;
    };
    assert.equal(k.version, '6.1.0-k');
    assert.ok(k.kernel.startsWith(sb.layout.kernelsDir) && k.kernel.endsWith('/vmlinux'));
    assert.ok((await stat(join(k.modulesDir, 'kernel/x.ko'))).isFile());
    const again = await sb.cli(['kernel', 'pull', 'pulled-61']);
    assert.equal(again.exitCode, 1);
    assert.match(String(again.stderr), /kernel "pulled-61" is already local/);
    await ok(['kernel', 'pull', 'pulled-61', '--force']);
    const replaced = JSON.parse(await ok(['kernel', 'show', 'pulled-61', '--json'])) as {
      kernel: string;
    };
    assert.notEqual(replaced.kernel, k.kernel);
    await assert.rejects(stat(k.kernel), /ENOENT/, 'the replaced kernel is gone');
    assert.deepEqual(
      (await readdir(sb.layout.kernelsDir)).filter((n) => n.endsWith('.staging')),
      [],
    );
  });
});
