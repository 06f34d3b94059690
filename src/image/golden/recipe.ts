/** A local build recipe: how banger makes an image (and its kernel) from Debian packages. */
export interface Recipe {
  name: string;
  distro: string;
  arch: string;
  suite: string;
  /** Installed on top of mmdebstrap's minbase variant. */
  packages: readonly string[];
  /** The kernel package; its vmlinuz and modules become the image's kernel. */
  kernelPackage: string;
  /** Name the kernel is registered under. */
  kernelName: string;
  description: string;
}

export const RECIPES: ReadonlyMap<string, Recipe> = new Map([
  [
    'debian-bookworm',
    {
      name: 'debian-bookworm',
      distro: 'debian',
      arch: 'x86_64',
      suite: 'bookworm',
      packages: [
        'systemd-sysv',
        'udev',
        'kmod',
        'openssh-server',
        'sudo',
        'git',
        'tmux',
        'curl',
        'ca-certificates',
        'iproute2',
        'procps',
        'less',
        'busybox-static',
      ],
      kernelPackage: 'linux-image-cloud-amd64',
      kernelName: 'debian-bookworm-cloud',
      description: 'Debian 12 with systemd, sshd, git, tmux; built locally with mmdebstrap',
    },
  ],
]);
