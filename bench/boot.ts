// Boot figures of the golden image under plain QEMU (the contract banger's VMs will use):
// seconds from QEMU start to "sshd ready" on the console, and to the first ssh command
// done. Baseline for the ratio: ../shared/TCG-BOOT-FACTS.md's trimmed figure on this machine
// kind (3.96 s to first ssh). Builds the image in a sandbox first unless BANGER_BENCH_GOLDEN
// names a directory with rootfs.ext4, vmlinux and initrd.img.
// Run: npx tsx bench/boot.ts
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchGolden } from '../test/helpers/golden.js';
import { bootRaw } from '../test/helpers/raw-boot.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const FACTS_FIRST_SSH = 3.96;
const golden = await benchGolden();
const ready: number[] = [];
const firstSsh: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const dir = await mkdtemp(join(tmpdir(), 'bgr-bench-boot-'));
  const t0 = performance.now();
  const vm = await bootRaw({ ...golden, dir, hostname: `bench-${i}` });
  ready.push((performance.now() - t0) / 1000);
  const r = await vm.ssh('true');
  firstSsh.push((performance.now() - t0) / 1000);
  if (r.exitCode !== 0) throw new Error(`ssh failed: ${r.stderr}`);
  await vm.stop();
  await rm(dir, { recursive: true, force: true });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`golden boot (${RUNS} runs, medians, includes work-disk mkfs and overlay creation):`);
console.log(`  sshd ready on the console  ${median(ready).toFixed(2)} s`);
console.log(
  `  first ssh command done     ${median(firstSsh).toFixed(2)} s   ${(median(firstSsh) / FACTS_FIRST_SSH).toFixed(2)}x the trimmed figure (${FACTS_FIRST_SSH} s)`,
);
