// vm fork of a running 1 GiB VM: how long the parent is paused, the time until each child
// answers a command (fork call + first `vm ssh`), and host memory (PSS, so pages the children
// share through the fork's RAM file count once) of 4 idle children against 4 × one idle
// cold-booted VM, each after 10 s of idling.
// Run: npx tsx bench/fork.ts
import { readFile } from 'node:fs/promises';
import { benchSandbox, seconds, vmPssKiB } from '../test/helpers/bench.js';

const spec = ['--vcpu', '2', '--memory', '1024'];
const { sb, cli } = await benchSandbox();

const pssKiB = (name: string) => vmPssKiB(cli, name);

try {
  await cli(['vm', 'create', '--cold', '--name', 'parent', ...spec]);
  // One child, then three at once.
  let t0 = performance.now();
  const one = await cli(['vm', 'fork', 'parent', '--name', 'c1']);
  await cli(['vm', 'ssh', 'c1', '--', 'true']);
  const single = seconds(t0);
  const paused1 = /paused (\d+) ms/.exec(one.stderr)?.[1];
  t0 = performance.now();
  const three = await cli(['vm', 'fork', 'parent', '--count', '3']);
  const children = three.stdout.trim().split('\n');
  for (const c of children) await cli(['vm', 'ssh', c, '--', 'true']);
  const batch = seconds(t0);
  const paused3 = /paused (\d+) ms/.exec(three.stderr)?.[1];
  console.log(
    `vm fork, one child: ${single.toFixed(2)} s to its first command (parent paused ${paused1} ms); three children: ${batch.toFixed(2)} s for all three, ${(batch / 3).toFixed(2)} s each (parent paused ${paused3} ms)`,
  );

  await cli(['vm', 'create', '--cold', '--name', 'cold', ...spec]);
  await new Promise((r) => setTimeout(r, 10_000));
  const kids = await Promise.all(['c1', ...children].map(pssKiB));
  const cold = await pssKiB('cold');
  const total = kids.reduce((a, b) => a + b, 0);
  console.log(
    `PSS: 4 children ${(total / 1024).toFixed(0)} MiB (${kids.map((k) => (k / 1024).toFixed(0)).join(' + ')}), one cold VM ${(cold / 1024).toFixed(0)} MiB; ratio ${(total / (4 * cold)).toFixed(2)} (goal ≤ 0.6)`,
  );
  await cli(['vm', 'rm', 'parent', 'c1', ...children, 'cold']);
  const log = await readFile(sb.layout.daemonLog, 'utf8');
  for (const line of log.split('\n').filter((l) => /"vm (forked|resumed)"/.test(l))) {
    const e = JSON.parse(line) as Record<string, unknown>;
    const { msg, vm, pausedMs, searchMs, loadMs, identityMs, loginMs } = e;
    console.log(JSON.stringify({ msg, vm, pausedMs, searchMs, loadMs, identityMs, loginMs }));
  }
} finally {
  await sb.dispose();
}
