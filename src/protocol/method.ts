import type { z } from 'zod';

/**
 * One RPC method, declared once for both ends: its name, the schema of its params and
 * result, and what the daemon does when the caller goes away mid-call.
 */
export interface MethodSpec<
  N extends string = string,
  P extends z.ZodType = z.ZodType,
  R extends z.ZodType = z.ZodType,
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
}

export function defineMethod<N extends string, P extends z.ZodType, R extends z.ZodType>(
  spec: MethodSpec<N, P, R>,
): MethodSpec<N, P, R> {
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
