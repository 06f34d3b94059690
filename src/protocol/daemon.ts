import { z } from 'zod';
import { defineMethod } from './method.js';

export const daemonPing = defineMethod({
  name: 'daemon.ping',
  params: z.strictObject({}).optional(),
  result: z.object({ version: z.string(), pid: z.number().int() }),
  onDisconnect: 'finish',
  progress: false,
});

export const daemonStatus = defineMethod({
  name: 'daemon.status',
  params: z.strictObject({}).optional(),
  result: z.object({
    pid: z.number().int(),
    version: z.string(),
    startedAt: z.string(),
    uptimeSeconds: z.number(),
    socket: z.string(),
    stateDir: z.string(),
    configFile: z.string(),
    vmm: z.object({
      driver: z.enum(['qemu', 'firecracker']),
      accel: z.enum(['kvm', 'tcg']),
      reason: z.string(),
      kvm: z.string(),
    }),
  }),
  onDisconnect: 'finish',
  progress: false,
});

/** Replies, then shuts the daemon down gracefully (VMs keep running: they are not its children). */
export const daemonShutdown = defineMethod({
  name: 'daemon.shutdown',
  params: z.strictObject({}).optional(),
  result: z.object({ pid: z.number().int() }),
  onDisconnect: 'finish',
  progress: false,
});
