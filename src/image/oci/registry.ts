// A registry v2 client: resolves a reference to its linux/amd64 image (manifest, config, layer
// descriptors) and opens blobs for the blob cache. HTTPS always, except loopback and the
// registries the caller lists as insecure.
import { createHash } from 'node:crypto';
import { Agent, interceptors, type Dispatcher } from 'undici';
import { BangerError, ErrorCode } from '../../errors.js';
import { RegistryAuth } from './auth.js';
import type { BlobBody, BlobSource } from './blob-cache.js';
import type { CredentialSources } from './credentials.js';
import {
  MANIFEST_ACCEPT,
  ManifestProblem,
  parseImageConfig,
  parseManifest,
  selectPlatform,
  type Descriptor,
  type ImageConfig,
  type LayerDescriptor,
} from './manifest.js';
import { isLoopbackHost, manifestReference, type OciReference } from './reference.js';
import {
  DEFAULT_RETRY,
  discard,
  displayReference,
  readBody,
  registryErrorCode,
  registryGet,
  type RetryPolicy,
} from './registry-request.js';

const MANIFEST_BYTES_MAX = 4 * 1024 * 1024;
const CONFIG_BYTES_MAX = 16 * 1024 * 1024;

export interface RegistryClientOptions {
  /** host[:port] entries reached over plain HTTP (config's insecure registries). */
  insecure?: readonly string[];
  /** Where credentials are looked up (env for $REGISTRY_AUTH_FILE, home for ~/.docker). */
  credentials?: CredentialSources;
  retry?: RetryPolicy;
  /** Defaults to an Agent of this client's own that follows redirects (blob CDNs). */
  dispatcher?: Dispatcher;
}

export interface ResolvedImage {
  reference: OciReference;
  /** What the reference resolved to (an index's digest for a multi-arch tag): record this one. */
  digest: string;
  /** The linux/amd64 image manifest's own digest (equal to `digest` for single-arch images). */
  manifestDigest: string;
  mediaType: string;
  config: ImageConfig;
  configDescriptor: Descriptor;
  layers: LayerDescriptor[];
}

export function sha256Digest(data: string | Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export class RegistryClient {
  private readonly auths = new Map<string, RegistryAuth>();
  private readonly insecure: Set<string>;
  private readonly dispatcher: Dispatcher;
  private readonly ownAgent: Agent | undefined;
  private readonly retry: RetryPolicy;

  constructor(private readonly options: RegistryClientOptions = {}) {
    this.insecure = new Set((options.insecure ?? []).map((h) => h.toLowerCase()));
    this.retry = options.retry ?? DEFAULT_RETRY;
    if (options.dispatcher) {
      this.dispatcher = options.dispatcher;
    } else {
      this.ownAgent = new Agent({
        connectTimeout: 15_000,
        headersTimeout: 60_000,
        bodyTimeout: 60_000,
      });
      this.dispatcher = this.ownAgent.compose(interceptors.redirect({ maxRedirections: 5 }));
    }
  }

  /** `http://` for loopback and insecure registries, `https://` for every other. */
  baseUrl(registry: string): string {
    const plain = isLoopbackHost(registry) || this.insecure.has(registry.toLowerCase());
    return `${plain ? 'http' : 'https'}://${registry}`;
  }

  /** Resolves `ref` to its linux/amd64 image: manifest (through an index), config, layers. */
  async resolve(ref: OciReference, signal?: AbortSignal): Promise<ResolvedImage> {
    const top = await this.manifest(ref, manifestReference(ref), ref.digest, true, signal);
    let image = top;
    if (top.parsed.kind === 'index') {
      const { manifests } = top.parsed;
      const entry = this.explain(ref, () => selectPlatform(manifests));
      image = await this.manifest(ref, entry.digest, entry.digest, false, signal);
    }
    const parsed = image.parsed;
    if (parsed.kind !== 'image') {
      return this.explain(ref, () => {
        throw new ManifestProblem('its linux/amd64 entry is another index');
      });
    }
    const configText = await this.smallBlob(ref, parsed.config, CONFIG_BYTES_MAX, signal);
    const config = this.explain(ref, () => parseImageConfig(configText));
    return {
      reference: ref,
      digest: top.digest,
      manifestDigest: image.digest,
      mediaType: parsed.mediaType,
      config,
      configDescriptor: parsed.config,
      layers: parsed.layers,
    };
  }

  /** A BlobSource on `ref`'s repository for BlobCache.fetch/fetchAll. */
  blobSource(ref: OciReference): BlobSource {
    return {
      name: `${ref.registry}/${ref.repository}`,
      open: (digest, { offset, signal }) => this.openBlob(ref, digest, offset, signal),
    };
  }

  /** Opens a blob, from `offset` on when it is above zero (a 206, or a 200 if Range is ignored). */
  async openBlob(
    ref: OciReference,
    digest: string,
    offset: number,
    signal?: AbortSignal,
  ): Promise<BlobBody | null> {
    const res = await this.get(
      ref,
      `/v2/${ref.repository}/blobs/${digest}`,
      offset > 0 ? { range: `bytes=${offset}-` } : {},
      signal,
    );
    const length = Number(res.headers['content-length']);
    const known = Number.isSafeInteger(length) && length >= 0 ? length : undefined;
    if (res.statusCode === 200) return { start: 0, body: res.body, length: known };
    if (res.statusCode === 206) {
      const range = /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''));
      return { start: range ? Number(range[1]) : offset, body: res.body, length: known };
    }
    if (res.statusCode === 416) {
      discard(res.body);
      return null;
    }
    throw await this.failure(ref, res, 'blob', digest);
  }

  async close(): Promise<void> {
    await this.ownAgent?.close();
  }

  private authFor(registry: string): RegistryAuth {
    let auth = this.auths.get(registry);
    if (!auth) {
      auth = new RegistryAuth(registry, this.dispatcher, this.options.credentials);
      this.auths.set(registry, auth);
    }
    return auth;
  }

  private get(
    ref: OciReference,
    path: string,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
  ) {
    return registryGet({
      ref,
      auth: this.authFor(ref.registry),
      dispatcher: this.dispatcher,
      baseUrl: this.baseUrl(ref.registry),
      retry: this.retry,
      path,
      headers,
      signal,
    });
  }

  private async manifest(
    ref: OciReference,
    which: string,
    expected: string | undefined,
    top: boolean,
    signal: AbortSignal | undefined,
  ) {
    const res = await this.get(
      ref,
      `/v2/${ref.repository}/manifests/${which}`,
      { accept: MANIFEST_ACCEPT },
      signal,
    );
    if (res.statusCode !== 200) {
      throw await this.failure(ref, res, top ? 'reference' : 'manifest', which);
    }
    const body = await this.read(ref, res, MANIFEST_BYTES_MAX, signal);
    // The body's own hash is the digest; a reference by digest must get exactly those bytes.
    const digest = sha256Digest(body);
    if (expected !== undefined && digest !== expected) {
      throw new BangerError(
        ErrorCode.Config,
        `registry ${ref.registry} sent a manifest for ${displayReference(ref)} whose sha256 is ${digest}, not the requested ${expected}; it is corrupt or tampered with: report it to the registry's owner`,
      );
    }
    const contentType = res.headers['content-type'];
    const parsed = this.explain(ref, () =>
      parseManifest(body, typeof contentType === 'string' ? contentType : undefined),
    );
    return { digest, parsed };
  }

  private async smallBlob(
    ref: OciReference,
    d: Descriptor,
    max: number,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    if (d.size > max) {
      return this.explain(ref, () => {
        throw new ManifestProblem(
          `its config blob is ${d.size} bytes, over the ${max} banger reads`,
        );
      });
    }
    const res = await this.get(ref, `/v2/${ref.repository}/blobs/${d.digest}`, {}, signal);
    if (res.statusCode !== 200) throw await this.failure(ref, res, 'blob', d.digest);
    const body = await this.read(ref, res, max, signal);
    const got = sha256Digest(body);
    if (got !== d.digest || Buffer.byteLength(body) !== d.size) {
      throw new BangerError(
        ErrorCode.Config,
        `blob ${d.digest} (the image config) from ${ref.registry}/${ref.repository} does not match its digest (got ${got}, ${Buffer.byteLength(body)} of ${d.size} bytes); the registry holds a corrupt copy: push the image again`,
      );
    }
    return body;
  }

  private async read(
    ref: OciReference,
    res: Dispatcher.ResponseData,
    max: number,
    signal: AbortSignal | undefined,
  ) {
    try {
      return await readBody(res, max);
    } catch (err) {
      if (signal?.aborted)
        throw new BangerError(
          ErrorCode.Cancelled,
          `pull of ${displayReference(ref)} was cancelled`,
          { cause: err },
        );
      throw new BangerError(
        ErrorCode.Config,
        `registry ${ref.registry} sent a bad response for ${displayReference(ref)}: ${(err as Error).message}; retry`,
        { cause: err },
      );
    }
  }

  /** The one-line error for a response that is not what was asked for. */
  private async failure(
    ref: OciReference,
    res: Dispatcher.ResponseData,
    what: 'reference' | 'manifest' | 'blob',
    digest: string,
  ): Promise<BangerError> {
    const text = await readBody(res, 64 * 1024).catch(() => '');
    const code = registryErrorCode(text);
    const name = displayReference(ref);
    const repo = `${ref.registry}/${ref.repository}`;
    if (code === 'NAME_UNKNOWN') {
      return new BangerError(
        ErrorCode.NotFound,
        `${name}: repository ${ref.repository} does not exist on registry ${ref.registry}; check the name, or name its registry (the default is Docker Hub)`,
      );
    }
    if (res.statusCode === 404 || code === 'MANIFEST_UNKNOWN' || code === 'BLOB_UNKNOWN') {
      if (what === 'reference') {
        const which =
          ref.digest !== undefined ? `digest ${ref.digest}` : `tag ${JSON.stringify(ref.tag)}`;
        return new BangerError(
          ErrorCode.NotFound,
          `${name}: ${which} is not in ${repo}; check the tag (the registry lists them at /v2/${ref.repository}/tags/list)`,
        );
      }
      return new BangerError(
        ErrorCode.NotFound,
        `${name}: its manifest names ${what} ${digest}, which ${repo} does not have; the image was pushed incompletely: push it again`,
      );
    }
    return new BangerError(
      ErrorCode.Config,
      `registry ${ref.registry} answered HTTP ${res.statusCode}${code ? ` (${code})` : ''} for ${what === 'blob' ? `blob ${digest}` : `the manifest ${digest}`} of ${name}; retry later, or check the registry`,
    );
  }

  /** Runs a parser, turning its ManifestProblem into the one-line error naming the reference. */
  private explain<T>(ref: OciReference, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof ManifestProblem)) throw err;
      const code = /no linux\/amd64 image/.test(err.message)
        ? ErrorCode.NotFound
        : ErrorCode.Config;
      throw new BangerError(
        code,
        `${displayReference(ref)} cannot become a banger image: ${err.message}`,
        { hint: err.hint },
      );
    }
  }
}
