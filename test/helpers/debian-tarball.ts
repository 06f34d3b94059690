import { execa } from 'execa';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { debianMirror, hostAptSources } from '../../src/image/golden/apt-sources.js';
import { oncePerRun } from './once-per-run.js';

/**
 * A minimal Debian bookworm root as a tarball (`mmdebstrap --variant=minbase`, what the
 * `debian` container images are made of: no init, no sshd, no kmod), from this host's
 * Debian mirror, made once per test run.
 */
export function debianTarball(): Promise<string> {
  return mmdebstrapTar('debian-minbase', ['--variant=minbase']);
}

/**
 * Debian packages unpacked into a tarball and nothing else (`--variant=extract`: no dpkg
 * database, no essential set), e.g. `musl` for a musl image.
 */
export function debianPackagesTarball(packages: readonly string[]): Promise<string> {
  return mmdebstrapTar(`debian-${packages.join('-')}`, [
    '--variant=extract',
    `--include=${packages.join(',')}`,
  ]);
}

async function mmdebstrapTar(name: string, args: string[]): Promise<string> {
  return oncePerRun(name, async (dir) => {
    const mirror = debianMirror(await hostAptSources(), 'bookworm');
    if (!mirror) throw new Error("no Debian mirror for bookworm in this host's apt sources");
    const tmp = join(dir, 'tmp');
    await mkdir(tmp, { recursive: true });
    const out = join(dir, `${name}.tar`);
    await execa(
      'mmdebstrap',
      [...args, '--quiet', 'bookworm', out, `deb ${mirror} bookworm main`],
      {
        env: { TMPDIR: tmp },
      },
    );
    return out;
  });
}
