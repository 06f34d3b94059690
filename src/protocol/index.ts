import { daemonPing, daemonShutdown, daemonStatus } from './daemon.js';
import {
  imageBuild,
  imageDelete,
  imageExport,
  imageList,
  imagePromote,
  imagePull,
  imageRegister,
  imageShow,
  imageWarm,
} from './image.js';
import {
  kernelCatalog,
  kernelDelete,
  kernelImport,
  kernelList,
  kernelPull,
  kernelShow,
} from './kernel.js';
import type { ParamsOf, ResultOf } from './method.js';
import {
  vmCreate,
  vmDelete,
  vmKill,
  vmList,
  vmLogs,
  vmNames,
  vmPortAdd,
  vmPortRm,
  vmPorts,
  vmRestart,
  vmSet,
  vmShow,
  vmSsh,
  vmStart,
  vmStats,
  vmStop,
  vmWorkspaceExport,
  vmCopy,
  vmWorkspacePrepare,
} from './vm.js';
import {
  vmSessionKill,
  vmSessionList,
  vmSessionSend,
  vmSessionShow,
  vmSessionStart,
  vmSessionStop,
} from './vm-sessions.js';
import { vmFork, vmPause, vmPlan, vmResume } from './vm-snapshots.js';
import { vmEgressSet } from './vm-egress.js';

const all = [
  daemonPing,
  daemonStatus,
  daemonShutdown,
  vmList,
  vmNames,
  vmCreate,
  vmPlan,
  vmStart,
  vmRestart,
  vmStop,
  vmKill,
  vmPause,
  vmResume,
  vmFork,
  vmDelete,
  vmSet,
  vmEgressSet,
  vmShow,
  vmStats,
  vmLogs,
  vmSsh,
  vmPorts,
  vmPortAdd,
  vmPortRm,
  vmWorkspacePrepare,
  vmWorkspaceExport,
  vmCopy,
  vmSessionStart,
  vmSessionList,
  vmSessionShow,
  vmSessionSend,
  vmSessionStop,
  vmSessionKill,
  imageList,
  imageShow,
  imageBuild,
  imageDelete,
  imageRegister,
  imagePull,
  imageExport,
  imagePromote,
  imageWarm,
  kernelList,
  kernelShow,
  kernelDelete,
  kernelImport,
  kernelPull,
  kernelCatalog,
] as const;

export type AnyMethod = (typeof all)[number];
export type MethodName = AnyMethod['name'];
export type MethodOf<N extends MethodName> = Extract<AnyMethod, { name: N }>;
export type Params<N extends MethodName> = ParamsOf<MethodOf<N>>;
export type Result<N extends MethodName> = ResultOf<MethodOf<N>>;

/**
 * Every method the daemon serves: the one list. The daemon builds its routes from it; the
 * CLI imports only the types (no zod at CLI start-up).
 */
export const methods: readonly AnyMethod[] = all;
