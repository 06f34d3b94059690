import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { Banger } from '../sdk/banger.js';
import { VERSION } from '../version.js';
import { McpSession } from './session.js';
import { registerGuestTools } from './tools-guest.js';
import { registerVmTools } from './tools-vm.js';

// `banger mcp`: the Model Context Protocol over stdio (the official SDK), started by an
// agent's client. Its tools are the SDK's calls (src/sdk/), so an agent does exactly what a
// program can; errors come back as tool errors carrying banger's message and hint. When the
// client goes (stdin closes, or SIGTERM/SIGINT/SIGHUP), the session's VMs are deleted first.

export async function runMcpServer(): Promise<void> {
  const banger = await Banger.connect();
  const session = new McpSession(banger);
  const server = new McpServer(
    { name: 'banger', version: VERSION },
    {
      instructions:
        'banger gives you disposable Linux microVMs. Create one with vm_create (optionally with a git checkout copied to /root/repo), run commands with vm_exec, read and write files, keep servers running with session_*, get your changes back with workspace_export. VMs you create are deleted when this session ends unless you pass keep: true.',
    },
  );
  registerVmTools(server, session);
  registerGuestTools(server, session);

  let ending: Promise<void> | undefined;
  const end = () =>
    (ending ??= (async () => {
      const failed = await session.end();
      for (const f of failed) process.stderr.write(`banger mcp: could not delete ${f}\n`);
      banger.close();
      process.exit(failed.length ? 1 : 0);
    })());
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(sig, () => void end());
  const transport = new StdioServerTransport();
  transport.onclose = () => void end();
  process.stdin.once('end', () => void end());
  await server.connect(transport);
  await new Promise<never>(() => undefined);
}
