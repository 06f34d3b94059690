import pc from 'picocolors';
import { resolveLayout, type Layout } from '../config/layout.js';
import { missingPackages, worst, type CheckResult, type Verdict } from '../doctor/check.js';
import { runDoctor } from '../doctor/doctor.js';
import { formatCommand, realRunner, type Runner } from '../system/runner.js';
import { withDaemon } from './with-daemon.js';

const MARK: Record<Verdict, string> = {
  ok: pc.green('ok  '),
  warn: pc.yellow('warn'),
  fail: pc.red('fail'),
};

export async function doctorCommand(fix: boolean, runner: Runner = realRunner): Promise<number> {
  const layout = resolveLayout();
  let results = await check(layout, runner);
  print(results);
  const packages = missingPackages(results);
  if (fix && packages.length > 0) {
    if (process.getuid?.() !== 0) {
      process.stdout.write(
        `\n--fix needs root: run ${formatCommand('sudo', ['banger', 'doctor', '--fix'])}\n`,
      );
      return 1;
    }
    for (const [file, args] of [
      ['apt-get', ['update']],
      ['apt-get', ['install', '-y', '--no-install-recommends', ...packages]],
    ] as const) {
      process.stdout.write(`\n+ ${formatCommand(file, args)}\n`);
      await runner.run(file, args, {
        inheritOutput: true,
        env: { DEBIAN_FRONTEND: 'noninteractive' },
      });
    }
    process.stdout.write('\n');
    results = await check(layout, runner);
    print(results);
  } else if (packages.length > 0) {
    process.stdout.write(
      `\nmissing packages: ${packages.join(' ')} — "sudo banger doctor --fix" installs them\n`,
    );
  }
  return worst(results) === 'fail' ? 1 : 0;
}

function check(layout: Layout, runner: Runner): Promise<CheckResult[]> {
  return runDoctor({
    layout,
    runner,
    localImages: () =>
      withDaemon(async (c) => (await c.call('image.list', {})).images.map((i) => i.name), {
        layout,
      }),
  });
}

function print(results: readonly CheckResult[]): void {
  const width = Math.max(...results.map((r) => r.name.length));
  for (const r of results) {
    const fix = r.verdict !== 'ok' && r.fix ? pc.dim(` — fix: ${r.fix}`) : '';
    process.stdout.write(`${MARK[r.verdict]}  ${r.name.padEnd(width)}  ${r.detail}${fix}\n`);
  }
}
