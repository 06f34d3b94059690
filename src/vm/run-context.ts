import { inKit, KitPath } from '../guest/kit/layout.js';
import { RUN_AS } from '../guest/kit/run-as.js';
import type { RunContext } from '../ssh/run-context.js';
import type { OciImageInfo } from '../store/images.js';
import type { VmRecord } from '../store/vms.js';
import type { VmContext } from './context.js';
import { proxyEnv, USER_PROXY } from '../egress/guest-env.js';

/** `docker run`'s PATH for an image whose Env sets none. */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * How a user's command runs on this VM: its image's config (pulled images), else as root;
 * without NAT, with the egress proxy's variables (the proxy is the guest's only way out).
 */
export function runContextOf(ctx: VmContext, vm: VmRecord): RunContext | undefined {
  const oci = ctx.store.images.findById(vm.imageId)?.oci;
  const image = oci ? ociRunContext(oci) : undefined;
  if (vm.nat) return image;
  const proxy = vm.networkMode === 'tap' ? ctx.tapProxy : USER_PROXY;
  if (!proxy) return image;
  return { ...image, env: [...proxyEnv(proxy), ...(image?.env ?? [])] };
}

/**
 * The image's Env (its PATH, or docker's default, with the guest kit's tools last: the
 * image's own programs win, and git, tmux and tar are there when the image has none), its
 * WorkingDir, and its User unless that is root.
 */
export function ociRunContext(oci: Pick<OciImageInfo, 'env' | 'workingDir' | 'user'>): RunContext {
  const kitBin = inKit(KitPath.bin);
  const path = oci.env.find((e) => e.startsWith('PATH='))?.slice('PATH='.length) ?? DEFAULT_PATH;
  const env = [
    ...oci.env.filter((e) => !e.startsWith('PATH=')),
    `PATH=${path ? `${path}:` : ''}${kitBin}`,
  ];
  const keepHome = oci.env.some((e) => e.startsWith('HOME='));
  return {
    env,
    ...(oci.workingDir ? { workingDir: oci.workingDir } : {}),
    ...(isRoot(oci.user)
      ? {}
      : { runAs: [inKit(RUN_AS), ...(keepHome ? ['--keep-home'] : []), oci.user] }),
  };
}

/** "", "root", "0", "root:root", "0:0": nothing to switch. */
function isRoot(user: string): boolean {
  const [u = '', g] = user.split(':');
  const root = (s: string) => s === '' || s === 'root' || s === '0';
  return root(u) && (g === undefined || root(g));
}
