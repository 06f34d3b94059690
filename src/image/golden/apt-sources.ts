import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One `deb` source: the mirror a golden build downloads from. */
export interface AptSource {
  uri: string;
  suites: string[];
  components: string[];
}

/**
 * The host's Debian sources, from /etc/apt/sources.list (one-line style) and
 * /etc/apt/sources.list.d/*.list|*.sources (one-line and deb822). The golden image is built
 * from the mirror the host already uses: no other host need be reachable.
 */
export async function hostAptSources(root = '/'): Promise<AptSource[]> {
  const etc = join(root, 'etc/apt');
  const files = [join(etc, 'sources.list')];
  const dir = join(etc, 'sources.list.d');
  for (const name of (await readdir(dir).catch(() => [])).sort())
    if (name.endsWith('.list') || name.endsWith('.sources')) files.push(join(dir, name));
  const sources: AptSource[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => '');
    sources.push(...(file.endsWith('.sources') ? parseDeb822(text) : parseOneLine(text)));
  }
  return sources;
}

export function parseOneLine(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line.startsWith('deb ')) continue;
    // deb [options] uri suite component...
    const words = line
      .replace(/\[[^\]]*\]/, '')
      .trim()
      .split(/\s+/)
      .slice(1);
    const [uri, suite, ...components] = words;
    if (uri && suite) out.push({ uri, suites: [suite], components });
  }
  return out;
}

export function parseDeb822(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#')) continue;
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (m) fields.set(m[1]!.toLowerCase(), m[2]!.trim());
    }
    if (fields.get('enabled') === 'no') continue;
    if (!(fields.get('types') ?? '').split(/\s+/).includes('deb')) continue;
    const words = (key: string) => (fields.get(key) ?? '').split(/\s+/).filter(Boolean);
    for (const uri of words('uris'))
      out.push({ uri, suites: words('suites'), components: words('components') });
  }
  return out;
}

/** The main Debian mirror for `suite`: a source carrying that suite, not the security archive. */
export function debianMirror(sources: readonly AptSource[], suite: string): string | undefined {
  const hit = sources.find((s) => s.suites.includes(suite) && !/security/.test(s.uri));
  return hit?.uri.replace(/\/+$/, '');
}

/** The security archive for `suite` (Debian names it `<suite>-security`), when the host has one. */
export function securityMirror(sources: readonly AptSource[], suite: string): string | undefined {
  return sources.find((s) => s.suites.includes(`${suite}-security`))?.uri.replace(/\/+$/, '');
}
