import { z } from 'zod';
import { defineMethod, RUNNING } from './method.js';
import { ref } from './vm.js';

// Sessions (tmux in the guest): one method per operation, each with the fields it needs,
// allowed in a running VM. logs and attach stream over ssh from the CLI.

export const sessionInfo = z.object({
  name: z.string(),
  state: z.enum(['running', 'exited']),
  exitCode: z.number().int().optional(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  command: z.string(),
});
export type SessionInfoResult = z.output<typeof sessionInfo>;

const sessionName = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'not a valid session name');
const sessions = z.object({ sessions: z.array(sessionInfo) });
const inRunningVm = { states: RUNNING, lock: 'connect' } as const;

/** A session method: each answers with the sessions it touched. */
function sessionMethod<N extends string, S extends Record<string, z.ZodType>>(name: N, fields: S) {
  return defineMethod({
    name,
    params: z.strictObject({ ref, ...fields }),
    result: sessions,
    onDisconnect: 'finish',
    progress: false,
    vm: inRunningVm,
  });
}

export const vmSessionStart = sessionMethod('vm.session.start', {
  name: sessionName,
  command: z.array(z.string()).min(1),
});
export const vmSessionList = sessionMethod('vm.session.list', {});
export const vmSessionShow = sessionMethod('vm.session.show', { name: sessionName });
export const vmSessionSend = sessionMethod('vm.session.send', {
  name: sessionName,
  text: z.string(),
  enter: z.boolean(),
});
/** Ctrl-C, then SIGTERM after a grace period, then SIGKILL. */
export const vmSessionStop = sessionMethod('vm.session.stop', { name: sessionName });
export const vmSessionKill = sessionMethod('vm.session.kill', { name: sessionName });
