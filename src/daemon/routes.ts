import { imageSummary, kernelSummary } from '../image/image-records.js';
import type { ImageService } from '../image/image-service.js';
import type { KernelService } from '../kernel/kernel-service.js';
import { methods } from '../protocol/index.js';
import type { Store } from '../store/store.js';
import type { VmContext } from '../vm/context.js';
import { VERSION } from '../version.js';
import type { Layout } from '../config/layout.js';
import { vmFiles } from '../config/layout.js';
import type { VmmChoice } from '../vmm/select.js';
import { routesFrom, type Handlers } from './route-table.js';
import type { Route } from './rpc-server.js';
import { vmHandlers } from './vm-handlers.js';
import { BangerError, ErrorCode, notImplemented } from '../errors.js';

/** What the handlers may use: the daemon's services, never the daemon object itself. */
export interface Services {
  layout: Layout;
  store: Store;
  vmm: VmmChoice & { kvm: string };
  startedAt: Date;
  images: ImageService;
  kernels: KernelService;
  vms: VmContext;
  requestShutdown(): void;
}

export function buildRoutes(s: Services): Map<string, Route> {
  return routesFrom(methods, handlers(s), s.vms);
}

function handlers(s: Services): Handlers {
  const kernelName = (id: string) => s.store.kernels.findById(id)?.name;
  return {
    ...vmHandlers(s.vms),
    'daemon.ping': () => ({ version: VERSION, pid: process.pid }),
    'daemon.status': () => ({
      pid: process.pid,
      version: VERSION,
      startedAt: s.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - s.startedAt.getTime()) / 1000),
      socket: s.layout.socket,
      stateDir: s.layout.stateDir,
      configFile: s.layout.configFile,
      vmm: s.vmm,
    }),
    'daemon.shutdown': () => {
      // Reply first; the shutdown starts once the answer is on the wire.
      setTimeout(() => s.requestShutdown(), 10);
      return { pid: process.pid };
    },
    'image.list': () => ({
      images: s.store.images.list().map((i) => imageSummary(i, kernelName)),
    }),
    'image.show': async ({ name }) => {
      const image = s.images.get(name);
      const templates = (await s.vms.warm?.list(image)) ?? [];
      const kernel = image.kernelId ? s.store.kernels.findById(image.kernelId) : undefined;
      return {
        ...imageSummary(image, kernelName),
        description: image.description,
        source: image.source,
        dir: image.dir,
        ...(kernel ? { kernelFile: kernel.kernelFile } : {}),
        ...(kernel?.initrdFile ? { initrdFile: kernel.initrdFile } : {}),
        usedBy: s.store.vms.usingImage(image.id),
        ...(templates.length ? { templates } : {}),
        ...(image.oci ? { oci: image.oci } : {}),
      };
    },
    'image.warm': async ({ name, remove, ...size }, call) => {
      const image = s.images.get(name);
      const warm = s.vms.warm;
      if (!warm) throw notImplemented('warm start in this daemon');
      const { vcpu, memoryMiB, diskBytes, network } = size;
      const whole = vcpu !== undefined && memoryMiB !== undefined && diskBytes !== undefined;
      if (remove)
        return {
          name,
          removed: await warm.remove(
            image,
            whole ? { vcpu, memoryMiB, diskBytes, ...(network ? { network } : {}) } : undefined,
          ),
        };
      if (!whole)
        throw new BangerError(
          ErrorCode.InvalidParams,
          'image.warm needs vcpu, memoryMiB and diskBytes',
        );
      const meta = await warm.warm(
        image,
        { vcpu, memoryMiB, diskBytes, ...(network ? { network } : {}) },
        call,
      );
      const template = (await warm.list(image)).find((t) => t.key === meta.key);
      return { name, ...(template ? { template } : {}) };
    },
    'image.build': async (params, call) =>
      imageSummary(await s.images.build(params, call), kernelName),
    'image.delete': async ({ name }) => {
      await s.images.delete(name);
      await s.vms.warm?.prune();
      return { name };
    },
    'image.register': async (params) => imageSummary(await s.images.register(params), kernelName),
    'image.pull': async (params, call) =>
      imageSummary(await s.images.pull(params, call), kernelName),
    'image.export': ({ name, out }, call) => s.images.export(name, out, call),
    'image.promote': async ({ name }, call, vm) =>
      imageSummary(
        await s.images.promote(
          { vmName: vm.name, systemDisk: vmFiles(vm.dir).systemDisk, imageId: vm.imageId },
          name,
          call,
        ),
        kernelName,
      ),
    'kernel.pull': async ({ name, force }, call) =>
      kernelSummary(await s.kernels.pull(name, force ?? false, call)),
    'kernel.catalog': async (_params, call) => ({ kernels: await s.kernels.catalog(call.signal) }),
    'kernel.list': () => ({ kernels: s.store.kernels.list().map(kernelSummary) }),
    'kernel.show': ({ name }) => {
      const k = s.kernels.get(name);
      return {
        ...kernelSummary(k),
        dir: k.dir,
        ...(k.modulesDir ? { modulesDir: k.modulesDir } : {}),
        sha256: k.sha256,
        usedBy: s.store.kernels.usedBy(k.id),
      };
    },
    'kernel.delete': async ({ name }) => {
      await s.kernels.delete(name);
      return { name };
    },
    'kernel.import': async ({ name, from }) => kernelSummary(await s.kernels.import(name, from)),
  };
}
