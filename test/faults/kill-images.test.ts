// The fault suite for images: bangerd killed with SIGKILL at a random moment of an OCI pull
// (from a registry on 127.0.0.1), a bundle pull (a catalog entry served slowly from
// 127.0.0.1) or a golden image build (mmdebstrap from the Debian mirror), then started
// again. After each restart the invariants of helpers/invariants.ts must hold (no staging,
// build scratch, worker process or mount left; every image record whole) and the same pull
// must then succeed. BANGER_FAULT_IMAGE_RUNS sets the runs (npm test: 3, one per
// operation; npm run test:faults: 12), BANGER_FAULT_SEED replays one.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Throttle } from '../helpers/throttle.js';
import { prng } from '../helpers/prng.js';
import { checkAfterKill, sandboxProcs } from '../helpers/invariants.js';
import { pushImage, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { killHard, makeSandbox, SANDBOX_CONFIG, type Sandbox } from '../helpers/sandbox.js';
import { tarBytes } from '../helpers/tar.js';
import { err, ok, out } from '../helpers/vm.js';

const RUNS = Number(process.env.BANGER_FAULT_IMAGE_RUNS ?? 3);
const SEED = Number(process.env.BANGER_FAULT_SEED ?? Date.now() % 2 ** 31);
const MiB = 1024 * 1024;

type Op = 'pull' | 'bundle' | 'build';
const OPS: readonly Op[] = ['pull', 'bundle', 'build'];
/** How long each operation takes here (ms): the kill lands somewhere inside it. */
const SPAN: Record<Op, number> = { pull: 1300, bundle: 2400, build: 60_000 };

interface Row {
  run: number;
  op: Op;
  killAtMs: number;
  /** The last progress line the CLI printed before the kill. */
  said: string;
  workers: string;
  problems: string[];
}

describe(`bangerd killed during image operations (${RUNS} runs, seed ${SEED})`, () => {
  let sb: Sandbox;
  let reg: TestRegistry;
  let server: Server;
  let ref = '';
  const rows: Row[] = [];

  before(async () => {
    sb = await makeSandbox();
    const files = join(sb.dir, 'files');
    await mkdir(join(files, 'kernel'), { recursive: true });
    await writeFile(join(files, 'kernel/vmlinuz'), 'not really a kernel');
    ok(await sb.cli(['kernel', 'import', 'k1', '--from', join(files, 'kernel')]));
    // An OCI image of three 16 MiB layers that do not compress: seconds of work to cut.
    reg = await startRegistry();
    const layer = (n: number) => ({
      compression: 'gzip' as const,
      members: [{ name: `data${n}`, body: randomBytes(16 * MiB) }],
    });
    const pushed = await pushImage(reg, join(files, 'layout'), 'team/app', '1', {
      layers: [
        {
          compression: 'none',
          members: [
            { name: 'bin/', type: 'directory', mode: 0o755 },
            { name: 'bin/sh', body: '#!/bin/true\n', mode: 0o755 },
          ],
        },
        layer(1),
        layer(2),
        layer(3),
      ],
    });
    ref = pushed.ref;
    // A bundle of a 24 MiB rootfs, served at 12 MiB/s through a catalog entry.
    await writeFile(
      join(files, 'rootfs.tar'),
      await tarBytes([
        { name: './', type: 'directory', mode: 0o755 },
        { name: './etc/', type: 'directory', mode: 0o755 },
        { name: './data', body: randomBytes(24 * MiB) },
      ]),
    );
    const made = out(
      ok(
        await sb.cli(
          [
            ...['internal', 'make-bundle', '--rootfs-tar', join(files, 'rootfs.tar')],
            ...['--name', 'slow', '--distro', 'test', '--kernel-ref', 'k1', '--size', '96M'],
            ...['--out', join(files, 'slow.tar.zst')],
          ],
          { timeoutMs: 120_000 },
        ),
      ),
    );
    const field = (name: string) => new RegExp(`^${name}:\\s+(\\S+)$`, 'm').exec(made)?.[1] ?? '';
    server = createServer((req, res) => {
      const path = join(files, (req.url ?? '/').replace(/^\/+/, ''));
      stat(path).then(
        (s) => {
          res.writeHead(200, { 'content-length': s.size });
          createReadStream(path)
            .pipe(new Throttle(12 * MiB))
            .pipe(res);
        },
        () => res.writeHead(404).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const entries = Array.from({ length: RUNS + 1 }, (_, i) => ({
      name: `slow-${i}`,
      distro: 'test',
      tarball_url: `http://127.0.0.1:${port}/slow.tar.zst`,
      tarball_sha256: field('sha256'),
      size_bytes: Number(field('size')),
      kernel_ref: 'k1',
    }));
    await writeFile(join(files, 'images.json'), JSON.stringify({ version: 1, entries }));
    await sb.cli(['daemon', 'stop']);
    await writeFile(
      sb.layout.configFile,
      `${SANDBOX_CONFIG}[catalog]\nimages = ["${join(files, 'images.json')}"]\n`,
    );
  });
  after(async () => {
    if (rows.length > 0)
      console.log(
        [
          '| run | operation killed | at ms | where it was | its workers then | violations and leaks |',
          '| --- | --- | --- | --- | --- | --- |',
          ...rows.map(
            (r) =>
              `| ${r.run} | ${r.op} | ${r.killAtMs} | ${r.said} | ${r.workers} | ${r.problems.length} |`,
          ),
        ].join('\n'),
      );
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    await reg?.dispose();
    await sb?.dispose();
  });

  test('nothing is left half-done after a kill, and the operation then succeeds', async () => {
    const random = prng(SEED);
    for (let run = 1; run <= RUNS; run++) {
      // Each operation in turn, so that the short form meets all three.
      const op = OPS[(run - 1) % OPS.length]!;
      const killAtMs = Math.floor(random() * SPAN[op]);
      const args: Record<Op, string[]> = {
        pull: ['image', 'pull', ref, '--name', `oci-${run}`, '--kernel-ref', 'k1'],
        bundle: ['image', 'pull', `slow-${run}`],
        build: ['image', 'build'], // the recipe's own name: debian-bookworm
      };
      await sb.cli(['image', 'ls']); // a daemon to kill
      const daemon = await sb.daemonPid();
      const started = sb.spawn(args[op]);
      await new Promise((r) => setTimeout(r, killAtMs));
      if (daemon) killHard(daemon);
      // What the daemon had running then (mmdebstrap, zstd, tar…): what must not outlive it.
      const workers = (await sandboxProcs(sb.dir)).map((p) => p.args[0]?.split('/').pop());
      const found = await checkAfterKill(sb, started);
      const problems = [...found.violations, ...found.leaks];
      // The image the run makes is there whole (the kill came after it), or a second try
      // makes it; a build is minutes of mirror traffic, so it is not tried again.
      const image = { pull: `oci-${run}`, bundle: `slow-${run}`, build: 'debian-bookworm' }[op];
      const listed = JSON.parse(out(ok(await sb.cli(['image', 'ls', '--json'])))) as {
        name: string;
      }[];
      if (op !== 'build' && !listed.some((i) => i.name === image)) {
        const again = await sb.cli(args[op], { timeoutMs: 300_000 });
        if (again.exitCode !== 0) problems.push(`${args[op].join(' ')} then failed: ${err(again)}`);
      }
      await sb.cli(['image', 'rm', image]);
      // Where it was when the kill came: the last progress line the CLI printed.
      const said =
        started
          .stderr()
          .split('\n')
          .filter((l) => l.startsWith('['))
          .at(-1) ?? '';
      rows.push({ run, op, killAtMs, workers: workers.join(' ') || 'none', said, problems });
    }
    assert.deepEqual(
      rows
        .filter((r) => r.problems.length > 0)
        .map((r) => `run ${r.run} (${r.op} killed at ${r.killAtMs} ms): ${r.problems.join('; ')}`),
      [],
      `replay with BANGER_FAULT_SEED=${SEED}`,
    );
  });
});
