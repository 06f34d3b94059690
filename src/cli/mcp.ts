import type { Command } from 'commander';
import { examples } from './output.js';

export function registerMcp(program: Command): void {
  program
    .command('mcp')
    .description('Serve banger to an AI agent over the Model Context Protocol (stdio)')
    .addHelpText(
      'after',
      `\nStarted by an agent's MCP client, not by hand: it speaks JSON-RPC on stdin/stdout.\n` +
        `Tools: vm_create, vm_list, vm_exec (+ exec_output), file_read, file_write, dir_list,\n` +
        `session_start/logs/send/stop, workspace_export, vm_fork, vm_delete. VMs it creates\n` +
        `are deleted when the client disconnects, unless created with keep: true; a crashed\n` +
        `server leaves them for "banger vm prune".\n` +
        examples([
          `claude mcp add banger -- banger mcp`,
          `{"mcpServers": {"banger": {"command": "banger", "args": ["mcp"]}}}`,
        ]),
    )
    .action(async () => {
      const { runMcpServer } = await import('../mcp/server.js');
      await runMcpServer();
    });
}
