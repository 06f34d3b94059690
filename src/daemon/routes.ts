import type { z } from 'zod';
import { daemonPing, daemonShutdown, daemonStatus } from '../protocol/daemon.js';
import { imageList } from '../protocol/image.js';
import { kernelList } from '../protocol/kernel.js';
import type { MethodSpec } from '../protocol/method.js';
import { vmList, vmNames } from '../protocol/vm.js';
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
  requestShutdown(): void;
}

function route<P extends z.ZodType, R extends z.ZodType>(
  spec: MethodSpec<string, P, R>,
  handle: (params: z.output<P>, ctx: CallContext) => Promise<z.input<R>> | z.input<R>,
): [string, Route] {
  return [spec.name, { spec, handle: async (params, ctx) => handle(params as z.output<P>, ctx) }];
}

export function buildRoutes(s: Services): Map<string, Route> {
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
    route(vmList, () => {
      const images = new Map(s.store.images.list().map((i) => [i.id, i.name]));
      return {
        vms: s.store.vms.list().map((vm) => ({
          id: vm.id,
          name: vm.name,
          state: vm.state,
          image: images.get(vm.imageId) ?? vm.imageId,
          vcpu: vm.vcpu,
          memoryMiB: vm.memoryMiB,
          diskBytes: vm.diskBytes,
          createdAt: vm.createdAt,
          ...(vm.lastError ? { error: vm.lastError } : {}),
        })),
      };
    }),
    route(vmNames, () => ({ names: s.store.vms.names() })),
    route(imageList, () => {
      const kernels = new Map(s.store.kernels.list().map((k) => [k.id, k.name]));
      return {
        images: s.store.images.list().map((img) => ({
          id: img.id,
          name: img.name,
          managed: img.managed,
          distro: img.distro,
          arch: img.arch,
          ...(img.kernelId ? { kernel: kernels.get(img.kernelId) ?? img.kernelId } : {}),
          sizeBytes: img.sizeBytes,
          createdAt: img.createdAt,
          rootfs: img.rootfsFile,
        })),
      };
    }),
    route(kernelList, () => ({
      kernels: s.store.kernels.list().map((k) => ({
        id: k.id,
        name: k.name,
        version: k.version,
        source: k.source,
        kernel: k.kernelFile,
        ...(k.initrdFile ? { initrd: k.initrdFile } : {}),
        createdAt: k.createdAt,
      })),
    })),
  ]);
}
