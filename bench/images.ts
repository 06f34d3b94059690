// Issue-3 speed goals, each against a baseline measured in the same run:
//  1. golden build wall time ÷ (raw mmdebstrap of the same package set + raw mkfs.ext4 -d):
//     goal ≤ 1.3. Both use the same warm .deb cache, so the network is out of the ratio.
//  2. bundle pull throughput ÷ `curl | zstd -d | tar x` of the same bundle from the same
//     127.0.0.1 server: goal ≥ 0.8.
// Run: npx tsx bench/images.ts   (about 10 minutes; a private XDG sandbox, removed at the end)
import { execa } from 'execa';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debianMirror, hostAptSources, securityMirror } from '../src/image/golden/apt-sources.js';
import { mmdebstrapArgs } from '../src/image/golden/mmdebstrap.js';
import { RECIPES } from '../src/image/golden/recipe.js';
import { makeSandbox } from '../test/helpers/sandbox.js';

const seconds = (t0: number) => (performance.now() - t0) / 1000;
const sb = await makeSandbox();
const scratch = await mkdtemp(join(tmpdir(), 'bgr-bench-img-'));
try {
  const cli = async (args: string[]) => {
    const r = await sb.cli(args, { timeoutMs: 30 * 60_000 });
    if (r.exitCode !== 0) throw new Error(`banger ${args.join(' ')}: ${String(r.stderr)}`);
    return String(r.stdout);
  };
  console.log('warming the .deb cache with a first build (not timed)…');
  await cli(['image', 'build']);
  await cli(['image', 'rm', 'debian-bookworm']);

  let t0 = performance.now();
  await cli(['image', 'build']);
  const banger = seconds(t0);
  const show = JSON.parse(await cli(['image', 'show', 'debian-bookworm', '--json'])) as {
    rootfs: string;
    sizeBytes: number;
  };

  // Raw: the same mmdebstrap invocation into a directory, then mkfs.ext4 -d at the same size.
  const sources = await hostAptSources();
  const recipe = RECIPES.get('debian-bookworm')!;
  const args = mmdebstrapArgs({
    recipe,
    mirror: debianMirror(sources, 'bookworm') ?? 'http://deb.debian.org/debian',
    securityMirror: securityMirror(sources, 'bookworm'),
    extraPackages: [],
    aptCacheDir: join(sb.layout.cacheDir, 'apt-archives'),
  }).map((a) => (a === '-' ? join(scratch, 'tree') : a));
  t0 = performance.now();
  await execa('mmdebstrap', args);
  const ext4 = join(scratch, 'raw.ext4');
  await execa('truncate', ['-s', String(show.sizeBytes), ext4]);
  await execa('mkfs.ext4', ['-q', '-F', '-d', join(scratch, 'tree'), ext4]);
  const raw = seconds(t0);
  console.log(
    `golden build:  banger ${banger.toFixed(1)} s, raw mmdebstrap + mkfs.ext4 -d ${raw.toFixed(1)} s, ratio ${(banger / raw).toFixed(2)} (goal ≤ 1.3)`,
  );
  await rm(join(scratch, 'tree'), { recursive: true, force: true });

  // Bundle pull: export, serve on 127.0.0.1, pull through a catalog vs curl | zstd -d | tar x.
  const bundle = join(scratch, 'golden.tar.zst');
  const exported = await cli(['image', 'export', 'debian-bookworm', '--out', bundle]);
  const sha = /sha256:\s+(\S+)/.exec(exported)![1]!;
  const size = (await stat(bundle)).size;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': size });
    createReadStream(bundle).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}/golden.tar.zst`;
  try {
    await writeFile(
      join(scratch, 'catalog.json'),
      JSON.stringify({
        version: 1,
        entries: [
          {
            name: 'copy',
            tarball_url: url,
            tarball_sha256: sha,
            size_bytes: size,
            kernel_ref: 'debian-bookworm-cloud',
          },
        ],
      }),
    );
    await mkdir(sb.layout.configDir, { recursive: true });
    await writeFile(
      sb.layout.configFile,
      `[catalog]\nimages = ["${join(scratch, 'catalog.json')}"]\n`,
    );
    // Config is read at daemon start: restart it now, so the pull below is timed against a
    // running daemon (as curl is) and the figure is the pull, not daemon start-up.
    await cli(['daemon', 'stop']);
    await cli(['daemon', 'start']);
    const rawDir = join(scratch, 'untar');
    await mkdir(rawDir);
    t0 = performance.now();
    await execa('sh', ['-c', `curl -sf ${url} | zstd -dc | tar -x -C ${rawDir}`]);
    const rawPull = seconds(t0);
    t0 = performance.now();
    await cli(['image', 'pull', 'copy']);
    const pull = seconds(t0);
    const mb = size / 2 ** 20;
    console.log(
      `bundle pull (${mb.toFixed(0)} MiB .tar.zst): banger ${(mb / pull).toFixed(0)} MiB/s (${pull.toFixed(1)} s), curl|zstd|tar ${(mb / rawPull).toFixed(0)} MiB/s (${rawPull.toFixed(1)} s), throughput ratio ${(rawPull / pull).toFixed(2)} (goal ≥ 0.8)`,
    );
  } finally {
    server.close();
  }
} finally {
  await sb.dispose();
  await rm(scratch, { recursive: true, force: true });
}
