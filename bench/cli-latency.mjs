#!/usr/bin/env node
// Issue-2 speed goals, measured against a baseline taken in the same run:
//   banger --help ≤ 150 ms, banger vm ls (daemon up) ≤ 150 ms, bangerd idle RSS ≤ 60 MiB.
// Baseline: `node -e 0`, the floor any Node CLI pays on this host. Prints medians and ratios.
// Runs in a private XDG sandbox; stops its daemon and removes the sandbox at the end.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'bin/banger.js');
const runs = Number(process.env.BENCH_RUNS ?? 15);
const dir = mkdtempSync(join(tmpdir(), 'bgr-bench-'));
const hostEnv = {
  ...process.env,
  HOME: dir,
  XDG_CONFIG_HOME: join(dir, 'config'),
  XDG_STATE_HOME: join(dir, 'state'),
  XDG_CACHE_HOME: join(dir, 'cache'),
  XDG_RUNTIME_DIR: join(dir, 'run'),
};

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

let env = hostEnv;

function time(args) {
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    samples.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  }
  return median(samples);
}

const fmt = (ms) => `${ms.toFixed(0).padStart(4)} ms`;

function latency(label) {
  const baseline = time(['-e', '0']);
  const help = time([cli, '--help']);
  const ls = time([cli, 'vm', 'ls']);
  console.log(`${label}:`);
  console.log(`  baseline node -e 0       ${fmt(baseline)}`);
  console.log(
    `  banger --help            ${fmt(help)}  ${(help / baseline).toFixed(2)}x baseline, +${fmt(help - baseline)}  goal ≤ 150 ms`,
  );
  console.log(
    `  banger vm ls (daemon up) ${fmt(ls)}  ${(ls / baseline).toFixed(2)}x baseline, +${fmt(ls - baseline)}  goal ≤ 150 ms`,
  );
}

try {
  spawnSync(process.execPath, [cli, 'daemon', 'start'], { env, stdio: 'ignore' });
  console.log(`runs per figure: ${runs} (medians)`);
  latency('this environment');
  if (hostEnv.NODE_EXTRA_CA_CERTS) {
    // Node loads NODE_EXTRA_CA_CERTS eagerly at start-up (~30 ms here); show the cost apart.
    env = { ...hostEnv };
    delete env.NODE_EXTRA_CA_CERTS;
    latency('without NODE_EXTRA_CA_CERTS');
    env = hostEnv;
  }
  for (let i = 0; i < runs; i++)
    spawnSync(process.execPath, [cli, 'vm', 'ls'], { env, stdio: 'ignore' });
  // Idle RSS after the burst, sampled over time: the daemon runs a GC 2 s after its last
  // request and V8 then hands memory back to the OS gradually.
  const pid = Number(readFileSync(join(dir, 'run/banger/bangerd.pid'), 'utf8'));
  const rss = () =>
    Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  const samples = [];
  for (const at of [1, 5, 10]) {
    await new Promise((r) => setTimeout(r, (at - (samples.at(-1)?.at ?? 0)) * 1000));
    samples.push({ at, mib: rss() });
  }
  const series = samples.map((s) => `${s.mib.toFixed(1)} MiB at ${s.at} s`).join(', ');
  console.log(`bangerd idle RSS         ${series}   goal ≤ 60 MiB`);
} finally {
  spawnSync(process.execPath, [cli, 'daemon', 'stop'], { env, stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
}
