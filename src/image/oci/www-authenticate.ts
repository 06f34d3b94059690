// The WWW-Authenticate header of a registry's 401 (RFC 7235 challenges): Docker-style bearer
// (`Bearer realm="…",service="…",scope="…"`) or Basic (docker-registry's htpasswd backend).

export type Challenge =
  | { scheme: 'bearer'; realm: string; service: string | undefined; scope: string | undefined }
  | { scheme: 'basic'; realm: string | undefined }
  | { scheme: 'other'; name: string };

/** Every challenge in the header, in order; malformed parts are skipped rather than guessed at. */
export function parseWwwAuthenticate(header: string | readonly string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const text = typeof header === 'string' ? header : header.join(', ');
  const raw: { scheme: string; params: Map<string, string> }[] = [];
  let i = 0;
  const skip = (chars: RegExp) => {
    while (i < text.length && chars.test(text[i]!)) i++;
  };
  const token = () => {
    const start = i;
    while (i < text.length && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(text[i]!)) i++;
    return text.slice(start, i);
  };
  while (i < text.length) {
    skip(/[\s,]/);
    const name = token();
    if (name === '') {
      i++;
      continue;
    }
    // `name` is a new scheme unless it is directly followed by `=` (then it was a param).
    const current = raw.at(-1);
    skip(/\s/);
    if (text[i] === '=' && current !== undefined && text[i + 1] !== '=') {
      i++;
      skip(/\s/);
      current.params.set(name.toLowerCase(), value());
      continue;
    }
    raw.push({ scheme: name.toLowerCase(), params: new Map() });
    // token68 credentials (`Negotiate abc==`) carry no params we use: skip them.
    const save = i;
    const t = token();
    skip(/\s/);
    if (t !== '' && (text[i] !== '=' || text[i + 1] === '=')) {
      skip(/=/);
    } else {
      i = save;
    }
  }
  return raw.map(({ scheme, params }): Challenge => {
    if (scheme === 'bearer' && params.get('realm')) {
      return {
        scheme: 'bearer',
        realm: params.get('realm')!,
        service: params.get('service'),
        scope: params.get('scope'),
      };
    }
    if (scheme === 'basic') return { scheme: 'basic', realm: params.get('realm') };
    return { scheme: 'other', name: scheme };
  });

  function value(): string {
    if (text[i] !== '"') {
      const start = i;
      while (i < text.length && !/[\s,]/.test(text[i]!)) i++;
      return text.slice(start, i);
    }
    i++;
    let out = '';
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\' && i + 1 < text.length) i++;
      out += text[i];
      i++;
    }
    i++;
    return out;
  }
}
