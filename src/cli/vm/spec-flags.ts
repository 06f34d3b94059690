import { Option, type Command } from 'commander';
import type { SpecField } from '../../config/limits.js';
import { formatSize } from '../../config/size.js';
import type { Layout } from '../../config/layout.js';
import type { Config } from '../../config/schema.js';
import type { ResolvedVmDefaults } from '../../config/vm-defaults.js';
import { BangerError } from '../../errors.js';
import type { PublishRequest } from '../../protocol/vm.js';
import { nameValue, positiveNumberValue, specValue } from '../flag-values.js';
import { collectPublish } from './publish-flag.js';

/** The sizing flags shared by `vm run`, `vm create` and `vm set`; parsed before any action. */
export interface SpecFlags {
  vcpu?: number;
  memory?: number; // MiB
  diskSize?: number; // bytes
}

/** Everything `vm create` takes; `vm run` takes the same. */
export interface CreateFlags extends SpecFlags {
  name?: string;
  image?: string;
  nat?: boolean;
  egress?: string;
  network?: 'user' | 'tap';
  publish?: PublishRequest[];
  sshWaitSeconds?: number;
  cold?: boolean;
}

/**
 * The ssh-wait deadline the daemon should use, in ms: the hidden --ssh-wait-seconds flag,
 * else BANGER_SSH_WAIT_SECONDS (the test suite sets it: a boot on a host saturated by other
 * tests is slow, and a test must not be a timing assertion), else the daemon's 90 s.
 */
export function sshWaitParam(flags: { sshWaitSeconds?: number }): { sshWaitMs?: number } {
  const env = Number(process.env.BANGER_SSH_WAIT_SECONDS);
  const seconds = flags.sshWaitSeconds ?? (Number.isFinite(env) && env > 0 ? env : undefined);
  return seconds !== undefined ? { sshWaitMs: Math.round(seconds * 1000) } : {};
}

/**
 * How long to wait for the guest's sshd (default 90 s). Hidden: it exists so tests and slow
 * hosts can change the deadline, not as an everyday knob.
 */
export function addSshWaitFlag(cmd: Command): Command {
  return cmd.addOption(
    new Option('--ssh-wait-seconds <seconds>', 'how long to wait for sshd in the guest')
      .argParser(positiveNumberValue('--ssh-wait-seconds', '90'))
      .hideHelp(),
  );
}

const SPEC_FLAGS: readonly {
  field: SpecField;
  flags: string;
  description: string;
  example: string;
  show: (value: number) => string;
}[] = [
  {
    field: 'vcpu',
    flags: '--vcpu <count>',
    description: 'virtual CPUs',
    example: '2',
    show: String,
  },
  {
    field: 'memoryMiB',
    flags: '--memory <size>',
    description: 'guest memory: MiB, or a size like 2G',
    example: '2G',
    show: (mib) => `${mib} MiB`,
  },
  {
    field: 'diskBytes',
    flags: '--disk-size <size>',
    description: 'work disk mounted at /root, e.g. 8G',
    example: '20G',
    show: formatSize,
  },
];

/** --vcpu, --memory, --disk-size; a value outside the VM limits is a usage error naming its flag. */
export function addSpecFlags(cmd: Command): Command {
  for (const { field, flags, description, example } of SPEC_FLAGS) {
    const flag = flags.split(' ')[0] ?? flags;
    cmd.option(flags, description, specValue(field, flag, example));
  }
  return cmd;
}

/**
 * config.toml, and the size a new VM gets for each flag not given with the layer that decided
 * it (config, auto, builtin). A broken config.toml is a Config error. No daemon is involved.
 */
export async function loadCreateDefaults(): Promise<{
  layout: Layout;
  config: Config;
  defaults: ResolvedVmDefaults;
}> {
  const [{ resolveLayout }, shared] = await Promise.all([
    import('../../config/layout.js'),
    import('../../config/create-defaults.js'),
  ]);
  const layout = resolveLayout();
  return { layout, ...(await shared.loadCreateDefaults(layout.configFile)) };
}

/** The defaults for help: undefined when config.toml is broken (the command reports that). */
async function helpDefaults(): Promise<ResolvedVmDefaults | undefined> {
  try {
    return (await loadCreateDefaults()).defaults;
  } catch (err) {
    if (err instanceof BangerError) return undefined;
    throw err;
  }
}

/**
 * Puts the resolved defaults into the help of `cmd`'s sizing flags: `virtual CPUs (default 2,
 * auto)`. Help is rendered synchronously, so they are resolved in the parent's preSubcommand
 * hook, which commander awaits before it parses `cmd` (and prints its --help). Only then is
 * config.toml read: `banger --help` and every other command never pay for it.
 */
function showCreateDefaults(cmd: Command): void {
  cmd.parent?.hook('preSubcommand', async (_, sub) => {
    if (sub !== cmd) return;
    const defaults = await helpDefaults();
    if (defaults === undefined) return;
    for (const { field, flags, description, show } of SPEC_FLAGS) {
      const option = cmd.options.find((o) => o.flags === flags);
      const { value, source } = defaults[field];
      if (option) option.description = `${description} (default ${show(value)}, ${source})`;
    }
  });
}

export function addCreateFlags(cmd: Command): Command {
  cmd
    .option(
      '--name <name>',
      'VM name, a DNS label (default: a generated adjective-noun)',
      nameValue('VM', '--name'),
    )
    .option(
      '--image <name>',
      'image to boot (default: default_image_name, built or pulled if missing)',
    );
  addSpecFlags(cmd);
  showCreateDefaults(cmd);
  cmd.addOption(
    new Option(
      '--network <mode>',
      'user (rootless, ssh forwarded from 127.0.0.1) or tap (a bridge, its own address, name.vm); default: network.mode',
    ).choices(['user', 'tap']),
  );
  cmd.option(
    '--egress <policy>',
    "what the guest may reach outside: none, all, or names for HTTP(S) through banger's proxy (pypi.org,*.npmjs.org); default: network.egress, none",
  );
  cmd.option('--nat', 'the same as --egress all');
  cmd.option(
    '--cold',
    'boot the VM even when a warm-start template of its image and size would resume it in about a second',
  );
  cmd.option(
    '--publish <[host:]guest>',
    'publish a guest TCP port on 127.0.0.1 (repeatable): from the same port, from HOST, or 0:GUEST for any free one',
    collectPublish,
  );
  return addSshWaitFlag(cmd);
}
