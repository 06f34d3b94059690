import { randomBytes } from 'node:crypto';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { BangerError } from '../errors.js';
import { mcpOwner } from '../protocol/owner.js';
import type { Banger } from '../sdk/banger.js';
import type { Vm } from '../sdk/vm.js';

// One `banger mcp` process is one MCP session: the VMs it creates carry its owner label
// (`mcp:<pid>:<session>`) and are deleted when it ends unless the agent asked to keep them;
// a crash leaves them for `vm prune`, which finds the label's process gone. Command output
// past what a tool result carries is kept here, in memory, for exec_output.

/** The most a tool result carries of each stream. */
export const RESULT_OUTPUT_BYTES = 64 * 1024;
/** The most kept of each stream for exec_output, and how many results are kept. */
const KEPT_OUTPUT_BYTES = 16 * 1024 * 1024;
const KEPT_RESULTS = 20;

export class McpSession {
  readonly id = randomBytes(6).toString('hex');
  readonly owner = mcpOwner(process.pid, this.id);
  /** VMs to delete at the end: made by this session and not kept. */
  private readonly owned = new Set<string>();
  private readonly outputs = new Map<string, { stdout: Buffer; stderr: Buffer }>();
  /** VMs by name, kept between calls (each keeps its ssh target: one RPC less per call). */
  private readonly vms = new Map<string, Vm>();

  constructor(readonly banger: Banger) {}

  /** The VM of that name (NOT_FOUND when there is none). */
  async vm(name: string): Promise<Vm> {
    const known = this.vms.get(name);
    if (known) return known;
    const vm = await this.banger.vms.get(name);
    this.vms.set(name, vm);
    return vm;
  }

  /** Asks bangerd again next time: the VM failed to answer, or is gone. */
  forget(name: string): void {
    this.vms.delete(name);
  }

  /** Runs `body` on the VM; a failure (or ssh's own 255) forgets it, so the next call asks anew. */
  async withVm<T>(name: string, body: (vm: Vm) => Promise<T>): Promise<T> {
    try {
      return await body(await this.vm(name));
    } catch (err) {
      this.forget(name);
      throw err;
    }
  }

  own(name: string): void {
    this.owned.add(name);
  }

  disown(name: string): void {
    this.owned.delete(name);
  }

  /** Keeps a command's whole output (up to a bound) under a new id. */
  keepOutput(stdout: Buffer, stderr: Buffer): string {
    const id = randomBytes(4).toString('hex');
    this.outputs.set(id, {
      stdout: stdout.subarray(0, KEPT_OUTPUT_BYTES),
      stderr: stderr.subarray(0, KEPT_OUTPUT_BYTES),
    });
    for (const old of this.outputs.keys()) {
      if (this.outputs.size <= KEPT_RESULTS) break;
      this.outputs.delete(old);
    }
    return id;
  }

  output(id: string): { stdout: Buffer; stderr: Buffer } | undefined {
    return this.outputs.get(id);
  }

  /**
   * Deletes the VMs this session owns, all requests at once (bangerd finishes a delete even
   * when this process is killed meanwhile); the names it could not delete, with why.
   */
  async end(): Promise<string[]> {
    const names = [...this.owned];
    this.owned.clear();
    const results = await Promise.allSettled(
      names.map((ref) => this.banger.call('vm.delete', { ref })),
    );
    return results.flatMap((r, i) =>
      r.status === 'rejected'
        ? [`${names[i]}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`]
        : [],
    );
  }
}

/** A tool's answer: its data as JSON text (what every client shows to the model). */
export function ok(data: unknown): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(data, null, 2) }] };
}

/** banger's message (and hint) as a tool error: the call failed, the server did not. */
export function toolError(err: unknown): CallToolResult {
  const text =
    err instanceof BangerError
      ? `${err.message}${err.hint ? ` (${err.hint})` : ''} [${err.code}]`
      : err instanceof Error
        ? err.message
        : String(err);
  return { isError: true, content: [{ type: 'text', text }] };
}

/** Runs a tool body, turning any failure into a tool error. */
export async function guarded(body: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await body();
  } catch (err) {
    return toolError(err);
  }
}
