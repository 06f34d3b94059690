import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';

/**
 * banger's progress stages as MCP progress notifications, when the client asked for them
 * (a progressToken in the call): a count that only grows, and the stage as the message.
 */
export function progressOf(extra: RequestHandlerExtra<ServerRequest, ServerNotification>): {
  onProgress?: (stage: string, detail?: string) => void;
} {
  const token = extra._meta?.progressToken;
  if (token === undefined) return {};
  let step = 0;
  return {
    onProgress: (stage, detail) =>
      void extra
        .sendNotification({
          method: 'notifications/progress',
          params: {
            progressToken: token,
            progress: ++step,
            message: detail ? `${stage}: ${detail}` : stage,
          },
        })
        .catch(() => undefined),
  };
}
