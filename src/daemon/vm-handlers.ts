import { vmFiles } from '../config/layout.js';
import { errorMessage } from '../errors.js';
import type { MethodName } from '../protocol/index.js';
import { sessionOp } from '../session/sessions.js';
import { startVm } from '../vm/boot.js';
import type { VmContext } from '../vm/context.js';
import { createVm } from '../vm/create.js';
import { findVm, viewOf } from '../vm/lookup.js';
import { hasSavedState } from '../vm/lookup.js';
import { discardSaved, resumeSaved, suspendVm } from '../vm/suspend.js';
import { forkVm } from '../vm/fork/fork.js';
import { pauseVm, resumeVm } from '../vm/pause.js';
import { addPort, listPorts, removePort } from '../vm/ports.js';
import { runContextOf } from '../vm/run-context.js';
import { setVm } from '../vm/set.js';
import { setEgress } from '../vm/set-egress.js';
import { vmStats } from '../vm/stats.js';
import { destroy, killVm, stopVm } from '../vm/stop.js';
import { vmDetailOf, vmSummaryOf } from '../vm/vm-view.js';
import { copyFiles } from '../transfer/copy.js';
import { exportWorkspace, prepareWorkspace } from '../workspace/workspace.js';
import type { Handlers } from './route-table.js';

type VmMethod = Extract<MethodName, `vm.${string}`>;

/** The vm.* methods: each a VM use case (src/vm/, src/workspace/, src/session/). */
export function vmHandlers(ctx: VmContext): Pick<Handlers, VmMethod> {
  return {
    'vm.list': async () => ({
      // One VM that cannot be read is shown as broken; the listing itself never fails.
      vms: await Promise.all(
        ctx.store.vms.list().map(async (vm) => {
          try {
            return vmSummaryOf(await viewOf(ctx, vm));
          } catch (err) {
            return {
              ...vmSummaryOf({ vm, image: vm.imageId, running: false, handles: undefined }),
              state: 'broken' as const,
              error: errorMessage(err),
            };
          }
        }),
      ),
    }),
    'vm.names': () => ({ names: ctx.store.vms.names() }),
    'vm.create': async (params, call) => vmDetailOf(await createVm(ctx, params, call)),
    'vm.plan': async ({ image: ref, cold, ...size }) => {
      const image = cold ? undefined : ctx.store.images.findByName(ref ?? ctx.defaultImage);
      return { start: image && ctx.warm ? await ctx.warm.plan(image, size) : 'cold' };
    },
    'vm.start': async ({ sshWaitMs, cold }, call, vm) => {
      if (cold) await discardSaved(vm);
      else if (hasSavedState(vm)) return vmDetailOf(await resumeSaved(ctx, vm, call));
      return vmDetailOf(await startVm(ctx, vm, call, sshWaitMs));
    },
    'vm.restart': async ({ sshWaitMs }, call, vm) => {
      // A restart is a reboot: a saved state is not resumed.
      await stopVm(ctx, vm);
      await discardSaved(vm);
      return vmDetailOf(await startVm(ctx, findVm(ctx, vm.id), call, sshWaitMs));
    },
    'vm.stop': ({ save }, call, vm) => (save ? suspendVm(ctx, vm, call) : stopVm(ctx, vm)),
    'vm.kill': (_params, _call, vm) => killVm(ctx, vm),
    'vm.fork': async ({ names, count }, call, vm) => {
      const r = await forkVm(
        ctx,
        vm,
        { ...(names ? { names } : {}), ...(count ? { count } : {}) },
        call,
      );
      return { children: r.children.map(vmDetailOf), pausedMs: r.pausedMs };
    },
    'vm.pause': async (_params, _call, vm) => vmDetailOf(await pauseVm(ctx, vm)),
    'vm.resume': async (_params, _call, vm) => vmDetailOf(await resumeVm(ctx, vm)),
    'vm.delete': async (_params, _call, vm) => {
      await destroy(ctx, vm);
      return { name: vm.name };
    },
    'vm.set': async ({ ref: _ref, ...change }, _call, vm) =>
      vmDetailOf(await setVm(ctx, vm, change)),
    'vm.egress.set': async ({ egress }, _call, vm) => vmDetailOf(await setEgress(ctx, vm, egress)),
    'vm.show': async ({ ref }) => vmDetailOf(await viewOf(ctx, findVm(ctx, ref))),
    'vm.stats': ({ ref }) => vmStats(ctx, ref),
    'vm.logs': ({ ref, egress }) => {
      const vm = findVm(ctx, ref);
      const path = egress
        ? vmFiles(vm.dir).egressLog
        : (ctx.handles.peek(vm.id)?.consoleLog ?? vmFiles(vm.dir).consoleLog);
      return { name: vm.name, path };
    },
    'vm.ssh': (_params, _call, { vm, target }) => {
      const run = runContextOf(ctx, vm);
      return { name: vm.name, ...target, ...(run ? { run } : {}) };
    },
    'vm.ports': (_params, call, conn) => listPorts(ctx, conn, call.signal),
    'vm.port.add': ({ guest, host }, _call, vm) =>
      addPort(ctx, vm, { guest, ...(host !== undefined ? { host } : {}) }),
    'vm.port.rm': ({ guest }, _call, vm) => removePort(ctx, vm, guest),
    'vm.workspace.prepare': ({ ref: _ref, ...req }, call, conn) =>
      prepareWorkspace(ctx, conn, req, call),
    'vm.cp': ({ direction, host, guest }, call, conn) =>
      copyFiles(ctx, conn, { direction, host, guest }, call),
    'vm.workspace.export': ({ out, nameOnly }, call, conn) =>
      exportWorkspace(ctx, conn, { out, nameOnly: nameOnly ?? false }, call),
    'vm.session.start': async ({ name, command }, call, conn) => ({
      sessions: await sessionOp(ctx, conn, { op: 'start', name, command }, call.signal),
    }),
    'vm.session.list': async (_params, call, conn) => ({
      sessions: await sessionOp(ctx, conn, { op: 'list' }, call.signal),
    }),
    'vm.session.show': async ({ name }, call, conn) => ({
      sessions: await sessionOp(ctx, conn, { op: 'show', name }, call.signal),
    }),
    'vm.session.send': async ({ name, text, enter }, call, conn) => ({
      sessions: await sessionOp(ctx, conn, { op: 'send', name, text, enter }, call.signal),
    }),
    'vm.session.stop': async ({ name }, call, conn) => ({
      sessions: await sessionOp(ctx, conn, { op: 'stop', name }, call.signal),
    }),
    'vm.session.kill': async ({ name }, call, conn) => ({
      sessions: await sessionOp(ctx, conn, { op: 'kill', name }, call.signal),
    }),
  };
}
