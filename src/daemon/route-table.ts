import type { z } from 'zod';
import type { AnyMethod, MethodName, MethodOf } from '../protocol/index.js';
import type { VmAccess } from '../protocol/method.js';
import type { VmRecord } from '../store/vms.js';
import type { Connection } from '../vm/connect.js';
import { connect } from '../vm/connect.js';
import type { VmContext } from '../vm/context.js';
import { withVm } from '../vm/guard.js';
import type { CallContext, Route } from './rpc-server.js';

type Awaitable<T> = T | Promise<T>;

/** What a VM method's handler is given: the checked VM, or a connection to it. */
type VmArg<V> = V extends { lock: 'connect' } ? Connection : VmRecord;

/**
 * A method's handler, typed from its protocol declaration. A method that declares `vm`
 * gets the VM already looked up, locked and checked against its allowed states.
 */
export type Handler<M extends AnyMethod> = [NonNullable<M['vm']>] extends [never]
  ? (params: z.output<M['params']>, call: CallContext) => Awaitable<z.input<M['result']>>
  : (
      params: z.output<M['params']>,
      call: CallContext,
      vm: VmArg<NonNullable<M['vm']>>,
    ) => Awaitable<z.input<M['result']>>;

/** One handler per protocol method: the compiler refuses a missing or an unknown one. */
export type Handlers = { [N in MethodName]: Handler<MethodOf<N>> };

/**
 * The daemon's routes, built from the protocol's method list. Where a method declares the
 * VM states it is allowed in, the check happens here, for every such method the same way.
 */
export function routesFrom(
  methods: readonly AnyMethod[],
  handlers: Handlers,
  vms: VmContext,
): Map<string, Route> {
  return new Map(
    methods.map((spec): [string, Route] => {
      const handler = handlers[spec.name] as (
        params: unknown,
        call: CallContext,
        vm?: unknown,
      ) => Awaitable<unknown>;
      const access: VmAccess | undefined = spec.vm;
      if (!access)
        return [spec.name, { spec, handle: async (params, call) => await handler(params, call) }];
      const rule = { states: access.states, what: spec.name.replaceAll('.', ' ') };
      const handle = async (params: unknown, call: CallContext) => {
        const { ref } = params as { ref: string };
        if (access.lock === 'operation')
          return withVm(vms, ref, rule, async (vm) => await handler(params, call, vm));
        const conn = await withVm(vms, ref, rule, (vm) => connect(vms, vm, call.signal));
        return handler(params, call, conn);
      };
      return [spec.name, { spec, handle }];
    }),
  );
}
