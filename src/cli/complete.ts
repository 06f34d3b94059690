import type { Command, Option } from 'commander';
import { RootCommand, type Command as TabCommand } from '@bomb.sh/tab';
import { resolveLayout } from '../config/layout.js';

type Kind = 'vm' | 'image' | 'kernel' | 'session';

/** Which positional arguments name an existing object, by command path. */
const POSITIONAL: Record<string, Kind> = {
  'vm start': 'vm',
  'vm stop': 'vm',
  'vm restart': 'vm',
  'vm kill': 'vm',
  'vm delete': 'vm',
  'vm set': 'vm',
  'vm show': 'vm',
  'vm logs': 'vm',
  'vm stats': 'vm',
  'vm ssh': 'vm',
  'vm ports': 'vm',
  'vm port add': 'vm',
  'vm port rm': 'vm',
  'vm workspace prepare': 'vm',
  'vm workspace export': 'vm',
  'vm session start': 'vm',
  'vm session list': 'vm',
  'vm session show': 'vm',
  'vm session logs': 'vm',
  'vm session send': 'vm',
  'vm session attach': 'vm',
  'vm session stop': 'vm',
  'vm session kill': 'vm',
  'image show': 'image',
  'image delete': 'image',
  'image promote': 'vm',
  'kernel show': 'kernel',
  'kernel rm': 'kernel',
};
const FLAG_VALUES: Record<string, Kind> = { image: 'image', 'kernel-ref': 'kernel' };
/** Commands whose second positional is a session of the VM named by the first. */
const SESSION_NAME_AT_1 = new Set(
  ['show', 'logs', 'send', 'attach', 'stop', 'kill'].map((verb) => `vm session ${verb}`),
);
const NAMES_TIMEOUT_MS = 500;
const SESSION_NAMES_TIMEOUT_MS = 2000;

/**
 * Answers the shell's `banger complete -- <words>`. Names come from a daemon that is already
 * running: no socket means no names, at once, and the daemon is never started from here.
 */
export async function complete(program: Command, words: string[]): Promise<void> {
  const path = commandPath(program, words);
  const kinds = new Set<Kind>();
  const positional = POSITIONAL[path.join(' ')];
  if (positional) kinds.add(positional);
  if (path[0] === 'vm' || path[0] === 'image') {
    kinds.add('image');
    kinds.add('kernel');
  }
  // `vm session logs VM <tab>`: the sessions of that VM (asked of the guest, over ssh).
  const sessionVm = SESSION_NAME_AT_1.has(path.join(' ')) ? words[path.length] : undefined;
  if (sessionVm && words.length > path.length + 1) kinds.add('session');
  const names = await fetchNames(kinds, sessionVm);
  const root = new RootCommand();
  addCommands(root, program, '', names, new Set(words));
  // tab matches typed words against canonical names, so `vm rm` must read as `vm delete`.
  root.parse([...path, ...words.slice(path.length)]);
}

/** The subcommand words at the start of `words`, resolved through aliases to real names. */
function commandPath(program: Command, words: string[]): string[] {
  const path: string[] = [];
  let cmd = program;
  for (const word of words) {
    const next = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!next) break;
    path.push(next.name());
    cmd = next;
  }
  return path;
}

function addCommands(
  root: RootCommand,
  cmd: Command,
  prefix: string,
  names: Map<Kind, string[]>,
  typed: Set<string>,
): void {
  for (const sub of cmd.commands) {
    if ((sub as unknown as { _hidden?: boolean })._hidden) continue;
    const path = prefix ? `${prefix} ${sub.name()}` : sub.name();
    const tab = root.command(path, sub.description());
    for (const opt of sub.options) addOption(tab, opt, names);
    const kind = POSITIONAL[path];
    sub.registeredArguments.forEach((arg, index) => {
      const argKind =
        index === 0 ? kind : index === 1 && SESSION_NAME_AT_1.has(path) ? 'session' : undefined;
      const handler = argKind
        ? (done: (value: string, description: string) => void) =>
            // Variadic lists (vm stop a b) do not offer what is already typed.
            (names.get(argKind) ?? []).filter((n) => !typed.has(n)).forEach((n) => done(n, argKind))
        : undefined;
      tab.argument(arg.name(), handler, arg.variadic);
    });
    addCommands(root, sub, path, names, typed);
  }
}

function addOption(tab: TabCommand, opt: Option, names: Map<Kind, string[]>): void {
  const long = opt.long?.replace(/^--/, '');
  if (!long) return;
  const short = opt.short?.replace(/^-/, '');
  const kind = FLAG_VALUES[long];
  if (opt.required || opt.optional) {
    const values = kind ? (names.get(kind) ?? []) : (opt.argChoices ?? []);
    tab.option(long, opt.description, (done) => values.forEach((v) => done(v, '')), short);
  } else {
    tab.option(long, opt.description, short);
  }
}

async function fetchNames(kinds: Set<Kind>, sessionVm?: string): Promise<Map<Kind, string[]>> {
  const names = new Map<Kind, string[]>();
  if (kinds.size === 0) return names;
  const layout = resolveLayout();
  const { DaemonClient } = await import('../client/client.js');
  // Session names come from the guest over ssh: they get longer than the store's names.
  const deadline = kinds.has('session') ? SESSION_NAMES_TIMEOUT_MS : NAMES_TIMEOUT_MS;
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, deadline).unref());
  const work = (async () => {
    const client = await DaemonClient.connect(layout, { autostart: false });
    try {
      if (kinds.has('vm')) names.set('vm', (await client.call('vm.names', {})).names);
      if (kinds.has('image'))
        names.set(
          'image',
          (await client.call('image.list', {})).images.map((i) => i.name),
        );
      if (kinds.has('kernel'))
        names.set(
          'kernel',
          (await client.call('kernel.list', {})).kernels.map((k) => k.name),
        );
      if (kinds.has('session') && sessionVm)
        names.set(
          'session',
          (await client.call('vm.session.list', { ref: sessionVm })).sessions.map((x) => x.name),
        );
    } finally {
      client.close();
    }
  })().catch(() => undefined);
  await Promise.race([work, timeout]);
  return names;
}
