import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { SSH_FAILED } from '../exec/exec.js';
import { guarded, ok, RESULT_OUTPUT_BYTES, type McpSession } from './session.js';
import { progressOf } from './progress.js';

const vm = z.string().min(1).describe('the VM’s name');

/** The tools that make, list, run in, fork and delete VMs. */
export function registerVmTools(server: McpServer, session: McpSession): void {
  const { banger } = session;

  server.registerTool(
    'vm_create',
    {
      description:
        'Boot a new Linux microVM (Debian with git, a shell and sshd unless another image is named) and wait until it runs. It is deleted when this MCP session ends unless keep is true. Optionally copy a git checkout of the host into /root/repo (its uncommitted edits and untracked files too). Egress: nothing outside by default; "all", or a list of names reached over HTTP(S) through banger’s proxy. Network: "user" (default) or "tap" (own address; needs host support).',
      inputSchema: {
        name: z.string().min(1).max(63).optional().describe('a name; default: a generated one'),
        image: z.string().optional().describe('an image name or OCI reference'),
        vcpu: z.number().int().min(1).max(64).optional(),
        memoryMiB: z.number().int().min(128).optional(),
        diskGiB: z.number().positive().optional().describe('size of the work disk at /root'),
        network: z.enum(['user', 'tap']).optional(),
        egress: z
          .string()
          .optional()
          .describe(
            'what the guest may reach outside: "none" (default), "all", or names such as "pypi.org,*.npmjs.org" (HTTP(S) through a filtering proxy)',
          ),
        nat: z.boolean().optional().describe('the same as egress "all"'),
        workspace: z.string().optional().describe('absolute host path of a git checkout'),
        keep: z.boolean().optional().describe('keep the VM after this session ends'),
      },
    },
    (args, extra) =>
      guarded(async () => {
        const created = await banger.vms.create({
          ...(args.name ? { name: args.name } : {}),
          ...(args.image ? { image: args.image } : {}),
          ...(args.vcpu ? { vcpu: args.vcpu } : {}),
          ...(args.memoryMiB ? { memoryMiB: args.memoryMiB } : {}),
          ...(args.diskGiB ? { diskBytes: Math.round(args.diskGiB * 2 ** 30) } : {}),
          ...(args.network ? { network: args.network } : {}),
          ...(args.nat !== undefined ? { nat: args.nat } : {}),
          ...(args.egress !== undefined ? { egress: args.egress } : {}),
          ...(args.workspace ? { workspace: args.workspace } : {}),
          ...(args.keep ? {} : { owner: session.owner }),
          ...progressOf(extra),
          signal: extra.signal,
        });
        if (!args.keep) session.own(created.name);
        const d = created.detail;
        return ok({
          name: d.name,
          state: d.state,
          image: d.image,
          vcpu: d.vcpu,
          memoryMiB: d.memoryMiB,
          network: d.network,
          kept: Boolean(args.keep),
          ...(args.workspace ? { workspace: '/root/repo' } : {}),
        });
      }),
  );

  server.registerTool(
    'vm_list',
    { description: 'List every VM banger has, with its state.', inputSchema: {} },
    () =>
      guarded(async () =>
        ok(
          (await banger.vms.list()).map((v) => ({
            name: v.name,
            state: v.state,
            image: v.image,
            ...(v.owner === session.owner ? { ownedByThisSession: true } : {}),
          })),
        ),
      ),
  );

  server.registerTool(
    'vm_delete',
    { description: 'Stop a VM and delete it with its disks.', inputSchema: { vm } },
    (args) =>
      guarded(async () => {
        await (await banger.vms.get(args.vm)).delete();
        session.forget(args.vm);
        session.disown(args.vm);
        return ok({ deleted: args.vm });
      }),
  );

  server.registerTool(
    'vm_exec',
    {
      description: `Run a command in a running VM (no terminal) and return its exit code and output. command is a shell line (run by sh -c) or an argv array. Each stream is cut at ${RESULT_OUTPUT_BYTES} bytes; when truncated, read the rest with exec_output and the outputId. A timeout stops the command, not the VM.`,
      inputSchema: {
        vm,
        command: z.union([z.string().min(1), z.array(z.string()).min(1)]),
        cwd: z
          .string()
          .optional()
          .describe('directory to run in; default: the image’s working directory, else /root'),
        env: z.record(z.string(), z.string()).optional(),
        timeoutSeconds: z.number().positive().optional(),
        stdin: z.string().optional().describe('text given to the command on stdin'),
      },
    },
    (args, extra) =>
      guarded(async () => {
        const r = await session.withVm(args.vm, (vm) =>
          vm.exec(args.command, {
            cwd: args.cwd,
            env: args.env,
            timeoutMs: args.timeoutSeconds !== undefined ? args.timeoutSeconds * 1000 : undefined,
            signal: extra.signal,
            ...(args.stdin !== undefined ? { stdin: Buffer.from(args.stdin) } : {}),
          }),
        );
        // ssh's own 255 may mean the VM is gone or moved: ask bangerd next time.
        if (r.exitCode === SSH_FAILED) session.forget(args.vm);
        const truncated =
          r.stdout.length > RESULT_OUTPUT_BYTES || r.stderr.length > RESULT_OUTPUT_BYTES;
        return ok({
          exitCode: r.exitCode,
          ...(r.signal ? { signal: r.signal } : {}),
          timedOut: r.timedOut,
          durationMs: r.durationMs,
          stdout: r.stdout.subarray(0, RESULT_OUTPUT_BYTES).toString('utf8'),
          stderr: r.stderr.subarray(0, RESULT_OUTPUT_BYTES).toString('utf8'),
          truncated,
          ...(truncated
            ? {
                outputId: session.keepOutput(r.stdout, r.stderr),
                stdoutBytes: r.stdout.length,
                stderrBytes: r.stderr.length,
              }
            : {}),
        });
      }),
  );

  server.registerTool(
    'exec_output',
    {
      description: 'Read more of a truncated vm_exec result: a byte range of its stdout or stderr.',
      inputSchema: {
        outputId: z.string(),
        stream: z.enum(['stdout', 'stderr']),
        offset: z.number().int().min(0).default(0),
        length: z
          .number()
          .int()
          .min(1)
          .max(1024 * 1024)
          .default(RESULT_OUTPUT_BYTES),
      },
    },
    (args) =>
      guarded(() => {
        const kept = session.output(args.outputId);
        if (!kept) throw new Error(`no output ${args.outputId} (only the last 20 are kept)`);
        const all = kept[args.stream];
        const part = all.subarray(args.offset, args.offset + args.length);
        return Promise.resolve(
          ok({
            offset: args.offset,
            bytes: part.length,
            total: all.length,
            text: part.toString('utf8'),
          }),
        );
      }),
  );

  server.registerTool(
    'vm_fork',
    {
      description:
        'Copy a running VM — memory, running processes and disks — into count new VMs, each with its own name and identity; the original is paused only briefly. The copies belong to this session like the VMs it creates.',
      inputSchema: { vm, count: z.number().int().min(1).max(16).default(1) },
    },
    (args, extra) =>
      guarded(async () => {
        const children = await (
          await banger.vms.get(args.vm)
        ).fork(args.count, {
          ...progressOf(extra),
          signal: extra.signal,
        });
        for (const c of children) if (c.detail.owner === session.owner) session.own(c.name);
        return ok({ children: children.map((c) => c.name) });
      }),
  );

  server.registerTool(
    'workspace_export',
    {
      description:
        'Everything changed in /root/repo of a VM since it was copied in (vm_create with workspace), as one git patch: new commits, edits, new files. Empty when nothing changed.',
      inputSchema: { vm },
    },
    (args) =>
      guarded(async () => {
        const patch = await (await banger.vms.get(args.vm)).workspace.export();
        return { content: [{ type: 'text', text: patch === '' ? '(no changes)' : patch }] };
      }),
  );
}
