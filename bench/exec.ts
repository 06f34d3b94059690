// A command's round trip on a running VM: `vm exec VM -- true` through the CLI, the same
// through the SDK (no process start) and an MCP tool call (server already up), against `vm ssh VM -- true` (the CLI's existing path)
// in the same run. Medians of 15 after 2 warm-up runs. Goal: ≤ 150 ms end to end.
// Run: npx tsx bench/exec.ts
import { execa } from 'execa';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Banger } from 'banger';
import { benchSandbox, median } from '../test/helpers/bench.js';
import { CLI } from '../test/helpers/sandbox.js';

const { sb, cli } = await benchSandbox();
const timeMs = async (fn: () => Promise<unknown>): Promise<number> => {
  for (let i = 0; i < 2; i++) await fn();
  const runs: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    await fn();
    runs.push(performance.now() - t0);
  }
  return median(runs);
};
const node = (args: string[]) =>
  execa(process.execPath, [CLI, ...args], { env: sb.env, extendEnv: false });

try {
  await cli(['vm', 'create', '--cold', '--name', 'box']);
  const ssh = await timeMs(() => node(['vm', 'ssh', 'box', '--', 'true']));
  const exec = await timeMs(() => node(['vm', 'exec', 'box', '--', 'true']));
  const banger = await Banger.connect({ env: sb.env });
  const vm = await banger.vms.get('box');
  const sdk = await timeMs(() => vm.exec(['true']));
  banger.close();
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'mcp'],
    env: sb.env,
  });
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(transport);
  const mcp = await timeMs(() =>
    client.callTool({ name: 'vm_exec', arguments: { vm: 'box', command: ['true'] } }),
  );
  await client.close();
  console.log(
    `vm ssh -- true ${ssh.toFixed(0)} ms; vm exec -- true ${exec.toFixed(0)} ms (${(exec / ssh).toFixed(2)}×); SDK exec ${sdk.toFixed(0)} ms (${(sdk / ssh).toFixed(2)}×); MCP vm_exec ${mcp.toFixed(0)} ms (${(mcp / ssh).toFixed(2)}×) — goal ≤ 150 ms each`,
  );
  await cli(['vm', 'rm', 'box']);
} finally {
  await sb.dispose();
}
