import { BangerError, ErrorCode } from '../errors.js';
import type { VmStateName } from '../protocol/method.js';
import type { VmRecord } from '../store/vms.js';
import type { VmContext } from './context.js';
import { effectiveState, findVm } from './lookup.js';
import { reconcile } from './reconcile.js';

/**
 * Which states of a VM an operation is allowed in (declared once per RPC method, in
 * src/protocol/) and what it is called for the error (e.g. "vm set").
 */
export interface VmRule {
  states: readonly VmStateName[];
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
    // A rule that takes a VM running or paused alike (stop, kill, delete…) need not ask QEMU.
    const either = rule.states.includes('running') && rule.states.includes('paused');
    const state =
      either && current.state === 'running' ? 'running' : await effectiveState(ctx, current);
    if (!rule.states.includes(state)) throw wrongState({ name: current.name, state }, rule);
    return fn(current);
  });
}

const STATE_WORDS: Record<VmStateName, string> = {
  created: 'not started',
  running: 'running',
  paused: 'paused',
  stopped: 'stopped',
  suspended: 'suspended (its memory is saved)',
  error: 'not running (its last boot failed)',
};

/** The one error text for an operation asked of a VM in a state it does not allow. */
function wrongState(vm: { name: string; state: VmStateName }, rule: VmRule): BangerError {
  const needs = rule.states.includes('running')
    ? 'running'
    : rule.states.includes('paused')
      ? 'paused'
      : 'stopped';
  const hint =
    vm.state === 'suspended'
      ? `start it (it resumes where it was), or discard its saved state: banger vm start ${vm.name} --cold`
      : needs === 'stopped'
        ? `stop it first: banger vm stop ${vm.name}`
        : vm.state === 'paused'
          ? `resume it first: banger vm resume ${vm.name}`
          : needs === 'paused'
            ? `pause it first: banger vm pause ${vm.name}`
            : `start it first: banger vm start ${vm.name}`;
  return new BangerError(
    ErrorCode.Conflict,
    `vm "${vm.name}" is ${STATE_WORDS[vm.state]}: "banger ${rule.what}" needs it ${needs}`,
    { hint },
  );
}
