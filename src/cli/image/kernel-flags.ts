import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';

/** How an image names its kernel: a registered kernel, or files on the host. */
export interface KernelFlags {
  kernelRef?: string;
  kernel?: string;
  initrd?: string;
  modules?: string;
}

export function addKernelFlags(cmd: Command): Command {
  return cmd
    .option('--kernel-ref <name>', 'a local kernel (see "banger kernel ls")')
    .option('--kernel <file>', 'a kernel image file (vmlinux or vmlinuz), instead of --kernel-ref')
    .option('--initrd <file>', 'an initramfs for --kernel')
    .option('--modules <dir>', 'a lib/modules/<version> tree for --kernel');
}

/** Checked here so a contradiction never reaches the daemon (which checks again). */
export function checkKernelFlags(opts: KernelFlags, example: string, required: boolean): void {
  const paths = (['kernel', 'initrd', 'modules'] as const).filter((k) => opts[k] !== undefined);
  const hint = `e.g. ${example}`;
  if (opts.kernelRef !== undefined && paths.length > 0)
    throw new UsageError(
      `--kernel-ref cannot be combined with ${paths.map((p) => `--${p}`).join(', ')}: name a kernel one way`,
      { hint },
    );
  if (opts.kernel === undefined && paths.length > 0)
    throw new UsageError('--initrd and --modules belong to --kernel: give --kernel FILE too', {
      hint,
    });
  if (required && opts.kernelRef === undefined && opts.kernel === undefined)
    throw new UsageError('a kernel is needed: give --kernel-ref NAME or --kernel FILE', { hint });
}

/** The kernel flags as RPC params: file paths made absolute (the daemon has another cwd). */
export function kernelParams(opts: KernelFlags): KernelFlags {
  const abs = (p: string | undefined) => (p ? resolve(p) : undefined);
  return {
    kernelRef: opts.kernelRef,
    kernel: abs(opts.kernel),
    initrd: abs(opts.initrd),
    modules: abs(opts.modules),
  };
}
