// Warm start against a cold boot, in the same run and the same sandbox: `vm run --rm -- true`
// resumed from the image's template vs booted (`--cold`), alternating; the template's making;
// `vm pause` / `vm resume` round trips through the CLI; and host memory (PSS, so pages shared
// through the template's RAM file count once) of 4 idle resumed VMs against 4 × one idle
// cold-booted VM; `vm stop --save` and `vm start` of a 1 GiB guest.
// Run: npx tsx bench/warm-start.ts   (BENCH_RUNS=5 by default)
import { benchSandbox, median, seconds, vmPssKiB } from '../test/helpers/bench.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const spec = ['--vcpu', '2', '--memory', '1024'];
const { sb, cli } = await benchSandbox();

const pssKiB = (name: string) => vmPssKiB(cli, name);
const settle = () => new Promise((r) => setTimeout(r, 10_000));

try {
  let t0 = performance.now();
  await cli(['image', 'warm', 'debian-bookworm', ...spec]);
  const make = seconds(t0);
  console.log(`template made in ${make.toFixed(1)} s`);

  const warm: number[] = [];
  const cold: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    t0 = performance.now();
    const w = await cli(['vm', 'run', '--rm', ...spec, '--', 'true']);
    warm.push(seconds(t0));
    if (!/· warm$/m.test(w.stderr)) throw new Error(`run ${i + 1} was not warm:\n${w.stderr}`);
    t0 = performance.now();
    await cli(['vm', 'run', '--rm', '--cold', ...spec, '--', 'true']);
    cold.push(seconds(t0));
    console.log(
      `run ${i + 1}: warm ${warm.at(-1)!.toFixed(2)} s, cold ${cold.at(-1)!.toFixed(2)} s`,
    );
  }
  console.log(
    `vm run --rm -- true: warm ${median(warm).toFixed(2)} s, cold ${median(cold).toFixed(2)} s (medians of ${RUNS}), ratio ${(median(warm) / median(cold)).toFixed(2)} (goal ≤ 0.15)`,
  );

  // Pause and resume, each a whole CLI call (node bin/banger.js ≈ 0.15 s of it).
  await cli(['vm', 'create', '--name', 'w0', ...spec]);
  const pause: number[] = [];
  const resume: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    t0 = performance.now();
    await cli(['vm', 'pause', 'w0']);
    pause.push(seconds(t0));
    t0 = performance.now();
    await cli(['vm', 'resume', 'w0']);
    resume.push(seconds(t0));
  }
  t0 = performance.now();
  await cli(['daemon', 'status']);
  const noop = seconds(t0);
  console.log(
    `vm pause ${median(pause).toFixed(3)} s, vm resume ${median(resume).toFixed(3)} s (medians of ${RUNS}, whole CLI calls; daemon status ${noop.toFixed(3)} s for scale)`,
  );

  // Memory: 4 idle resumed VMs against one idle cold one, each after 10 s of idling.
  for (const n of ['w1', 'w2', 'w3']) await cli(['vm', 'create', '--name', n, ...spec]);
  await cli(['vm', 'create', '--cold', '--name', 'c0', ...spec]);
  await settle();
  const warmPss = await Promise.all(['w0', 'w1', 'w2', 'w3'].map(pssKiB));
  const coldPss = await pssKiB('c0');
  const total = warmPss.reduce((a, b) => a + b, 0);
  console.log(
    `PSS: 4 resumed VMs ${(total / 1024).toFixed(0)} MiB (${warmPss.map((k) => (k / 1024).toFixed(0)).join(' + ')}), one cold VM ${(coldPss / 1024).toFixed(0)} MiB; ratio ${(total / (4 * coldPss)).toFixed(2)}`,
  );
  await cli(['vm', 'rm', 'w0', 'w1', 'w2', 'w3', 'c0']);

  // vm stop --save of a 1 GiB guest holding 384 MiB of data in memory (tmpfs), and its start.
  await cli(['vm', 'create', '--cold', '--name', 's0', ...spec]);
  await cli(['vm', 'ssh', 's0', '--', 'sh', '-c', 'head -c 384M /dev/urandom > /dev/shm/fill']);
  const save: number[] = [];
  const start: number[] = [];
  let bytes = '';
  for (let i = 0; i < Math.min(RUNS, 3); i++) {
    t0 = performance.now();
    bytes = (await cli(['vm', 'stop', '--save', 's0'])).stdout.trim();
    save.push(seconds(t0));
    t0 = performance.now();
    await cli(['vm', 'start', 's0']);
    start.push(seconds(t0));
  }
  console.log(
    `1 GiB guest with 384 MiB in tmpfs: vm stop --save ${median(save).toFixed(2)} s (${bytes}), vm start ${median(start).toFixed(2)} s (medians of ${save.length}; each a whole CLI call, the start including its new ssh login)`,
  );
  await cli(['vm', 'rm', 's0']);
} finally {
  await sb.dispose();
}
