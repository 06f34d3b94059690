import { execa } from 'execa';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { vmFiles, type Layout } from '../../src/config/layout.js';

/**
 * What a sandbox looked like when one of its CLI calls timed out: the end of the daemon's
 * log, and for each VM its state files and the end of its console and ssh logs. Read from
 * the files, never through the daemon (which may be the thing that hung), so a CI run
 * without artifacts still says where a boot stopped.
 */
export async function postMortem(layout: Layout, lines = 25): Promise<string> {
  const parts = [section('bangerd.log', await tail(layout.daemonLog, lines))];
  const vms = await readdir(layout.vmsDir).catch(() => [] as string[]);
  for (const id of vms.sort()) {
    const dir = join(layout.vmsDir, id);
    const files = vmFiles(dir);
    const names = await readdir(dir).catch(() => [] as string[]);
    parts.push(`--- vm ${id}: ${names.sort().join(' ')}`);
    parts.push(section(`vm ${id} console`, await tail(files.consoleLog, lines)));
    parts.push(section(`vm ${id} ssh log`, await tail(files.sshLog, 8)));
    parts.push(section(`vm ${id} handles.json`, await tail(files.handles, 5)));
  }
  // Which QEMUs run and which ports they listen on (a VM whose port refuses connections).
  const listening = await execa('ss', ['-ltnpH'], { reject: false });
  parts.push(section('qemu listeners', grepLines(String(listening.stdout), 'qemu')));
  const procs = await execa('ps', ['-eo', 'pid,stat,args'], { reject: false });
  parts.push(section('qemu processes', grepLines(String(procs.stdout), layout.stateDir)));
  return parts.join('\n');
}

/** The lines of `text` holding `needle`, each cut at 200 characters. */
function grepLines(text: string, needle: string): string {
  return text
    .split('\n')
    .filter((l) => l.includes(needle))
    .map((l) => l.slice(0, 200))
    .join('\n');
}

function section(name: string, text: string): string {
  return `--- ${name}\n${text || '(empty or missing)'}`;
}

async function tail(file: string, lines: number): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.replace(/\r/g, '').trimEnd().split('\n').slice(-lines).join('\n');
}
