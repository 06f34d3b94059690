import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { guarded, ok, type McpSession } from './session.js';

const vm = z.string().min(1).describe('the VM’s name');
const path = z.string().min(1).describe('an absolute path in the VM');
const sessionName = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/)
  .describe('a session name: lowercase letters, digits and -');
/** The most file_read returns at once. */
const READ_BYTES = 1024 * 1024;

/** Files and sessions in a running VM. */
export function registerGuestTools(server: McpServer, session: McpSession): void {
  server.registerTool(
    'file_read',
    {
      description: `Read a file in a VM: as UTF-8 text, or base64 for binary content; at most ${READ_BYTES} bytes per call from offset.`,
      inputSchema: {
        vm,
        path,
        encoding: z.enum(['utf8', 'base64']).default('utf8'),
        offset: z.number().int().min(0).default(0),
        length: z.number().int().min(1).max(READ_BYTES).default(READ_BYTES),
      },
    },
    (args) =>
      guarded(async () => {
        const all = await session.withVm(args.vm, (vm) => vm.files.read(args.path));
        const part = all.subarray(args.offset, args.offset + args.length);
        return ok({
          path: args.path,
          offset: args.offset,
          bytes: part.length,
          total: all.length,
          encoding: args.encoding,
          content: part.toString(args.encoding),
        });
      }),
  );

  server.registerTool(
    'file_write',
    {
      description:
        'Write a whole file in a VM (replacing it; the parent directory must exist), from UTF-8 text or base64. mode is octal, e.g. "755" for a script.',
      inputSchema: {
        vm,
        path,
        content: z.string(),
        encoding: z.enum(['utf8', 'base64']).default('utf8'),
        mode: z
          .string()
          .regex(/^[0-7]{3,4}$/)
          .optional(),
      },
    },
    (args) =>
      guarded(async () => {
        const data = Buffer.from(args.content, args.encoding);
        await session.withVm(args.vm, (vm) =>
          vm.files.write(args.path, data, {
            ...(args.mode ? { mode: Number.parseInt(args.mode, 8) } : {}),
          }),
        );
        return ok({ path: args.path, bytes: data.length });
      }),
  );

  server.registerTool(
    'dir_list',
    {
      description:
        'List a directory in a VM: name, type, mode (octal), size and modification time of each entry.',
      inputSchema: { vm, path },
    },
    (args) =>
      guarded(async () =>
        ok(
          (await session.withVm(args.vm, (vm) => vm.files.list(args.path))).map((e) => ({
            name: e.name,
            type: e.type,
            mode: e.mode.toString(8),
            size: e.size,
            modifiedAt: e.modifiedAt.toISOString(),
          })),
        ),
      ),
  );

  server.registerTool(
    'session_start',
    {
      description:
        'Start a long-running command (a server, a watcher, a REPL) in a named session in a VM: it keeps running between calls; read its output with session_logs, type into it with session_send.',
      inputSchema: {
        vm,
        session: sessionName,
        command: z.string().min(1).describe('a shell line'),
      },
    },
    (args) =>
      guarded(async () =>
        ok(
          await session.withVm(args.vm, (vm) =>
            vm.sessions.start(args.session, ['sh', '-c', args.command]),
          ),
        ),
      ),
  );

  server.registerTool(
    'session_logs',
    {
      description: 'The output of a session so far (its last tailBytes bytes).',
      inputSchema: {
        vm,
        session: sessionName,
        tailBytes: z
          .number()
          .int()
          .min(1)
          .max(READ_BYTES)
          .default(64 * 1024),
      },
    },
    (args) =>
      guarded(async () => {
        const logs = await session.withVm(args.vm, (vm) => vm.sessions.logs(args.session));
        const text = Buffer.from(logs).subarray(-args.tailBytes).toString('utf8');
        const state = (await session.withVm(args.vm, (vm) => vm.sessions.list())).find(
          (s) => s.name === args.session,
        );
        return ok({ session: args.session, state, output: text });
      }),
  );

  server.registerTool(
    'session_send',
    {
      description: 'Type text into a session, followed by Enter unless enter is false.',
      inputSchema: { vm, session: sessionName, text: z.string(), enter: z.boolean().default(true) },
    },
    (args) =>
      guarded(async () => {
        await session.withVm(args.vm, (vm) =>
          vm.sessions.send(args.session, args.text, { enter: args.enter }),
        );
        return ok({ sent: true });
      }),
  );

  server.registerTool(
    'session_stop',
    {
      description: 'Stop a session: Ctrl-C, then SIGTERM after a grace period, then SIGKILL.',
      inputSchema: { vm, session: sessionName },
    },
    (args) =>
      guarded(async () =>
        ok(await session.withVm(args.vm, (vm) => vm.sessions.stop(args.session))),
      ),
  );
}
