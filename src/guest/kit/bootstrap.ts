import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Runner } from '../../system/runner.js';
import { KIT_PACKAGES, KIT_SUITE } from './layout.js';

export interface KitBootstrapPlan {
  mirror: string;
  securityMirror?: string | undefined;
  /** .debs kept between builds, as for the golden image (mmdebstrap's sync-in/sync-out). */
  aptCacheDir: string;
  packages?: readonly string[];
}

/** Written into the tree by the extract hook: apt's own account of what it unpacked. */
export const PACKAGE_LIST = 'banger-kit-packages';

/**
 * `--variant=extract`: apt resolves the dependencies and downloads them, dpkg-deb unpacks
 * them, and no maintainer script runs — nothing to configure, so no chroot, no root and no
 * Essential set (20 s against a minute for `essential`). `chrootless` mode writes a plain
 * directory owned by whoever runs it. Faster and less code than `apt-get download` with a
 * hand-resolved dependency list, and it reuses the golden build's apt cache convention.
 */
export function kitMmdebstrapArgs(plan: KitBootstrapPlan, tree: string): string[] {
  const packages = plan.packages ?? KIT_PACKAGES;
  const sources = [
    `deb ${plan.mirror} ${KIT_SUITE} main`,
    `deb ${plan.mirror} ${KIT_SUITE}-updates main`,
  ];
  if (plan.securityMirror) sources.push(`deb ${plan.securityMirror} ${KIT_SUITE}-security main`);
  const cache = /\s/.test(plan.aptCacheDir)
    ? []
    : [
        '--setup-hook=mkdir -p "$1/var/cache/apt/archives"',
        `--setup-hook=sync-in ${plan.aptCacheDir} /var/cache/apt/archives/`,
        // The extract variant runs no customize hooks: the cache is synced back from here.
        `--extract-hook=sync-out /var/cache/apt/archives ${plan.aptCacheDir}`,
      ];
  return [
    '--mode=chrootless',
    '--variant=extract',
    `--include=${packages.join(',')}`,
    '--aptopt=APT::Install-Recommends "false"',
    ...cache,
    // The same resolution apt just made, printed as "Inst NAME (VERSION …)" lines: the
    // manifest's package versions, without the stale .debs a shared cache also holds.
    `--extract-hook=APT_CONFIG="$MMDEBSTRAP_APT_CONFIG" apt-get --simulate install $(echo "$MMDEBSTRAP_INCLUDE" | tr , " ") > "$1/${PACKAGE_LIST}"`,
    KIT_SUITE,
    tree,
    ...sources,
  ];
}

/**
 * The kit's packages unpacked into `tree` (which must not exist or be empty). The scratch
 * TMPDIR sits in workDir, so a cancelled run leaves nothing the caller's cleanup misses.
 */
export async function bootstrapKitTree(
  plan: KitBootstrapPlan,
  tree: string,
  workDir: string,
  runner: Runner,
  signal?: AbortSignal,
): Promise<Map<string, string>> {
  const tmp = join(workDir, 'tmp');
  await mkdir(tmp, { recursive: true });
  await mkdir(plan.aptCacheDir, { recursive: true });
  const mm = runner.stream('mmdebstrap', kitMmdebstrapArgs(plan, tree), {
    signal,
    env: { TMPDIR: tmp },
    processGroup: true,
  });
  mm.stdin.end();
  mm.stdout.resume();
  await mm.done;
  return parseSimulatedInstall(await readFile(join(tree, PACKAGE_LIST), 'utf8'));
}

/** "Inst libc6 (2.36-9+deb12u7 Debian:12.7/stable [amd64])" → libc6 → 2.36-9+deb12u7. */
export function parseSimulatedInstall(text: string): Map<string, string> {
  const versions = new Map<string, string>();
  for (const m of text.matchAll(/^Inst (\S+) (?:\[[^\]]*\] )?\((\S+)/gm))
    versions.set(m[1]!, m[2]!);
  return new Map([...versions].sort(([a], [b]) => a.localeCompare(b)));
}
