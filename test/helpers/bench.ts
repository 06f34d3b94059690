import { execa } from 'execa';
import { stat } from 'node:fs/promises';
import { benchGolden } from './golden.js';
import { CLI, makeSandbox, type Sandbox, type SandboxOptions } from './sandbox.js';

/**
 * A benchmark's private banger: a sandbox whose default image is the golden one (built, or
 * from BANGER_BENCH_GOLDEN), and a `cli` that throws with stderr when a command fails.
 */
export async function benchSandbox(options: SandboxOptions = {}): Promise<{
  sb: Sandbox;
  golden: Awaited<ReturnType<typeof benchGolden>>;
  cli: (args: string[]) => Promise<{ stdout: string; stderr: string }>;
}> {
  const golden = await benchGolden();
  const sb = await makeSandbox(options);
  const cli = async (args: string[]) => {
    const r = await execa(...command(options, args), {
      env: sb.env,
      extendEnv: false,
      reject: false,
      timeout: 900_000,
    });
    if (r.exitCode !== 0)
      throw new Error(`banger ${args.join(' ')} exited ${r.exitCode}:\n${String(r.stderr)}`);
    return { stdout: String(r.stdout), stderr: String(r.stderr) };
  };
  await cli([
    ...['image', 'register', 'debian-bookworm', '--rootfs', golden.rootfs],
    ...['--kernel', golden.kernel, '--initrd', golden.initrd],
    ...(await stat(golden.modules).then(
      () => ['--modules', golden.modules],
      () => [],
    )),
  ]);
  return { sb, golden, cli };
}

export const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
export const seconds = (t0: number): number => (performance.now() - t0) / 1000;

/** The CLI, run in the sandbox's network namespace when it has one. */
function command(options: SandboxOptions, args: string[]): [string, string[]] {
  return options.netns
    ? ['ip', ['netns', 'exec', options.netns, process.execPath, CLI, ...args]]
    : [process.execPath, [CLI, ...args]];
}

/** A running VM's host memory as PSS (KiB): pages it shares with others count in part. */
export async function vmPssKiB(
  cli: (args: string[]) => Promise<{ stdout: string }>,
  name: string,
): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const show = JSON.parse((await cli(['vm', 'show', name, '--json'])).stdout) as { pid: number };
  const rollup = await readFile(`/proc/${show.pid}/smaps_rollup`, 'utf8');
  return Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0);
}
