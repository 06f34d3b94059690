import { execInVm, type ExecResult } from '../../exec/exec.js';
import { OutputCap } from '../../exec/output-cap.js';
import { INTERRUPTED, sshTargetFor } from './ssh-session.js';

/** What `vm exec --timeout` exits with, as coreutils' timeout does. */
export const TIMED_OUT = 124;

/** Runs the command; returns the exit code the CLI leaves with. */
export async function runExec(
  vm: string,
  command: string[],
  flags: { cwd?: string; env: string[]; timeout?: number; json?: boolean; maxOutput: number },
): Promise<number> {
  const target = await sshTargetFor(vm);
  const env = Object.fromEntries(
    flags.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
  );
  const stdout = new OutputCap(flags.maxOutput);
  const stderr = new OutputCap(flags.maxOutput);
  // Ctrl-C stops the command in the guest, then the CLI leaves with 130.
  const interrupt = new AbortController();
  const onInterrupt = () => interrupt.abort();
  process.on('SIGINT', onInterrupt);
  let result: ExecResult;
  try {
    result = await execInVm(target, command, {
      cwd: flags.cwd,
      env,
      timeoutMs: flags.timeout !== undefined ? flags.timeout * 1000 : undefined,
      signal: interrupt.signal,
      stdin: process.stdin.isTTY ? undefined : 'inherit',
      onStdout: flags.json ? (c) => stdout.add(c) : (c) => process.stdout.write(c),
      onStderr: flags.json ? (c) => stderr.add(c) : (c) => process.stderr.write(c),
    });
  } finally {
    process.off('SIGINT', onInterrupt);
  }
  const code = result.timedOut ? TIMED_OUT : result.aborted ? INTERRUPTED : result.exitCode;
  if (flags.json)
    process.stdout.write(
      `${JSON.stringify({
        exitCode: result.exitCode,
        signal: result.signal ?? null,
        timedOut: result.timedOut,
        stdout: stdout.text(),
        stderr: stderr.text(),
        truncated: stdout.truncated || stderr.truncated,
        outputCap: flags.maxOutput,
        durationMs: result.durationMs,
      })}\n`,
    );
  else if (result.timedOut)
    process.stderr.write(`banger: vm exec: stopped after --timeout ${flags.timeout} s\n`);
  return code;
}
