// The catalogs every banger ships with. We publish nothing, so their entries carry a local
// build recipe and no URL; config catalogs (searched first) are how teams add downloads.
import type { Catalog } from './catalog.js';

export const EMBEDDED_SOURCE = 'embedded';

export const EMBEDDED_IMAGES: Catalog = Object.freeze({
  version: 1,
  entries: Object.freeze([
    Object.freeze({
      name: 'debian-bookworm',
      distro: 'debian',
      arch: 'x86_64',
      kernelRef: 'debian-bookworm-cloud',
      description: 'Debian 12 with systemd, sshd, git, tmux; built locally with mmdebstrap',
      recipe: 'debian-bookworm',
    }),
  ]),
});

export const EMBEDDED_KERNELS: Catalog = Object.freeze({
  version: 1,
  entries: Object.freeze([
    Object.freeze({
      name: 'debian-bookworm-cloud',
      distro: 'debian',
      arch: 'x86_64',
      description: 'linux-image-cloud-amd64 from the debian-bookworm build',
      recipe: 'debian-bookworm',
    }),
  ]),
});

export function embeddedCatalog(kind: 'images' | 'kernels'): Catalog {
  return kind === 'images' ? EMBEDDED_IMAGES : EMBEDDED_KERNELS;
}
