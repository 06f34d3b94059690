import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import type { Result } from 'execa';
import { goldenImage } from './golden.js';
import { makeSandbox, sandboxProcesses, type Sandbox, type SandboxOptions } from './sandbox.js';

/**
 * A sandbox whose default image is the run's golden image, registered in place (VMs overlay
 * it read-only), so VM tests boot the real thing without building it again.
 */
export async function vmSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const golden = await goldenImage();
  const sb = await makeSandbox(options);
  const r = await sb.cli([
    ...['image', 'register', 'debian-bookworm', '--rootfs', golden.rootfs],
    ...['--kernel', golden.kernel, '--initrd', golden.initrd, '--modules', golden.modules],
  ]);
  assert.equal(r.exitCode, 0, String(r.stderr));
  return sb;
}

export function out(r: Result): string {
  return String(r.stdout);
}

export function err(r: Result): string {
  return String(r.stderr);
}

/** Asserts a CLI call succeeded, showing its stderr when it did not. */
export function ok(r: Result, what = 'command'): Result {
  assert.equal(r.exitCode, 0, `${what} exited ${r.exitCode}:\n${err(r)}`);
  return r;
}

export async function vmShow(sb: Sandbox, name: string): Promise<Record<string, unknown>> {
  return JSON.parse(out(ok(await sb.cli(['vm', 'show', name, '--json'])))) as Record<
    string,
    unknown
  >;
}

/** Nothing of any VM is left: no VM directory, no qemu or ssh process. */
export async function assertNoVmLeft(sb: Sandbox): Promise<void> {
  assert.deepEqual(await readdir(sb.layout.vmsDir), []);
  assert.deepEqual(await sandboxProcesses(sb.dir), []);
}
