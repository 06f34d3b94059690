// vm cp of a 200 MiB file into a running VM (the data port) against the same bytes piped
// through the VM's ssh connection (`cat file | banger vm ssh VM -- sh -c 'cat > f'`), in the
// same run, and vm cp back out. Medians of 3. Goal: in ÷ ssh ≥ 2 (the speed-up).
// Run: npx tsx bench/cp.ts
import { execa } from 'execa';
import { join } from 'node:path';
import { benchSandbox, median, seconds } from '../test/helpers/bench.js';
import { CLI } from '../test/helpers/sandbox.js';

const { sb, cli } = await benchSandbox();
const file = join(sb.dir, 'big.bin');
const banger = `'${process.execPath}' '${CLI}'`;
const sh = (script: string) => execa('sh', ['-c', script], { env: sb.env, extendEnv: false });
const times = async (fn: () => Promise<unknown>) => {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await fn();
    runs.push(seconds(t0));
  }
  return median(runs);
};

try {
  await sh(`head -c ${200 * 2 ** 20} /dev/urandom > '${file}'`);
  await cli(['vm', 'create', '--cold', '--name', 'box']);
  const ssh = await times(() =>
    sh(`cat '${file}' | ${banger} vm ssh box -- sh -c 'cat > /root/piped.bin'`),
  );
  const cpIn = await times(() => cli(['vm', 'cp', file, 'box:/root/copied.bin']));
  const cpOut = await times(() =>
    cli(['vm', 'cp', 'box:/root/copied.bin', join(sb.dir, 'back.bin')]),
  );
  console.log(
    `200 MiB into the VM: cat | ssh ${ssh.toFixed(2)} s (${(200 / ssh).toFixed(0)} MiB/s), vm cp ${cpIn.toFixed(2)} s (${(200 / cpIn).toFixed(0)} MiB/s): ${(ssh / cpIn).toFixed(2)}× (goal ≥ 2); vm cp back out ${cpOut.toFixed(2)} s (${(200 / cpOut).toFixed(0)} MiB/s)`,
  );
  await cli(['vm', 'rm', 'box']);
} finally {
  await sb.dispose();
}
