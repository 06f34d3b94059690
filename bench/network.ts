// Tap against user-mode networking, same VM spec, same run, inside a network namespace the
// bench makes and deletes (tap needs the daemon there; nothing leaves it):
// - host→guest TCP throughput: 256 MiB from the host to a `busybox nc -l` in the guest, to
//   the guest's address (tap) and to a QEMU hostfwd on 127.0.0.1 (user); goal tap ÷ user ≥ 3;
// - `vm create` time, alternating tap and user; goal tap ÷ user ≤ 1.05 (the tap pool hides
//   tap creation).
// Run: npx tsx bench/network.ts   (BENCH_RUNS=3 by default)
import { QmpClient } from '../src/vmm/qemu/qmp.js';
import { benchSandbox, median, seconds } from '../test/helpers/bench.js';
import { makeNetns } from '../test/helpers/netns.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const MIB = Number(process.env.BENCH_MIB ?? 256);
const SPEC = ['--vcpu', '2', '--memory', '1024'];
const ns = await makeNetns('bgb');
const { sb, cli } = await benchSandbox({ netns: ns.name });

/** Sends MIB MiB to host:port from inside the namespace; the seconds until the guest closed. */
async function send(host: string, port: number): Promise<number> {
  const script = `
const s = require('node:net').connect(${port}, ${JSON.stringify(host)});
const chunk = Buffer.alloc(1 << 20, 7); let left = ${MIB}; const t0 = performance.now();
const pump = () => { while (left > 0) { left--; if (!s.write(chunk)) return s.once('drain', pump); } s.end(); };
s.on('connect', pump);
s.on('close', () => process.stdout.write(String((performance.now() - t0) / 1000)));
s.on('error', (e) => { console.error(e.message); process.exit(1); });`;
  const r = await ns.exec(process.execPath, ['-e', script], { timeoutMs: 600_000 });
  if (r.exitCode !== 0) throw new Error(`send to ${host}:${port} failed: ${String(r.stderr)}`);
  return Number(r.stdout);
}

/**
 * A sink in the guest: `busybox nc -l` on 5001 into /dev/null (not the session's pane, which
 * would throttle it), started as a session, listening before we send.
 */
async function sink(vm: string): Promise<void> {
  await cli([
    'vm',
    'session',
    'start',
    vm,
    `sink${Date.now()}`,
    '--',
    'sh',
    '-c',
    'exec busybox nc -l -p 5001 > /dev/null',
  ]);
  for (let i = 0; i < 50; i++) {
    const r = await cli([
      'vm',
      'ssh',
      vm,
      '--',
      'sh',
      '-c',
      'cat /proc/net/tcp /proc/net/tcp6 | grep -c ":1389 .* 0A " || true',
    ]);
    if (Number(r.stdout.trim()) > 0) return;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`no listener on 5001 in ${vm}`);
}

try {
  await cli(['vm', 'ls']);
  const create = { tap: [] as number[], user: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    for (const mode of ['tap', 'user'] as const) {
      const t0 = performance.now();
      await cli(['vm', 'create', '--name', `${mode}${i}`, '--network', mode, ...SPEC]);
      create[mode].push(seconds(t0));
    }
    console.log(
      `create ${i + 1}: tap ${create.tap.at(-1)!.toFixed(2)} s, user ${create.user.at(-1)!.toFixed(2)} s`,
    );
    if (i > 0) await cli(['vm', 'rm', `tap${i}`, `user${i}`]);
  }
  const createRatio = median(create.tap) / median(create.user);

  const tapIp = JSON.parse((await cli(['vm', 'show', 'tap0', '--json'])).stdout).guestIp as string;
  const paths = JSON.parse((await cli(['internal', 'paths', 'user0'])).stdout) as {
    vm: { files: { qmpSocket: string } };
  };
  const qmpSocket = paths.vm.files.qmpSocket;
  const qmp = await QmpClient.connect(qmpSocket);
  await qmp.execute('human-monitor-command', {
    'command-line': 'hostfwd_add tcp:127.0.0.1:45001-:5001',
  });
  qmp.close();
  const tput = { tap: [] as number[], user: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    await sink('tap0');
    tput.tap.push(MIB / (await send(tapIp, 5001)));
    await sink('user0');
    tput.user.push(MIB / (await send('127.0.0.1', 45001)));
    console.log(
      `throughput ${i + 1}: tap ${tput.tap.at(-1)!.toFixed(1)} MiB/s, user ${tput.user.at(-1)!.toFixed(1)} MiB/s`,
    );
  }
  console.log(
    `vm create: tap ${median(create.tap).toFixed(2)} s, user ${median(create.user).toFixed(2)} s (medians of ${RUNS}), ratio ${createRatio.toFixed(2)} (goal ≤ 1.05)`,
  );
  console.log(
    `host→guest TCP: tap ${median(tput.tap).toFixed(1)} MiB/s, user ${median(tput.user).toFixed(1)} MiB/s, ratio ${(median(tput.tap) / median(tput.user)).toFixed(2)} (goal ≥ 3)`,
  );
} finally {
  await cli(['vm', 'rm', 'tap0', 'user0']).catch(() => undefined);
  await sb.dispose();
  await ns.dispose();
}
