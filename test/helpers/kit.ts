import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGuestKit, type GuestKitBuildResult } from '../../src/guest/kit/build.js';
import { realRunner } from '../../src/system/runner.js';

export interface BuiltKit extends GuestKitBuildResult {
  /** Seconds the build took (for the report; a cached kit reports its first build's). */
  seconds: number;
  stages: string[];
}

/**
 * Where the kit is cached: inside the run's directory, which scripts/run-tests.mjs removes
 * when the run ends; a file run by hand gets its own, which `disposeGuestKit` removes.
 */
function kitDir(): string {
  const run = process.env.BANGER_TEST_RUN;
  return run
    ? join(tmpdir(), `banger-e2e-${run}`, 'guest-kit')
    : join(tmpdir(), `banger-kit-test-adhoc-${process.pid}`);
}

export async function disposeGuestKit(): Promise<void> {
  if (!process.env.BANGER_TEST_RUN) await rm(kitDir(), { recursive: true, force: true });
}

/**
 * The guest kit, built once per test run from the host's Debian mirror and shared by the
 * files that need it: the first caller builds (holding `kit.lock`), the others poll for
 * `kit.json`.
 */
export async function guestKit(): Promise<BuiltKit> {
  const dir = kitDir();
  await mkdir(dir, { recursive: true });
  const result = join(dir, 'kit.json');
  const failure = join(dir, 'kit.failed');
  if (
    await mkdir(join(dir, 'kit.lock')).then(
      () => true,
      () => false,
    )
  ) {
    const started = Date.now();
    const stages: string[] = [];
    try {
      const built = await buildGuestKit({
        outFile: join(dir, 'kit.ext4'),
        workDir: join(dir, 'work'),
        aptCacheDir: join(dir, 'apt-archives'),
        runner: realRunner,
        progress: (stage, detail) => stages.push(`${stage}: ${detail ?? ''}`),
      });
      const kit: BuiltKit = { ...built, seconds: (Date.now() - started) / 1000, stages };
      await writeFile(result, JSON.stringify(kit));
      return kit;
    } catch (err) {
      await writeFile(failure, String(err instanceof Error ? err.stack : err));
      throw err;
    }
  }
  for (const deadline = Date.now() + 15 * 60_000; Date.now() < deadline;) {
    const done = await readFile(result, 'utf8').catch(() => '');
    if (done) return JSON.parse(done) as BuiltKit;
    const failed = await readFile(failure, 'utf8').catch(() => '');
    if (failed) throw new Error(`the shared guest kit build failed:\n${failed}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for the guest kit build in ${dir}`);
}
