import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CLI, killHard, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { ok, out, vmSandbox } from '../helpers/vm.js';

const LONG = { timeout: 600_000, resetTimeoutOnProgress: true };

interface ToolResult {
  isError?: boolean;
  content: { type: string; text: string }[];
}

// `banger mcp` driven by the MCP SDK's own client over stdio, against a real daemon and real
// VMs: the tools, failures as tool errors, progress, and the session's VMs deleted when the
// client goes (or left for vm prune when the server is killed).
describe('banger mcp', () => {
  let sb: Sandbox;
  let client: Client;
  let transport: StdioClientTransport;
  const connect = async () => {
    transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'mcp'],
      env: sb.env,
      stderr: 'pipe',
    });
    client = new Client({ name: 'banger-test', version: '1' });
    await client.connect(transport);
  };
  const call = async (name: string, args: Record<string, unknown>, onprogress?: () => void) =>
    (await client.callTool({ name, arguments: args }, undefined, {
      ...LONG,
      ...(onprogress ? { onprogress } : {}),
    })) as ToolResult;
  const data = <T>(r: ToolResult): T => {
    assert.ok(!r.isError, `tool error: ${r.content[0]?.text}`);
    return JSON.parse(r.content[0]!.text) as T;
  };
  const vmNames = async () =>
    out(ok(await sb.cli(['vm', 'ls'])))
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s+/)[0]);

  before(async () => {
    sb = await vmSandbox();
    await connect();
  });
  after(async () => {
    await client?.close().catch(() => undefined);
    await sb?.dispose();
  });

  test('tools: create with a workspace, exec, files, sessions, export, errors', async () => {
    const tools = (await client.listTools()).tools.map((t) => t.name).sort();
    for (const t of ['vm_create', 'vm_exec', 'exec_output', 'file_read', 'file_write', 'dir_list'])
      assert.ok(tools.includes(t), t);
    for (const t of ['session_start', 'session_logs', 'session_send', 'session_stop'])
      assert.ok(tools.includes(t), t);
    for (const t of ['workspace_export', 'vm_fork', 'vm_list', 'vm_delete'])
      assert.ok(tools.includes(t), t);

    const repo = join(sb.dir, 'repo');
    await mkdir(repo);
    const git = (...a: string[]) => execa('git', ['-C', repo, ...a]);
    await git('init', '-q', '-b', 'main');
    await writeFile(join(repo, 'README'), 'hello\n');
    await git('add', '.');
    await git('-c', 'user.email=t@example.invalid', '-c', 'user.name=t', 'commit', '-qm', 'init');
    let progress = 0;
    const created = data<{ name: string; state: string }>(
      await call('vm_create', { name: 'agent', workspace: repo }, () => progress++),
    );
    assert.deepEqual([created.name, created.state], ['agent', 'running']);
    assert.ok(progress > 0, 'progress notifications arrived');

    // A failing command is a result with its exit code, not an error.
    const failed = data<{ exitCode: number; stderr: string }>(
      await call('vm_exec', {
        vm: 'agent',
        command: 'cat README; echo bad >&2; exit 3',
        cwd: '/root/repo',
      }),
    );
    assert.deepEqual([failed.exitCode, failed.stderr], [3, 'bad\n']);
    const big = data<{ stdout: string; truncated: boolean; outputId: string; stdoutBytes: number }>(
      await call('vm_exec', {
        vm: 'agent',
        command: ['sh', '-c', "head -c 100000 /dev/zero | tr '\\0' a"],
      }),
    );
    assert.deepEqual([big.stdout.length, big.truncated, big.stdoutBytes], [65536, true, 100000]);
    const rest = data<{ bytes: number; total: number }>(
      await call('exec_output', { outputId: big.outputId, stream: 'stdout', offset: 65536 }),
    );
    assert.deepEqual([rest.bytes, rest.total], [100000 - 65536, 100000]);

    data(
      await call('file_write', {
        vm: 'agent',
        path: '/root/repo/new.txt',
        content: 'from the agent\n',
      }),
    );
    const bin = Buffer.from([0, 1, 2, 255, 254]);
    data(
      await call('file_write', {
        vm: 'agent',
        path: '/root/bin',
        content: bin.toString('base64'),
        encoding: 'base64',
        mode: '700',
      }),
    );
    const read = data<{ content: string }>(
      await call('file_read', { vm: 'agent', path: '/root/bin', encoding: 'base64' }),
    );
    assert.deepEqual(Buffer.from(read.content, 'base64'), bin);
    const listing = data<{ name: string; mode: string }[]>(
      await call('dir_list', { vm: 'agent', path: '/root' }),
    );
    assert.equal(listing.find((e) => e.name === 'bin')?.mode, '700');

    data(
      await call('session_start', {
        vm: 'agent',
        session: 'echo',
        command: 'while read l; do echo "got $l"; done',
      }),
    );
    data(await call('session_send', { vm: 'agent', session: 'echo', text: 'ping' }));
    await waitFor(
      'the session to answer',
      async () =>
        data<{ output: string }>(
          await call('session_logs', { vm: 'agent', session: 'echo' }),
        ).output.includes('got ping'),
      30_000,
    );
    data(await call('session_stop', { vm: 'agent', session: 'echo' }));

    const patch = (await call('workspace_export', { vm: 'agent' })).content[0]!.text;
    assert.match(patch, /^\+from the agent$/m);

    // Errors are tool errors with banger's message; the server stays up.
    const missing = await call('vm_exec', { vm: 'nope', command: 'true' });
    assert.equal(missing.isError, true);
    assert.match(missing.content[0]!.text, /nope/);
    const malformed = await client.callTool({ name: 'vm_exec', arguments: { vm: 42 } }).then(
      (r) => (r as ToolResult).isError === true,
      () => true,
    );
    assert.ok(malformed, 'a malformed call fails');
    assert.ok((await client.listTools()).tools.length > 10, 'and the server still answers');
  });

  test('the session’s VMs go when the client does; kept ones stay; a killed server leaves them for vm prune', async () => {
    data(await call('vm_create', { name: 'kept', keep: true }));
    await client.close();
    await waitFor(
      'the session’s VMs to be deleted',
      async () => !(await vmNames()).includes('agent'),
      120_000,
    );
    assert.ok((await vmNames()).includes('kept'), 'the kept VM stays');

    await connect();
    data(await call('vm_create', { name: 'orphan' }));
    killHard(transport.pid!);
    await new Promise((r) => setTimeout(r, 500));
    assert.ok((await vmNames()).includes('orphan'), 'a crash leaves the VM');
    ok(await sb.cli(['vm', 'prune', '--force']));
    const left = await vmNames();
    assert.ok(!left.includes('orphan'), 'vm prune removes what a crashed server left');
    assert.ok(left.includes('kept'), 'but not a kept VM');
    ok(await sb.cli(['vm', 'rm', 'kept']));
  });
});
