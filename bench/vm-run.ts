// `banger vm run --rm -- true` against raw QEMU booting the same kernel, initramfs and a qcow2
// overlay of the same rootfs to a successful `ssh true` and a power-off, alternating in the
// same run (goal: ratio ≤ 1.10). Then the host RSS of an idle VM against what its guest has
// in use (goal: overhead ≤ 128 MiB).
// The golden image is built in a sandbox first unless BANGER_BENCH_GOLDEN names a directory
// with rootfs.ext4, vmlinux and initrd.img. Every XDG path points into a temp dir.
// Run: npx tsx bench/vm-run.ts   (BENCH_RUNS=5 by default)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchSandbox, median, seconds } from '../test/helpers/bench.js';
import { bootRaw } from '../test/helpers/raw-boot.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 20);
const { sb, golden, cli } = await benchSandbox();

try {
  // Same size for both: raw QEMU below boots 2 vCPUs and 1024 MiB.
  const spec = ['--vcpu', '2', '--memory', '1024'];
  await cli(['vm', 'ls']); // the daemon is up before the clock starts, as it is for a user
  const banger: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    let t0 = performance.now();
    await cli(['vm', 'run', '--rm', ...spec, '--', 'true']);
    banger.push(seconds(t0));
    const dir = await mkdtemp(join(tmpdir(), 'bgr-bench-raw-'));
    try {
      t0 = performance.now();
      const vm = await bootRaw({ ...golden, dir, hostname: `raw-${i}` });
      const r = await vm.ssh('true');
      if (r.exitCode !== 0) throw new Error(`raw ssh failed: ${r.stderr}`);
      await vm.poweroff();
      raw.push(seconds(t0));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    console.log(
      `run ${i + 1}: banger ${banger.at(-1)!.toFixed(2)} s, raw qemu ${raw.at(-1)!.toFixed(2)} s`,
    );
  }
  const ratio = median(banger) / median(raw);
  console.log(
    `vm run --rm -- true: banger ${median(banger).toFixed(2)} s, raw qemu ${median(raw).toFixed(2)} s (medians of ${RUNS}), ratio ${ratio.toFixed(2)} (goal ≤ 1.10)`,
  );

  // Idle RSS: a VM that booted, took one login, then sat still. Guest RAM is the resident
  // part of QEMU's RAM mapping (/proc/PID/smaps); the rest is QEMU's own overhead.
  await cli(['vm', 'create', '--name', 'idle', ...spec]);
  await cli(['vm', 'ssh', 'idle', '--', 'true']);
  await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
  const stats = JSON.parse((await cli(['vm', 'stats', 'idle', '--json'])).stdout) as {
    host: { rssBytes: number; guestResidentBytes: number };
  };
  const mib = (n: number) => (n / 2 ** 20).toFixed(0);
  const overhead = stats.host.rssBytes - stats.host.guestResidentBytes;
  console.log(
    `idle VM (1024 MiB guest, ${IDLE_SECONDS} s idle): qemu RSS ${mib(stats.host.rssBytes)} MiB = guest RAM ${mib(stats.host.guestResidentBytes)} MiB + overhead ${mib(overhead)} MiB (goal ≤ 128)`,
  );
  await cli(['vm', 'rm', 'idle']);
} finally {
  await sb.dispose();
}
