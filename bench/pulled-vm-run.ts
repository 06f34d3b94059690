// `banger vm run --rm --image <busybox-only OCI image> -- true` (booted with banger's guest
// kit and the kernel's modules disk) against the same on the golden image, alternating in the
// same run: what booting a pulled image costs. The image is pushed to Debian's
// docker-registry on 127.0.0.1 and pulled once before the clock starts; the kit is built then.
// Run: npx tsx bench/pulled-vm-run.ts   (BENCH_RUNS=5 by default)
import { join } from 'node:path';
import { benchSandbox, median, seconds } from '../test/helpers/bench.js';
import { busyboxBin, pushImage, startRegistry } from '../test/helpers/registry.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const APPLETS = ['sh', 'cat', 'echo', 'ls', 'sync', 'sleep', 'true'];
const { sb, cli } = await benchSandbox();
const reg = await startRegistry();

try {
  const { ref } = await pushImage(reg, join(sb.dir, 'layout'), 'bench/busybox', '1', {
    layers: [
      {
        compression: 'gzip',
        members: [
          ...(await busyboxBin(APPLETS)),
          { name: 'etc/', type: 'directory', mode: 0o755 },
          { name: 'etc/passwd', body: 'root:x:0:0:root:/root:/bin/sh\n' },
          { name: 'tmp/', type: 'directory', mode: 0o1777 },
        ],
      },
    ],
  });
  const spec = ['--vcpu', '2', '--memory', '1024'];
  // Pull, kit and modules disk made once, outside the timed runs (a user's first run pays them).
  await cli(['vm', 'run', '--rm', '--image', ref, ...spec, '--', 'true']);
  const pulled: number[] = [];
  const golden: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    let t0 = performance.now();
    await cli(['vm', 'run', '--rm', '--image', 'busybox-1', ...spec, '--', 'true']);
    pulled.push(seconds(t0));
    t0 = performance.now();
    await cli(['vm', 'run', '--rm', ...spec, '--', 'true']);
    golden.push(seconds(t0));
    console.log(
      `run ${i + 1}: pulled ${pulled.at(-1)!.toFixed(2)} s, golden ${golden.at(-1)!.toFixed(2)} s`,
    );
  }
  console.log(
    `vm run --rm -- true: pulled busybox image ${median(pulled).toFixed(2)} s, golden ${median(golden).toFixed(2)} s (medians of ${RUNS}), ratio ${(median(pulled) / median(golden)).toFixed(2)}`,
  );
} finally {
  await reg.dispose();
  await sb.dispose();
}
