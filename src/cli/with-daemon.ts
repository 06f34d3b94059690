import { resolveLayout, type Layout } from '../config/layout.js';
import type { MethodName, Params, Result } from '../protocol/index.js';
import type { DaemonClient } from '../client/client.js';

/**
 * Runs `fn` with a connection to bangerd, starting the daemon first when its socket is
 * absent. The client module (and vscode-jsonrpc) is loaded only by commands that need it.
 */
export async function withDaemon<T>(
  fn: (client: DaemonClient, layout: Layout) => Promise<T>,
  options: { autostart?: boolean; layout?: Layout } = {},
): Promise<T> {
  const layout = options.layout ?? resolveLayout();
  const { DaemonClient } = await import('../client/client.js');
  const client = await DaemonClient.connect(layout, { autostart: options.autostart ?? true });
  try {
    return await fn(client, layout);
  } finally {
    client.close();
  }
}

/** A long daemon operation with its progress stages rendered on stderr, labelled by method. */
export async function callWithProgress<N extends MethodName>(
  method: N,
  params: Params<N>,
  label = method.replaceAll('.', ' '),
): Promise<Result<N>> {
  const { ProgressRenderer } = await import('./progress.js');
  const progress = new ProgressRenderer(label);
  try {
    return await withDaemon((c) => c.call(method, params, { onProgress: progress.onProgress }));
  } finally {
    progress.done();
  }
}
