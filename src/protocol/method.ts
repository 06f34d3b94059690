import type { z } from 'zod';

/**
 * One RPC method, declared once for both ends: its name, the schema of its params and
 * result, and what the daemon does when the caller goes away mid-call.
 */
/**
 * A VM's state as its record says (after reconcile), or one the daemon reads off the VM
 * rather than records: `paused`, running with its vCPUs stopped (vm pause, asked of the
 * VMM), and `suspended`, stopped with its memory saved (vm stop --save, a file in its dir).
 */
export type VmStateName = 'created' | 'running' | 'paused' | 'stopped' | 'suspended' | 'error';

export const RUNNING: readonly VmStateName[] = ['running'];
export const PAUSED: readonly VmStateName[] = ['paused'];
/** Not running and with no saved memory: what may change its disks (vm set, promote). */
export const NOT_RUNNING: readonly VmStateName[] = ['created', 'stopped', 'error'];
/** What vm start takes: a suspended VM resumes, the others boot. */
export const STARTABLE: readonly VmStateName[] = [...NOT_RUNNING, 'suspended'];
export const ANY_STATE: readonly VmStateName[] = [
  'created',
  'running',
  'paused',
  'stopped',
  'suspended',
  'error',
];

/**
 * A method that acts on one VM (its `ref` param): the states it is allowed in, checked by
 * the daemon in one place with one error text, and how long it holds the VM's lock.
 */
export interface VmAccess {
  states: readonly VmStateName[];
  /**
   * 'operation': the VM's lifecycle lock is held for the whole call. 'connect': only while
   * the daemon checks the VM and reaches its sshd; the I/O after it (a workspace copy, a
   * session) runs without it, so `vm stop` never queues behind it.
   */
  lock: 'operation' | 'connect';
}

export interface MethodSpec<
  N extends string = string,
  P extends z.ZodType = z.ZodType,
  R extends z.ZodType = z.ZodType,
  V extends VmAccess | undefined = VmAccess | undefined,
> {
  name: N;
  params: P;
  result: R;
  /**
   * 'cancel': the operation is aborted when the client disconnects (Ctrl-C), and undoes
   * what it staged. 'finish': it runs to completion so nothing is left half-done.
   */
  onDisconnect: 'cancel' | 'finish';
  /** Streams `banger/progress` notifications while it runs. */
  progress: boolean;
  vm?: V;
}

export function defineMethod<
  N extends string,
  P extends z.ZodType,
  R extends z.ZodType,
  V extends VmAccess | undefined = undefined,
>(spec: MethodSpec<N, P, R, V>): MethodSpec<N, P, R, V> {
  return spec;
}

export type ParamsOf<M extends MethodSpec> = z.input<M['params']>;
export type ResultOf<M extends MethodSpec> = z.output<M['result']>;

/** Sent by the daemon while a method with `progress: true` runs. */
export const PROGRESS_NOTIFICATION = 'banger/progress';

export interface ProgressParams {
  /** The request's progressToken. */
  token: string;
  stage: string;
  detail?: string;
  /**
   * Bytes so far of each layer of a download (an OCI pull). A terminal draws these on the
   * stage's line, in place; piped output prints only notifications with a detail, so one
   * carrying just these is a terminal's refresh.
   */
  layers?: LayerBytes[];
}

/** One layer of a download: bytes received so far of its size. */
export interface LayerBytes {
  received: number;
  total: number;
}

/** JSON-RPC error codes; the stable banger code and hint travel in `data`. */
export const RpcErrorCode = {
  InvalidParams: -32602,
  MethodNotFound: -32601,
  Internal: -32603,
  Application: 1,
} as const;

export interface RpcErrorData {
  code: string;
  hint?: string;
}
