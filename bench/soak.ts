// Soak: SOAK_RUNS (200) sequential `banger vm run --rm -- true`, then SOAK_CYCLES (50)
// create → exec → delete cycles, SOAK_PARALLEL (4) at a time, all resumed from the image's
// warm-start template as a user's would be (warm.auto is on by default; SOAK_COLD=1 boots
// every VM cold instead). bangerd's RSS and open file
// descriptors are measured at the start (after one warm-up run, so that modules loaded on
// first use are not counted as growth) and at the end, each time after the daemon's idle
// GC; the baseline is the same daemon's own start. Goals: RSS growth ≤ 10 MiB, fds flat,
// nothing left on disk (VM dirs, staging, runtime files, QEMU processes, cgroups).
// Run: npx tsx bench/soak.ts
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { benchSandbox, seconds } from '../test/helpers/bench.js';
import { detectLimits } from '../src/limits/detect.js';

const RUNS = Number(process.env.SOAK_RUNS ?? 200);
const CYCLES = Number(process.env.SOAK_CYCLES ?? 50);
const PARALLEL = Number(process.env.SOAK_PARALLEL ?? 4);
const { sb, cli } = await benchSandbox();

interface DaemonFigures {
  rssMiB: number;
  fds: number;
}

/** bangerd's RSS and open fds once it has been idle long enough for its idle GC (2 s). */
async function daemonFigures(): Promise<DaemonFigures> {
  await new Promise((r) => setTimeout(r, 6000));
  const pid = await sb.daemonPid();
  if (!pid) throw new Error('no daemon running');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
  return { rssMiB: rssKiB / 1024, fds: (await readdir(`/proc/${pid}/fd`)).length };
}

/** Everything a VM could leave behind, listed (empty when clean). */
async function leftovers(): Promise<string[]> {
  const left: string[] = [];
  const list = (dir: string) => readdir(dir).catch(() => [] as string[]);
  for (const entry of await list(join(sb.layout.stateDir, 'vms'))) left.push(`vms/${entry}`);
  for (const entry of await list(sb.layout.stateDir))
    if (/staging|\.tmp/.test(entry)) left.push(`state/${entry}`);
  for (const entry of await list(sb.layout.runtimeDir))
    if (!/^(bangerd\.(sock|pid)|ssh|forks)$/.test(entry)) left.push(`runtime/${entry}`);
  for (const sub of ['ssh', 'forks'])
    for (const entry of await list(join(sb.layout.runtimeDir, sub))) left.push(`${sub}/${entry}`);
  for (const pid of await list('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const state = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (cmd.includes(sb.layout.stateDir) && / Z /.test(state) === false && cmd.includes('qemu'))
      left.push(`qemu pid ${pid}`);
  }
  const limits = await detectLimits();
  const cgroupDirs =
    limits.kind === 'cgroup2'
      ? [limits.dir]
      : limits.kind === 'cgroup1'
        ? [limits.memoryDir, limits.cpuDir]
        : [];
  for (const dir of cgroupDirs)
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => []))
      if (entry.isDirectory()) left.push(`cgroup ${join(dir, entry.name)}`);
  return left;
}

const describe = (f: DaemonFigures) => `RSS ${f.rssMiB.toFixed(1)} MiB, ${f.fds} fds`;

try {
  if (process.env.SOAK_COLD !== '1') await cli(['image', 'warm', 'debian-bookworm']);
  await cli(['vm', 'ls']);
  const fresh = await daemonFigures();
  await cli(['vm', 'run', '--rm', '--', 'true']);
  const start = await daemonFigures();
  console.log(`daemon fresh: ${describe(fresh)}; after one warm-up run: ${describe(start)}`);

  let t0 = performance.now();
  for (let i = 1; i <= RUNS; i++) {
    await cli(['vm', 'run', '--rm', '--', 'true']);
    if (i % 25 === 0) console.log(`  ${i}/${RUNS} runs, ${seconds(t0).toFixed(0)} s`);
  }
  const afterRuns = await daemonFigures();
  console.log(
    `${RUNS} × vm run --rm -- true in ${seconds(t0).toFixed(0)} s: ${describe(afterRuns)}`,
  );

  t0 = performance.now();
  let next = 0;
  const worker = async (w: number) => {
    for (let i = next++; i < CYCLES; i = next++) {
      const name = `soak-${w}-${i}`;
      await cli(['vm', 'create', '--name', name]);
      await cli(['vm', 'exec', name, '--', 'true']);
      await cli(['vm', 'rm', name]);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, (_, w) => worker(w)));
  const end = await daemonFigures();
  console.log(
    `${CYCLES} create/exec/delete cycles, ${PARALLEL} at a time, in ${seconds(t0).toFixed(0)} s: ${describe(end)}`,
  );

  const growth = end.rssMiB - start.rssMiB;
  const left = await leftovers();
  console.log(
    `RSS ${start.rssMiB.toFixed(1)} → ${end.rssMiB.toFixed(1)} MiB (${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MiB, goal ≤ +10), fds ${start.fds} → ${end.fds} (goal flat), left on disk: ${left.length === 0 ? 'nothing' : left.join(', ')}`,
  );
} finally {
  await sb.dispose();
}
