import { execa, type Result, type ResultPromise } from 'execa';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveLayout, type Layout } from '../../src/config/layout.js';
import { postMortem } from './post-mortem.js';

export const REPO = new URL('../..', import.meta.url).pathname;
export const CLI = join(REPO, 'bin/banger.js');

/**
 * A private banger world: every XDG variable and HOME point into one temp dir, so a test
 * never touches the developer's state. dispose() kills any daemon it started and removes it.
 */
export interface Sandbox {
  dir: string;
  env: Record<string, string>;
  layout: Layout;
  cli(args: readonly string[], options?: { input?: string; timeoutMs?: number }): Promise<Result>;
  /** The CLI in the background, for tests that act while it runs; stderr() is what it said so far. */
  spawn(args: readonly string[]): { child: ResultPromise; stderr: () => string };
  daemonPid(): Promise<number | undefined>;
  dispose(): Promise<void>;
}

/**
 * Every sandbox's config.toml starts with this: a name no catalog has falls through to an
 * OCI registry, and a test must never reach Docker Hub, so the default registry is a closed
 * port on loopback. A test that writes its own config.toml starts from this text.
 */
// [warm] auto is off: a background template boot after every cold create would double each
// e2e test's VM load; the warm-start tests turn it on.
export const SANDBOX_CONFIG = '[oci]\ndefault_registry = "127.0.0.1:1"\n[warm]\nauto = false\n';

export interface SandboxOptions {
  /** Run every CLI call (and so the daemon it starts, and its VMs) in this network namespace. */
  netns?: string;
  /** More config.toml, after SANDBOX_CONFIG (read by the daemon the first CLI call starts). */
  config?: string;
}

export async function makeSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  // Short base path: Unix socket paths must stay under 108 bytes.
  const dir = await mkdtemp(join(tmpdir(), 'bgr-'));
  const env: Record<string, string> = {
    HOME: join(dir, 'home'),
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_STATE_HOME: join(dir, 'state'),
    XDG_CACHE_HOME: join(dir, 'cache'),
    XDG_RUNTIME_DIR: join(dir, 'run'),
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    NO_COLOR: '1',
    // Boots on a host busy with other tests are slow: no 90 s deadline turns that into a
    // failure (the ssh-wait timeout test passes its own --ssh-wait-seconds). Still under the
    // tests' 600 s boot timeout, so a boot that never ends fails with banger's own words.
    BANGER_SSH_WAIT_SECONDS: '300',
    // c8 collects coverage from child processes through this variable.
    ...(process.env.NODE_V8_COVERAGE ? { NODE_V8_COVERAGE: process.env.NODE_V8_COVERAGE } : {}),
  };
  await mkdir(env.HOME!, { recursive: true });
  const layout = resolveLayout(env);
  await mkdir(layout.configDir, { recursive: true });
  await writeFile(layout.configFile, SANDBOX_CONFIG + (options.config ?? ''));
  const daemonPid = async () => {
    const text = await readFile(layout.pidFile, 'utf8').catch(() => '');
    const pid = Number.parseInt(text, 10);
    return Number.isFinite(pid) && pid > 0 ? pid : undefined;
  };
  const [file, prefix] = options.netns
    ? ['ip', ['netns', 'exec', options.netns, process.execPath, CLI]]
    : [process.execPath, [CLI]];
  return {
    dir,
    env,
    layout,
    cli: async (args, options = {}) => {
      const r = await execa(file, [...prefix, ...args], {
        env,
        extendEnv: false,
        reject: false,
        input: options.input ?? '',
        timeout: options.timeoutMs ?? 60_000,
      });
      // A call that hung says where: CI keeps no artifacts, the failure message is all we get.
      if (!r.timedOut) return r;
      const why = `\n[test: killed after ${options.timeoutMs ?? 60_000} ms; the sandbox then:]\n`;
      return Object.assign(r, { stderr: `${String(r.stderr)}${why}${await postMortem(layout)}` });
    },
    spawn: (args) => {
      const child = execa(file, [...prefix, ...args], {
        env,
        extendEnv: false,
        reject: false,
      });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += String(d)));
      return { child, stderr: () => stderr };
    },
    daemonPid,
    async dispose() {
      // SIGTERM first so a daemon shuts down cleanly (and writes its coverage), then make sure.
      const pids = await daemonPids(dir);
      for (const pid of pids) process.kill(pid, 'SIGTERM');
      await waitFor('daemons to exit', () => pids.every((p) => !alive(p)), 5000).catch(
        () => undefined,
      );
      for (const pid of pids) killHard(pid);
      // VMs (daemonized qemu) and ssh masters outlive the daemon by design: kill them too.
      for (const pid of await sandboxProcesses(dir)) killHard(pid);
      // BANGER_TEST_ARTIFACTS=DIR keeps the daemon log and VM consoles for a post-mortem.
      const keep = process.env.BANGER_TEST_ARTIFACTS;
      if (keep) {
        const target = join(keep, dir.split('/').pop()!);
        await mkdir(target, { recursive: true });
        await execa(
          'sh',
          [
            '-c',
            'cp --parents state/banger/bangerd.log state/banger/vms/*/console.log state/banger/vms/*/ssh.log "$0" 2>/dev/null || true',
            target,
          ],
          { cwd: dir, reject: false },
        );
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Every bangerd whose environment points into `dir` — also daemons whose pid file is gone. */
export async function daemonPids(dir: string): Promise<number[]> {
  const { stdout } = await execa('ps', ['-eo', 'pid=,args='], { reject: false });
  const candidates = stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((parts) => parts.slice(1).some((a) => a.endsWith('daemon/main.js')))
    .map((parts) => Number(parts[0]));
  const mine: number[] = [];
  for (const pid of candidates) {
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
    if (environ.split('\0').includes(`XDG_STATE_HOME=${join(dir, 'state')}`)) mine.push(pid);
  }
  return mine;
}

/**
 * Every process (other than bangerd) whose command line names a path inside `dir`: the
 * sandbox's VMs (qemu) and ssh master connections. A test that cleaned up finds none.
 */
export async function sandboxProcesses(dir: string): Promise<number[]> {
  const { readdir } = await import('node:fs/promises');
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const args = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (args.some((a) => a.endsWith('daemon/main.js'))) continue;
    if (args.some((a) => a.includes(`${dir}/`))) found.push(Number(entry));
  }
  return found;
}

export function killHard(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitFor(
  what: string,
  fn: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
