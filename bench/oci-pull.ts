// Issue-11 speed goal: `banger image pull REF` of a ~150 MB four-layer gzip image from a local
// registry to a bootable banger image ÷ (`skopeo copy` to an OCI dir + `umoci raw unpack` +
// `mkfs.ext4 -d` at the size banger chose) of the same image in the same run: goal ≤ 1.0.
// The layers are made from this host's files (usr/bin, usr/lib, usr/share; no directory as
// big as usr/share/man/man1's 17,902 entries, which mkfs.ext4 -d fills slowly); Debian's
// docker-registry serves them on 127.0.0.1. Every banger run starts with no image and an
// empty blob cache, so both sides download every byte. Runs alternate (BENCH_RUNS, default 3).
// BANGER_BENCH_GOLDEN (a directory with vmlinux and initrd.img) gives the image a real kernel;
// otherwise a placeholder (nothing boots here, and the kernel is not part of the timed pull).
// Run: npx tsx bench/oci-pull.ts   (a few minutes; a private XDG sandbox, removed at the end)
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CacheName } from '../src/config/layout.js';
import { median, seconds } from '../test/helpers/bench.js';
import {
  OciLayout,
  startRegistry,
  type Blob,
  type TestRegistry,
} from '../test/helpers/registry.js';
import { makeSandbox, type Sandbox } from '../test/helpers/sandbox.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const REPO = 'bench/app';
const TAG = '1';
const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

let sb: Sandbox | undefined;
let reg: TestRegistry | undefined;
const scratch = await mkdtemp(join(tmpdir(), 'bgr-bench-oci-'));
let cleaning: Promise<void> | undefined;
const cleanup = () =>
  (cleaning ??= (async () => {
    await reg?.dispose().catch(() => undefined);
    await sb?.dispose().catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  })());
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  // `on`, not `once`: execa's exit hook re-raises a signal nobody else listens for.
  process.on(signal, () => {
    console.error(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

const sha256File = async (path: string) => {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
};

/** `find` under / printing paths relative to it: `usr/bin/x`. */
const find = async (args: string) =>
  (await execa('find', args.split(' '), { cwd: '/' })).stdout.split('\n').filter(Boolean).sort();

/**
 * One gzip layer (gzip -6, Docker's default level) from a tar made by `make(tarFile)`, moved
 * into the layout's blobs; its descriptor and diff id.
 */
async function gzipLayer(
  layoutDir: string,
  name: string,
  make: (tarFile: string) => Promise<void>,
): Promise<{ blob: Blob; diffId: string; tarBytes: number }> {
  const tar = join(scratch, `${name}.tar`);
  await make(tar);
  const gz = `${tar}.gz`;
  await execa('gzip', ['-6', '-n', '-c', tar], { stdout: { file: gz } });
  const diffId = await sha256File(tar);
  const tarBytes = (await stat(tar)).size;
  await rm(tar);
  const digest = await sha256File(gz);
  const size = (await stat(gz)).size;
  await mkdir(join(layoutDir, 'blobs/sha256'), { recursive: true });
  await rename(gz, join(layoutDir, 'blobs/sha256', digest.slice('sha256:'.length)));
  return { blob: { mediaType: GZIP, digest, size }, diffId, tarBytes };
}

const TAR = ['--numeric-owner', '--sort=name'];
/** Whole directories of this host, by path relative to /. */
const dirs = (paths: string[]) => async (tar: string) => {
  await execa('tar', [...TAR, '-cf', tar, '-C', '/', ...paths]);
};

/** The image: an OS base, language runtimes, an application binary, data. */
async function makeImage(layoutDir: string): Promise<{ layers: Blob[]; tarBytes: number }> {
  // Layer 1, the OS: usr-merged top-level links, a minimal /etc (not the host's: no secrets
  // leave it), usr/sbin, the files under 2 MiB of usr/bin, those under 1 MiB directly in
  // usr/lib/x86_64-linux-gnu.
  const skel = join(scratch, 'skel');
  await mkdir(join(skel, 'etc'), { recursive: true });
  for (const d of ['bin', 'lib', 'lib64', 'sbin']) await symlink(`usr/${d}`, join(skel, d));
  await writeFile(join(skel, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  await writeFile(join(skel, 'etc/group'), 'root:x:0:\n');
  await writeFile(join(skel, 'etc/hostname'), 'app\n');
  await copyFile('/etc/os-release', join(skel, 'etc/os-release'));
  const small = [
    'usr',
    'usr/lib',
    ...(await find('usr/bin ( -type l -o -size -2048k )')),
    ...(await find('usr/lib/x86_64-linux-gnu -maxdepth 1 ( -type l -o -type d -o -size -1024k )')),
  ];
  const list = join(scratch, 'base.list');
  await writeFile(list, `${small.join('\n')}\n`);
  const base = async (tar: string) => {
    await execa('tar', [...TAR, '-cf', tar, '-C', skel, 'bin', 'lib', 'lib64', 'sbin', 'etc']);
    await execa('tar', [...TAR, '-rf', tar, '-C', '/', '--no-recursion', '-T', list]);
    await execa('tar', [...TAR, '-rf', tar, '-C', '/', 'usr/sbin', 'usr/lib64']);
  };
  const made = [
    await gzipLayer(layoutDir, 'base', base),
    await gzipLayer(
      layoutDir,
      'runtimes',
      dirs(['usr/lib/python3.11', 'usr/share/perl', 'usr/lib/git-core']),
    ),
    await gzipLayer(layoutDir, 'app', dirs(['usr/bin/node'])),
    await gzipLayer(
      layoutDir,
      'data',
      dirs(['usr/share/vim', 'usr/share/i18n', 'usr/share/zoneinfo']),
    ),
  ];
  const layout = new OciLayout(layoutDir);
  const config = await layout.blob(
    'application/vnd.oci.image.config.v1+json',
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin'], WorkingDir: '/' },
        rootfs: { type: 'layers', diff_ids: made.map((m) => m.diffId) },
      }),
    ),
  );
  const layers = made.map((m) => m.blob);
  const manifest = await layout.manifest(config, layers);
  await layout.tag(TAG, manifest);
  return { layers, tarBytes: made.reduce((n, m) => n + m.tarBytes, 0) };
}

/** Seconds from the first `[image pull 1.2s] stage:` line of each stage to the next stage's. */
function stageTimes(stderr: string, total: number): string {
  const firsts: [string, number][] = [];
  for (const m of stderr.matchAll(/^\[image pull (\d+\.\d)s\] ([a-z0-9 ]+?)(?::|$)/gm)) {
    if (firsts.at(-1)?.[0] !== m[2]) firsts.push([m[2]!, Number(m[1])]);
  }
  return firsts
    .map(([stage, at], i) => `${stage} ${((firsts[i + 1]?.[1] ?? total) - at).toFixed(1)}`)
    .join(', ');
}

try {
  sb = await makeSandbox();
  reg = await startRegistry();
  const box = sb;
  const cli = async (args: string[]) => {
    const r = await box.cli(args, { timeoutMs: 30 * 60_000 });
    if (r.exitCode !== 0) throw new Error(`banger ${args.join(' ')}: ${String(r.stderr)}`);
    return { stdout: String(r.stdout), stderr: String(r.stderr) };
  };

  console.log('making the image from this host’s files and pushing it (not timed)…');
  const layoutDir = join(scratch, 'layout');
  const { layers, tarBytes } = await makeImage(layoutDir);
  await reg.push(layoutDir, TAG, REPO);
  const ref = `${reg.host}/${REPO}:${TAG}`;
  const mib = (n: number) => (n / 2 ** 20).toFixed(0);
  const blobBytes = layers.reduce((n, l) => n + l.size, 0);
  console.log(
    `image ${ref}: ${layers.length} gzip layers, ${mib(blobBytes)} MiB compressed (${layers.map((l) => mib(l.size)).join(' + ')}), ${mib(tarBytes)} MiB of tar`,
  );

  // A kernel for the image, imported before the clock starts (a pull would otherwise fetch
  // the default kernel from its catalog).
  const kdir = join(scratch, 'kernel');
  await mkdir(join(kdir, 'boot'), { recursive: true });
  const golden = process.env.BANGER_BENCH_GOLDEN;
  if (golden) {
    await copyFile(join(golden, 'vmlinux'), join(kdir, 'boot/vmlinux-bench'));
    await copyFile(join(golden, 'initrd.img'), join(kdir, 'boot/initramfs-bench'));
  } else {
    await writeFile(join(kdir, 'boot/vmlinux-bench'), 'placeholder: nothing boots here');
  }
  await cli(['kernel', 'import', 'bench-k', '--from', kdir]);
  await cli(['image', 'ls']); // the daemon is up before the clock starts, as it is for a user

  const blobCache = join(sb.layout.cacheDir, ...CacheName.ociBlobs.split('/'));
  const base = join(scratch, 'baseline');
  const banger: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    // banger: no image and an empty blob cache, so every layer is downloaded.
    await sb.cli(['image', 'rm', 'app-1']);
    await rm(blobCache, { recursive: true, force: true });
    let t0 = performance.now();
    const pulled = await cli(['image', 'pull', ref, '--kernel-ref', 'bench-k']);
    banger.push(seconds(t0));
    const show = JSON.parse((await cli(['image', 'show', 'app-1', '--json'])).stdout) as {
      sizeBytes: number;
    };

    // Baseline: skopeo to an OCI layout, umoci unpacks it, mkfs.ext4 -d at banger's size.
    await rm(base, { recursive: true, force: true });
    await mkdir(base);
    const oci = join(base, 'oci');
    const rootfs = join(base, 'rootfs');
    const ext4 = join(base, 'rootfs.ext4');
    t0 = performance.now();
    await execa('skopeo', [
      ...['--insecure-policy', 'copy', '-q', '--src-tls-verify=false'],
      ...[`docker://${ref}`, `oci:${oci}:${TAG}`],
    ]);
    const tCopy = seconds(t0);
    await execa('umoci', ['raw', 'unpack', '--rootless', '--image', `${oci}:${TAG}`, rootfs]);
    const tUnpack = seconds(t0) - tCopy;
    await execa('truncate', ['-s', String(show.sizeBytes), ext4]);
    await execa('mkfs.ext4', ['-q', '-F', '-d', rootfs, ext4]);
    baseline.push(seconds(t0));
    const tMkfs = baseline.at(-1)! - tCopy - tUnpack;
    await rm(base, { recursive: true, force: true });

    console.log(
      `run ${i + 1}: banger ${banger.at(-1)!.toFixed(2)} s (${stageTimes(pulled.stderr, banger.at(-1)!)}), ` +
        `baseline ${baseline.at(-1)!.toFixed(2)} s (skopeo ${tCopy.toFixed(1)}, umoci ${tUnpack.toFixed(1)}, mkfs.ext4 ${tMkfs.toFixed(1)}), ` +
        `ratio ${(banger.at(-1)! / baseline.at(-1)!).toFixed(2)}; ext4 ${mib(show.sizeBytes)} MiB`,
    );
  }
  const ratios = banger.map((b, i) => b / baseline[i]!);
  console.log(
    `oci pull (${mib(blobBytes)} MiB, ${layers.length} layers): banger ${median(banger).toFixed(2)} s, ` +
      `skopeo + umoci + mkfs.ext4 ${median(baseline).toFixed(2)} s (medians of ${RUNS}), ` +
      `median ratio ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}) (goal ≤ 1.0)`,
  );
} finally {
  await cleanup();
}
