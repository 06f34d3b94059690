import { join } from 'node:path';
import { buildGuestKit, type GuestKitBuildResult } from '../../src/guest/kit/build.js';
import { realRunner } from '../../src/system/runner.js';
import { disposeAdhocRunDir, oncePerRun } from './once-per-run.js';

export interface BuiltKit extends GuestKitBuildResult {
  /** Seconds the build took (for the report; a cached kit reports its first build's). */
  seconds: number;
  stages: string[];
}

/** A file run by hand removes what it built (a named run's directory goes at its end). */
export const disposeGuestKit = disposeAdhocRunDir;

/**
 * The guest kit, built once per test run from the host's Debian mirror and shared by the
 * files that need it.
 */
export function guestKit(): Promise<BuiltKit> {
  return oncePerRun('guest-kit', async (dir) => {
    const started = Date.now();
    const stages: string[] = [];
    const built = await buildGuestKit({
      outFile: join(dir, 'kit.ext4'),
      workDir: join(dir, 'work'),
      aptCacheDir: join(dir, 'apt-archives'),
      runner: realRunner,
      progress: (stage, detail) => stages.push(`${stage}: ${detail ?? ''}`),
    });
    return { ...built, seconds: (Date.now() - started) / 1000, stages };
  });
}
