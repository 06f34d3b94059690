import type { Command } from 'commander';
import { UsageError } from '../../errors.js';

/** A command's operands split at the `--` the user typed; `command` is undefined without one. */
export interface GuestCommandArgs {
  operands: string[];
  command: string[] | undefined;
}

/**
 * commander drops the `--` marker on the way to a subcommand (the root has no positional
 * options), but everything after it arrives as the last operands; the root's raw argv still
 * has the marker, so the count after it tells where the guest command starts.
 */
export function splitAtDashDash(cmd: Command): GuestCommandArgs {
  let root = cmd;
  while (root.parent) root = root.parent;
  const raw = (root as unknown as { rawArgs?: unknown }).rawArgs;
  const argv = Array.isArray(raw) && raw.length > 0 ? (raw as string[]) : process.argv;
  const at = argv.indexOf('--');
  const operands = cmd.args;
  if (at < 0) return { operands, command: undefined };
  const count = Math.min(argv.length - at - 1, operands.length);
  const split = operands.length - count;
  return { operands: operands.slice(0, split), command: operands.slice(split) };
}

/**
 * For a command declared as `<own args...> [cmd...]`: the own arguments must all come before
 * `--` and the guest command after it, so `vm ssh box make` is an error rather than a guess.
 */
export function parseGuestCommand(cmd: Command, example: string): GuestCommandArgs {
  const split = splitAtDashDash(cmd);
  const own = cmd.registeredArguments.slice(0, -1);
  const hint = `e.g. ${example}`;
  const missing = own.slice(split.operands.length).find((a) => a.required);
  if (missing) throw new UsageError(`missing argument '${missing.name()}' before --`, { hint });
  const extra = split.operands[own.length];
  if (extra !== undefined)
    throw new UsageError(
      `unexpected argument ${JSON.stringify(extra)}: put the guest command after --`,
      {
        hint,
      },
    );
  if (split.command?.length === 0)
    throw new UsageError('nothing after --: give the command to run', { hint });
  return split;
}
