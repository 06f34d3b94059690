import { remoteCommand } from './options.js';

/**
 * How a user's command runs in a VM, as `docker run` runs one in its image: the image
 * config's Env, WorkingDir and User (pulled images; the golden image has none, and its
 * commands run as root in /root with sshd's environment). The daemon makes it (vm/run-context.ts);
 * the CLI and the session script apply it with the functions below.
 */
export interface RunContext {
  /** KEY=VALUE, exported in this order. */
  env: string[];
  /** The directory a command starts in when no workspace is given. */
  workingDir?: string;
  /** The argv prefix that runs a program as the image's user; absent for root. */
  runAs?: string[];
}

/** A POSIX shell variable name: anything else in an image's Env is left out. */
const NAME = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** `export K=V …` of the context's environment, or nothing. */
function exports(context: RunContext | undefined): string | undefined {
  const env = (context?.env ?? []).filter((e) => NAME.test(e));
  return env.length > 0 ? `export ${remoteCommand(env)}` : undefined;
}

/** The run-as prefix of a command ("" for root). */
function runAsPrefix(context: RunContext | undefined): string {
  return context?.runAs?.length ? `${remoteCommand(context.runAs)} ` : '';
}

/**
 * The shell text before a command: `cd DIR && export K=V … && ` (each part only when there is
 * something to do) and the run-as prefix. `dir` wins over the context's working directory.
 */
export function contextPrefix(
  context: RunContext | undefined,
  dir: string | undefined,
): { prelude: string; runAs: string } {
  const cwd = dir ?? context?.workingDir;
  const env = exports(context);
  const prelude = (cwd ? `cd ${remoteCommand([cwd])} && ` : '') + (env ? `${env} && ` : '');
  return { prelude, runAs: runAsPrefix(context) };
}

/**
 * The script a session runs (its `run` file): the workspace when there is one, else the
 * image's working directory, else /root; then the context's environment and user.
 */
export function sessionRunScript(command: string, context: RunContext | undefined): string {
  const dirs = ['/root/repo', ...(context?.workingDir ? [context.workingDir] : [])];
  const cd = dirs.map((d) => `cd ${remoteCommand([d])} 2>/dev/null`).join(' || ');
  const env = exports(context);
  return `${cd} || cd /root\n${env ? `${env}\n` : ''}exec ${runAsPrefix(context)}${command}\n`;
}
