import type { Recipe } from './recipe.js';

export interface MmdebstrapPlan {
  recipe: Recipe;
  mirror: string;
  securityMirror?: string;
  extraPackages: readonly string[];
  /** Downloaded .debs are kept here between builds (mmdebstrap's sync-in/sync-out hooks). */
  aptCacheDir: string;
}

/**
 * The mmdebstrap command line: minbase + the recipe's packages, written as a tar on stdout
 * (banger extracts it itself, so ownership is captured the same way as for any rootfs tar).
 */
export function mmdebstrapArgs(plan: MmdebstrapPlan): string[] {
  const { recipe, mirror } = plan;
  const packages = [...recipe.packages, recipe.kernelPackage, ...plan.extraPackages];
  const sources = [
    `deb ${mirror} ${recipe.suite} main`,
    `deb ${mirror} ${recipe.suite}-updates main`,
  ];
  if (plan.securityMirror) sources.push(`deb ${plan.securityMirror} ${recipe.suite}-security main`);
  return [
    '--variant=minbase',
    `--include=${[...new Set(packages)].join(',')}`,
    '--aptopt=APT::Install-Recommends "false"',
    // Documentation is dead weight in a throwaway VM; copyright files stay.
    '--dpkgopt=path-exclude=/usr/share/man/*',
    '--dpkgopt=path-exclude=/usr/share/info/*',
    '--dpkgopt=path-exclude=/usr/share/doc/*',
    '--dpkgopt=path-include=/usr/share/doc/*/copyright',
    // banger boots its own initramfs: the kernel package's update-initramfs run is wasted time.
    '--essential-hook=chroot "$1" dpkg-divert --quiet --local --rename --add /usr/sbin/update-initramfs && ln -sf /bin/true "$1/usr/sbin/update-initramfs"',
    // sync-in/sync-out are mmdebstrap's own hook commands; they take whitespace-free paths.
    ...(/\s/.test(plan.aptCacheDir)
      ? []
      : [
          '--setup-hook=mkdir -p "$1/var/cache/apt/archives"',
          `--setup-hook=sync-in ${plan.aptCacheDir} /var/cache/apt/archives/`,
          `--customize-hook=sync-out /var/cache/apt/archives ${plan.aptCacheDir}`,
          // Keep the essential packages' .debs too, so the cache holds the whole set.
          '--skip=essential/unlink',
        ]),
    recipe.suite,
    '-',
    ...sources,
  ];
}
