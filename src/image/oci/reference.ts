// OCI image references as docker and podman read them: `[registry[:port]/]repo[:tag][@sha256:…]`,
// with Docker Hub as the default registry and `library/` as its default namespace.
import { UsageError } from '../../errors.js';

export const DOCKER_HUB = 'registry-1.docker.io';
const HUB_ALIASES = new Set(['docker.io', 'index.docker.io', DOCKER_HUB]);

export interface OciReference {
  /** host[:port] the HTTP requests go to: `registry-1.docker.io`, `127.0.0.1:5000`, `[::1]:5000`. */
  registry: string;
  /** `library/alpine`, `o/tool`. */
  repository: string;
  /** undefined only when the reference names a digest and no tag. */
  tag: string | undefined;
  /** `sha256:<64 hex>`; when present the manifest is fetched by it (the tag is informational). */
  digest: string | undefined;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

export function isSha256Digest(s: string): boolean {
  return DIGEST.test(s);
}

function invalid(input: string, why: string): UsageError {
  return new UsageError(
    `${JSON.stringify(input)} is not an image reference: ${why} (expected [registry[:port]/]repository[:tag|@sha256:<64 hex>], e.g. "alpine:3.20" or "ghcr.io/owner/tool@sha256:…")`,
  );
}

/**
 * Parses a reference, filling in Docker Hub defaults: `alpine` →
 * registry-1.docker.io/library/alpine:latest. `defaultRegistry` (config's
 * `oci.default_registry`) is where a reference without a registry goes instead.
 */
export function parseReference(input: string, defaultRegistry = DOCKER_HUB): OciReference {
  const s = input.trim();
  if (s === '') throw invalid(input, 'it is empty');
  if (/\s/.test(s)) throw invalid(input, 'it contains whitespace');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) throw invalid(input, 'drop the URL scheme');

  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digest.startsWith('sha256:')) throw invalid(input, 'only sha256 digests are supported');
    if (!DIGEST.test(digest)) throw invalid(input, 'a sha256 digest is 64 lowercase hex digits');
  }

  let registry: string | undefined;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    // Like docker: the first component is a registry when it cannot be a repository name.
    if (
      first.includes('.') ||
      first.includes(':') ||
      first === 'localhost' ||
      first.startsWith('[')
    ) {
      registry = first;
      rest = rest.slice(slash + 1);
    }
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      throw invalid(input, `tag ${JSON.stringify(tag)} has characters a tag cannot have`);
    }
  }

  if (registry !== undefined && !HOST.test(registry)) {
    throw invalid(input, `${JSON.stringify(registry)} is not a registry host[:port]`);
  }
  if (registry !== undefined && registry.includes(':')) {
    const port = Number(registry.slice(registry.lastIndexOf(':') + 1));
    if (!registry.endsWith(']') && (port < 1 || port > 65535)) {
      throw invalid(input, `port ${port} is out of range`);
    }
  }
  if (rest === '') throw invalid(input, 'the repository name is missing');
  if (rest !== rest.toLowerCase()) throw invalid(input, 'repository names are lowercase');
  for (const part of rest.split('/')) {
    if (!COMPONENT.test(part)) {
      throw invalid(
        input,
        `${JSON.stringify(part)} is not a repository path component (lowercase letters, digits and single . _ - separators)`,
      );
    }
  }

  const named = registry ?? defaultRegistry;
  const host = HUB_ALIASES.has(named.toLowerCase()) ? DOCKER_HUB : named;
  const repository = host === DOCKER_HUB && !rest.includes('/') ? `library/${rest}` : rest;
  if (repository.length > 255) throw invalid(input, 'the repository name is over 255 characters');
  return {
    registry: host,
    repository,
    tag: tag ?? (digest === undefined ? 'latest' : undefined),
    digest,
  };
}

/** The full canonical form: `registry-1.docker.io/library/alpine:latest`. */
export function formatReference(ref: OciReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** What `/v2/<repo>/manifests/<…>` is asked for: the digest when there is one, else the tag. */
export function manifestReference(ref: OciReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/**
 * True when `s` parses as a reference. A bare DNS label (`alpine`) is both a possible catalog
 * name and a Docker Hub reference: look it up in the catalog first and fall through to OCI.
 */
export function looksLikeOciReference(s: string): boolean {
  try {
    parseReference(s);
    return true;
  } catch {
    return false;
  }
}

function label(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * A banger image name for a reference: `debian:bookworm` → `debian-bookworm`, `alpine` and
 * `alpine:latest` → `alpine` (so `--image alpine` finds what `image pull alpine` made),
 * `ghcr.io/o/tool@sha256:abc…` → `tool-<first 12 hex>`. Names are DNS labels, which have no
 * dots: `python:3.12` → `python-3-12`.
 */
export function imageNameFor(ref: OciReference): string {
  const base = label(ref.repository.split('/').pop() ?? '') || 'image';
  const suffix =
    ref.digest !== undefined
      ? ref.digest.slice('sha256:'.length, 'sha256:'.length + 12)
      : ref.tag === undefined || ref.tag === 'latest'
        ? ''
        : label(ref.tag);
  if (suffix === '') return base.slice(0, 63).replace(/-+$/, '');
  const room = Math.max(1, 63 - suffix.length - 1);
  const name = `${base.slice(0, room).replace(/-+$/, '')}-${suffix}`;
  return name.slice(0, 63).replace(/-+$/, '');
}

/** 127.0.0.0/8, ::1 or localhost, with or without a port: traffic that never leaves the host. */
export function isLoopbackHost(registry: string): boolean {
  const host = registry.startsWith('[')
    ? registry.slice(1, registry.indexOf(']'))
    : registry.replace(/:\d+$/, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
