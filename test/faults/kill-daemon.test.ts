// The fault suite's core, on real VMs: bangerd killed with SIGKILL at a random moment of a
// create, a delete, a stop, a fork, a workspace import — or with a VM's handles.json lost
// — then started again; after each restart the invariants of helpers/invariants.ts must
// hold and the VMs that were there must still be there and answer. BANGER_FAULT_RUNS sets
// the number of runs (npm test: 3; npm run test:faults: 30), BANGER_FAULT_SEED replays one.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeNetns, type Netns } from '../helpers/netns.js';
import { postMortem } from '../helpers/post-mortem.js';
import { prng } from '../helpers/prng.js';
import { checkAfterKill } from '../helpers/invariants.js';
import { killHard, type Sandbox } from '../helpers/sandbox.js';
import { err, ok, out, vmSandbox } from '../helpers/vm.js';

const RUNS = Number(process.env.BANGER_FAULT_RUNS ?? 3);
/** tap: every VM on tap networking, the daemon in a network namespace the test makes. */
const NETWORK = process.env.BANGER_FAULT_NETWORK === 'tap' ? 'tap' : 'user';
const SEED = Number(process.env.BANGER_FAULT_SEED ?? Date.now() % 2 ** 31);
const BOOT = { timeoutMs: 600_000 };
const SMALL = ['--memory', '384M', '--vcpu', '1'];

type Op = 'create' | 'delete' | 'stop' | 'fork' | 'workspace' | 'handles';
const OPS: readonly Op[] = ['create', 'delete', 'stop', 'fork', 'workspace', 'handles'];
/** How long each operation takes here (ms): the kill lands somewhere inside it. */
const SPAN: Record<Op, number> = {
  create: 9000,
  delete: 2500,
  stop: 3000,
  fork: 9000,
  workspace: 4000,
  handles: 0,
};

interface Row {
  run: number;
  op: Op;
  target: string;
  killAtMs: number;
  violations: string[];
  leaks: string[];
}

describe(`bangerd killed at random points (${RUNS} runs, ${NETWORK} networking, seed ${SEED})`, () => {
  let sb: Sandbox;
  let ns: Netns | undefined;
  let repo = '';
  const rows: Row[] = [];
  /** VMs the runs made (creates and forks that survived), deleted by later runs. */
  const pool: string[] = [];

  before(async () => {
    if (NETWORK === 'tap') ns = await makeNetns('bgf');
    sb = await vmSandbox(ns ? { netns: ns.name, config: '[network]\nmode = "tap"\n' } : {});
    ok(await sb.cli(['vm', 'create', '--name', 'keep', ...SMALL], BOOT), 'vm create keep');
    repo = join(sb.dir, 'repo');
    await mkdir(repo);
    const git = (...args: string[]) => execa('git', ['-C', repo, ...args]);
    await git('init', '-q', '-b', 'main');
    await writeFile(join(repo, 'a.txt'), 'a\n'.repeat(50_000));
    await git('add', '-A');
    await git('-c', 'user.email=t@example.invalid', '-c', 'user.name=t', 'commit', '-qm', 'one');
  });
  after(async () => {
    if (rows.length > 0) console.log(table(rows));
    await sb?.dispose();
    await ns?.dispose();
  });

  test('every invariant holds after every kill', async () => {
    const random = prng(SEED);
    for (let run = 1; run <= RUNS; run++) {
      let op = OPS[Math.floor(random() * OPS.length)]!;
      if (op === 'delete' && pool.length === 0) op = 'create';
      const killAtMs = Math.floor(random() * SPAN[op]);
      const name = op === 'create' ? `c${run}` : op === 'fork' ? `k${run}` : '';
      const target = op === 'delete' ? pool.shift()! : name || 'keep';
      const args: Record<Op, string[]> = {
        create: ['vm', 'create', '--name', name, ...SMALL],
        delete: ['vm', 'rm', target],
        stop: ['vm', 'stop', 'keep'],
        fork: ['vm', 'fork', 'keep', '--name', name],
        workspace: ['vm', 'workspace', 'prepare', 'keep', repo],
        handles: [],
      };
      const daemon = await sb.daemonPid();
      const started = op === 'handles' ? undefined : sb.spawn(args[op]);
      await new Promise((r) => setTimeout(r, killAtMs));
      if (daemon) killHard(daemon);
      if (op === 'handles') {
        // handles.json lost (or damaged) while the VM runs: the next daemon must adopt it.
        const file = join(sb.layout.vmsDir, await idOf('keep'), 'handles.json');
        if (random() < 0.5) await rm(file, { force: true });
        else await writeFile(file, '{"driver": "qemu", "pid": "not a pid"');
      }
      // The check meets a daemon just started (checkAfterKill kills a second one).
      const found = await checkAfterKill(sb, started);
      if (ns) found.leaks.push(...(await tapLeaks(ns, found.vms)));
      // What existed before must still be there and answer: keep runs (started again after
      // a cut stop), and the pool's VMs run or start.
      const names = new Set(found.vms.map((v) => v.name));
      if (!names.has('keep')) found.violations.push('vm keep is gone');
      for (const vm of found.vms) {
        if (vm.name !== 'keep' && !pool.includes(vm.name) && vm.name !== name) continue;
        const why = await answers(vm.name);
        if (why) found.violations.push(`vm ${vm.name} (${vm.state}) does not answer: ${why}`);
      }
      if (name && names.has(name)) pool.push(name);
      if (op === 'delete' && names.has(target)) pool.push(target);
      while (pool.length > 2) ok(await sb.cli(['vm', 'rm', pool.shift()!]), 'vm rm');
      rows.push({ run, op, target, killAtMs, violations: found.violations, leaks: found.leaks });
    }
    const bad = rows.filter((r) => r.violations.length + r.leaks.length > 0);
    assert.deepEqual(
      bad.map(
        (r) =>
          `run ${r.run} (${r.op} ${r.target} killed at ${r.killAtMs} ms): ${[...r.violations, ...r.leaks].join('; ')}`,
      ),
      [],
      `replay with BANGER_FAULT_SEED=${SEED}`,
    );
  });

  /**
   * Undefined when the VM answers a command — started first if it is stopped — within a
   * minute: a stop the kill cut short may still be taking the guest down (it then ends up
   * stopped and starts again), a guest may still be booting. Else the last error.
   */
  async function answers(name: string): Promise<string | undefined> {
    let last = '';
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      const shown = out(ok(await sb.cli(['vm', 'show', name, '--json'])));
      const state = (JSON.parse(shown) as { state: string }).state;
      const r =
        state === 'running'
          ? await sb.cli(['vm', 'exec', name, '--', 'true'], BOOT)
          : await sb.cli(['vm', 'start', name], BOOT);
      if (r.exitCode === 0) return undefined;
      last = err(r).trim();
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
    // CI keeps no artifacts: what the sandbox looked like goes to the log.
    console.log(`vm ${name} did not answer; the sandbox then:\n${await postMortem(sb.layout, 15)}`);
    return last;
  }

  async function idOf(name: string): Promise<string> {
    return String(
      (JSON.parse(out(ok(await sb.cli(['vm', 'show', name, '--json'])))) as { id: string }).id,
    );
  }
});

/**
 * Tap mode's host state after a restart: every VM tap (`bt-<12 hex of the id>`) belongs to a
 * VM called running and every such VM has its tap (pool taps `bp-` are the daemon's); the
 * nft tables exist exactly while a tap VM runs.
 */
async function tapLeaks(
  ns: Netns,
  vms: readonly { id: string; name: string; state: string }[],
): Promise<string[]> {
  const leaks: string[] = [];
  const links = String((await ns.exec('ip', ['-o', 'link', 'show'])).stdout);
  const taps = [...links.matchAll(/^\d+: (bt-[0-9a-f]+)[:@]/gm)].map((m) => m[1]!);
  const running = vms.filter((v) => v.state === 'running');
  for (const tap of taps)
    if (!running.some((v) => v.id.startsWith(tap.slice(3))))
      leaks.push(`tap ${tap} of no running VM`);
  for (const vm of running)
    if (!taps.some((t) => vm.id.startsWith(t.slice(3))))
      leaks.push(`vm ${vm.name} runs without its tap`);
  const tables = String((await ns.exec('nft', ['list', 'tables'])).stdout);
  if (running.length === 0 && /banger/.test(tables)) leaks.push('nft tables with no tap VM');
  if (running.length > 0 && !/inet banger/.test(tables)) leaks.push('tap VMs run without nft');
  return leaks;
}

/** The suite's table: runs, faults injected, invariant violations, leaks. */
function table(rows: readonly Row[]): string {
  const ops = new Map<Op, Row[]>();
  for (const r of rows) ops.set(r.op, [...(ops.get(r.op) ?? []), r]);
  const lines = [
    '| operation killed | runs | invariant violations | leaks |',
    '| --- | --- | --- | --- |',
  ];
  for (const [op, rs] of ops)
    lines.push(
      `| ${op} | ${rs.length} | ${rs.reduce((n, r) => n + r.violations.length, 0)} | ${rs.reduce((n, r) => n + r.leaks.length, 0)} |`,
    );
  const v = rows.reduce((n, r) => n + r.violations.length, 0);
  const l = rows.reduce((n, r) => n + r.leaks.length, 0);
  lines.push(`| **all** (seed ${SEED}) | ${rows.length} | ${v} | ${l} |`);
  return lines.join('\n');
}
