import { BangerError, ErrorCode } from '../errors.js';
import type { VmRecord, VmState } from '../store/vms.js';
import type { VmContext } from './context.js';
import { findVm } from './lookup.js';
import { reconcile } from './reconcile.js';

/**
 * Which states of a VM an operation is allowed in (declared once per RPC method, in
 * src/protocol/) and what it is called for the error (e.g. "vm set").
 */
export interface VmRule {
  states: readonly VmState[];
  what: string;
}

/**
 * The one place an operation's VM is looked up, locked, brought up to date and checked
 * against the states it is allowed in; `fn` runs with the VM's lifecycle lock held.
 */
export async function withVm<T>(
  ctx: VmContext,
  ref: string,
  rule: VmRule,
  fn: (vm: VmRecord) => Promise<T>,
): Promise<T> {
  const vm = findVm(ctx, ref);
  return ctx.locks.run(vm.id, async () => {
    const current = await reconcile(ctx, findVm(ctx, vm.id));
    if (!rule.states.includes(current.state)) throw wrongState(current, rule);
    return fn(current);
  });
}

const STATE_WORDS: Record<VmState, string> = {
  created: 'not started',
  running: 'running',
  stopped: 'stopped',
  error: 'not running (its last boot failed)',
};

/** The one error text for an operation asked of a VM in a state it does not allow. */
function wrongState(vm: Pick<VmRecord, 'name' | 'state'>, rule: VmRule): BangerError {
  const wantsRunning = rule.states.includes('running');
  const needs = wantsRunning ? 'running' : 'stopped';
  return new BangerError(
    ErrorCode.Conflict,
    `vm "${vm.name}" is ${STATE_WORDS[vm.state]}: "banger ${rule.what}" needs it ${needs}`,
    {
      hint: wantsRunning
        ? `start it first: banger vm start ${vm.name}`
        : `stop it first: banger vm stop ${vm.name}`,
    },
  );
}
