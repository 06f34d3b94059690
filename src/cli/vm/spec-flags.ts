import { Option, type Command } from 'commander';
import {
  memoryValue,
  nameValue,
  positiveIntValue,
  positiveNumberValue,
  sizeValue,
} from '../flag-values.js';

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
  sshWaitSeconds?: number;
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

export function addSpecFlags(cmd: Command): Command {
  return cmd
    .option('--vcpu <count>', 'virtual CPUs', positiveIntValue('--vcpu', '2'))
    .option(
      '--memory <size>',
      'guest memory: MiB, or a size like 2G',
      memoryValue('--memory', '2G'),
    )
    .option(
      '--disk-size <size>',
      'work disk mounted at /root, e.g. 8G',
      sizeValue('--disk-size', '20G'),
    );
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
  cmd.option('--nat', 'let the guest reach outside networks (default: only the host, over ssh)');
  return addSshWaitFlag(cmd);
}
