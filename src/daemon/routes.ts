import { join } from 'node:path';
import type { z } from 'zod';
import { daemonPing, daemonShutdown, daemonStatus } from '../protocol/daemon.js';
import {
  imageBuild,
  imageDelete,
  imageExport,
  imageList,
  imagePromote,
  imagePull,
  imageRegister,
  imageShow,
} from '../protocol/image.js';
import {
  kernelCatalog,
  kernelDelete,
  kernelImport,
  kernelList,
  kernelPull,
  kernelShow,
} from '../protocol/kernel.js';
import type { ImageService } from '../image/image-service.js';
import { imageSummary, kernelSummary } from '../image/image-records.js';
import type { KernelService } from '../kernel/kernel-service.js';
import type { MethodSpec } from '../protocol/method.js';
import {
  vmCreate,
  vmDelete,
  vmKill,
  vmList,
  vmLogs,
  vmNames,
  vmRestart,
  vmSet,
  vmShow,
  vmSsh,
  vmStart,
  vmStats,
  vmSession,
  vmStop,
  vmWorkspaceExport,
  vmWorkspacePrepare,
} from '../protocol/vm.js';
import type { VmService } from '../vm/vm-service.js';
import { vmDetailOf, vmSummaryOf } from '../vm/vm-view.js';
import { errorMessage } from '../errors.js';
import type { Store } from '../store/store.js';
import { VERSION } from '../version.js';
import type { Layout } from '../config/layout.js';
import type { VmmChoice } from '../vmm/select.js';
import type { CallContext, Route } from './rpc-server.js';

/** What the handlers may use: the daemon's services, never the daemon object itself. */
export interface Services {
  layout: Layout;
  store: Store;
  vmm: VmmChoice & { kvm: string };
  startedAt: Date;
  images: ImageService;
  kernels: KernelService;
  vms: VmService;
  requestShutdown(): void;
}

function route<P extends z.ZodType, R extends z.ZodType>(
  spec: MethodSpec<string, P, R>,
  handle: (params: z.output<P>, ctx: CallContext) => Promise<z.input<R>> | z.input<R>,
): [string, Route] {
  return [spec.name, { spec, handle: async (params, ctx) => handle(params as z.output<P>, ctx) }];
}

export function buildRoutes(s: Services): Map<string, Route> {
  const kernelName = (id: string) => s.store.kernels.findById(id)?.name;
  return new Map([
    route(daemonPing, () => ({ version: VERSION, pid: process.pid })),
    route(daemonStatus, () => ({
      pid: process.pid,
      version: VERSION,
      startedAt: s.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - s.startedAt.getTime()) / 1000),
      socket: s.layout.socket,
      stateDir: s.layout.stateDir,
      configFile: s.layout.configFile,
      vmm: s.vmm,
    })),
    route(daemonShutdown, () => {
      // Reply first; the shutdown starts once the answer is on the wire.
      setTimeout(() => s.requestShutdown(), 10);
      return { pid: process.pid };
    }),
    route(vmList, async () => ({
      // One VM that cannot be read is shown as broken; the listing itself never fails.
      vms: await Promise.all(
        s.store.vms.list().map(async (vm) => {
          try {
            return vmSummaryOf(await s.vms.view(vm));
          } catch (err) {
            return {
              ...vmSummaryOf({ vm, image: vm.imageId, running: false, handles: undefined }),
              state: 'broken' as const,
              error: errorMessage(err),
            };
          }
        }),
      ),
    })),
    route(vmCreate, async (params, ctx) => vmDetailOf(await s.vms.create(params, ctx))),
    route(vmStart, async ({ ref, sshWaitMs }, ctx) =>
      vmDetailOf(await s.vms.start(ref, ctx, sshWaitMs)),
    ),
    route(vmRestart, async ({ ref, sshWaitMs }, ctx) =>
      vmDetailOf(await s.vms.restart(ref, ctx, sshWaitMs)),
    ),
    route(vmStop, ({ ref }) => s.vms.stop(ref)),
    route(vmKill, ({ ref }) => s.vms.kill(ref)),
    route(vmDelete, ({ ref }) => s.vms.delete(ref)),
    route(vmSet, async ({ ref, ...change }) => vmDetailOf(await s.vms.set(ref, change))),
    route(vmShow, async ({ ref }) => vmDetailOf(await s.vms.view(s.vms.find(ref)))),
    route(vmStats, ({ ref }) => s.vms.stats(ref)),
    route(vmLogs, ({ ref }) => s.vms.consoleLog(ref)),
    route(vmWorkspacePrepare, ({ ref, ...req }, ctx) => s.vms.prepareWorkspace(ref, req, ctx)),
    route(vmWorkspaceExport, ({ ref, out, nameOnly }, ctx) =>
      s.vms.exportWorkspace(ref, { out, nameOnly: nameOnly ?? false }, ctx),
    ),
    route(vmSession, async ({ ref, op, ...args }, ctx) => ({
      sessions: await s.vms.session(ref, op, args, ctx.signal),
    })),
    route(vmSsh, async ({ ref }, ctx) => {
      const { vm, target } = await s.vms.connect(ref, ctx.signal);
      return { name: vm.name, ...target };
    }),
    route(vmNames, () => ({ names: s.store.vms.names() })),
    route(imageList, () => ({
      images: s.store.images.list().map((i) => imageSummary(i, kernelName)),
    })),
    route(imageShow, ({ name }) => {
      const image = s.images.get(name);
      const kernel = image.kernelId ? s.store.kernels.findById(image.kernelId) : undefined;
      return {
        ...imageSummary(image, kernelName),
        description: image.description,
        source: image.source,
        dir: image.dir,
        ...(kernel ? { kernelFile: kernel.kernelFile } : {}),
        ...(kernel?.initrdFile ? { initrdFile: kernel.initrdFile } : {}),
        usedBy: s.store.vms.usingImage(image.id),
      };
    }),
    route(imageBuild, async (params, ctx) =>
      imageSummary(await s.images.build(params, ctx), kernelName),
    ),
    route(imageDelete, async ({ name }) => {
      await s.images.delete(name);
      return { name };
    }),
    route(imageRegister, async (params) =>
      imageSummary(await s.images.register(params), kernelName),
    ),
    route(imagePull, async (params, ctx) =>
      imageSummary(await s.images.pull(params, ctx), kernelName),
    ),
    route(imageExport, ({ name, out }, ctx) => s.images.export(name, out, ctx)),
    route(imagePromote, async ({ vm, name }, ctx) =>
      imageSummary(
        await s.vms.whileStopped(vm, `promoting it`, (record) =>
          s.images.promote(
            {
              vmName: record.name,
              systemDisk: join(record.dir, 'system.qcow2'),
              imageId: record.imageId,
            },
            name,
            ctx,
          ),
        ),
        kernelName,
      ),
    ),
    route(kernelPull, async ({ name, force }, ctx) =>
      kernelSummary(await s.kernels.pull(name, force ?? false, ctx)),
    ),
    route(kernelCatalog, async (_params, ctx) => ({
      kernels: await s.kernels.catalog(ctx.signal),
    })),
    route(kernelList, () => ({ kernels: s.store.kernels.list().map(kernelSummary) })),
    route(kernelShow, ({ name }) => {
      const k = s.kernels.get(name);
      return {
        ...kernelSummary(k),
        dir: k.dir,
        ...(k.modulesDir ? { modulesDir: k.modulesDir } : {}),
        sha256: k.sha256,
        usedBy: s.store.kernels.usedBy(k.id),
      };
    }),
    route(kernelDelete, async ({ name }) => {
      await s.kernels.delete(name);
      return { name };
    }),
    route(kernelImport, async ({ name, from }) =>
      kernelSummary(await s.kernels.import(name, from)),
    ),
  ]);
}
