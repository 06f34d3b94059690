// Manifests, indexes and image configs as the OCI image spec and Docker schema 2 define them:
// pure parsing and checking, no I/O, so every refusal is testable with a literal.
import { isSha256Digest } from './reference.js';

export const MediaType = {
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  DockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
} as const;

/** Sent as Accept on every manifest request, most wanted first. */
export const MANIFEST_ACCEPT = [
  MediaType.OciIndex,
  MediaType.OciManifest,
  MediaType.DockerList,
  MediaType.DockerManifest,
].join(', ');

export type Compression = 'gzip' | 'zstd' | 'none';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export interface LayerDescriptor extends Descriptor {
  compression: Compression;
}

const LAYER_TYPES: Partial<Record<string, Compression>> = {
  'application/vnd.oci.image.layer.v1.tar': 'none',
  'application/vnd.oci.image.layer.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd': 'zstd',
  'application/vnd.docker.image.rootfs.diff.tar': 'none',
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'gzip',
  'application/vnd.docker.image.rootfs.diff.tar.zstd': 'zstd',
};

/** How a layer of `mediaType` is compressed, or undefined for a type banger cannot unpack. */
export function layerCompression(mediaType: string): Compression | undefined {
  return LAYER_TYPES[mediaType];
}

/** Why content from a registry is unusable; registry.ts adds the reference and the fix. */
export class ManifestProblem extends Error {
  constructor(
    message: string,
    /** The next step when there is one beyond "report it" (another platform's build). */
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** What to do about an image built for another platform. */
const AMD64_HINT =
  'banger boots linux/amd64 images only: pull a tag built for linux/amd64 (e.g. "docker buildx build --platform linux/amd64" makes one)';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string | undefined;
}

export function describePlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

export type ParsedManifest =
  | { kind: 'index'; mediaType: string; manifests: (Descriptor & { platform?: Platform })[] }
  | { kind: 'image'; mediaType: string; config: Descriptor; layers: LayerDescriptor[] };

function descriptor(value: unknown, where: string): Descriptor {
  const d = value as Partial<Descriptor> | null;
  if (typeof d !== 'object' || d === null)
    throw new ManifestProblem(`${where} is not a descriptor`);
  if (typeof d.digest !== 'string' || !isSha256Digest(d.digest)) {
    throw new ManifestProblem(
      `${where} has digest ${JSON.stringify(d.digest)}, not sha256:<64 hex>`,
    );
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw new ManifestProblem(`${where} (${d.digest}) has no valid size`);
  }
  return {
    mediaType: typeof d.mediaType === 'string' ? d.mediaType : '',
    digest: d.digest,
    size: d.size,
  };
}

export function layerDescriptor(d: Descriptor, index: number): LayerDescriptor {
  const compression = LAYER_TYPES[d.mediaType];
  if (compression !== undefined) return { ...d, compression };
  if (/nondistributable|foreign/.test(d.mediaType)) {
    throw new ManifestProblem(
      `layer ${index + 1} (${d.digest}) is a foreign layer (${d.mediaType}), which lives outside the registry (Windows base images)`,
    );
  }
  throw new ManifestProblem(
    `layer ${index + 1} (${d.digest}) has media type ${JSON.stringify(d.mediaType)}, not a tar, tar+gzip or tar+zstd layer`,
  );
}

/** Parses a manifest body; `contentType` is the response header, the body's own mediaType wins. */
export function parseManifest(body: string, contentType: string | undefined): ParsedManifest {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(body) as Record<string, unknown>;
  } catch {
    throw new ManifestProblem('the manifest is not JSON');
  }
  if (typeof json !== 'object' || json === null)
    throw new ManifestProblem('the manifest is not a JSON object');
  const header = (contentType ?? '').split(';')[0]!.trim();
  const mediaType = typeof json.mediaType === 'string' ? json.mediaType : header;
  if (
    json.schemaVersion === 1 ||
    mediaType.startsWith('application/vnd.docker.distribution.manifest.v1+')
  ) {
    throw new ManifestProblem('it is a Docker schema 1 manifest, which banger does not read');
  }
  const isIndex =
    mediaType === MediaType.OciIndex ||
    mediaType === MediaType.DockerList ||
    (mediaType === '' && Array.isArray(json.manifests));
  if (isIndex) {
    if (!Array.isArray(json.manifests))
      throw new ManifestProblem('the image index has no manifests');
    return {
      kind: 'index',
      mediaType,
      manifests: json.manifests.map((m: unknown, i) => {
        const d = descriptor(m, `index entry ${i + 1}`);
        const p = (m as { platform?: Partial<Platform> }).platform;
        const platform =
          p && typeof p.os === 'string' && typeof p.architecture === 'string'
            ? { os: p.os, architecture: p.architecture, variant: p.variant }
            : undefined;
        return { ...d, platform };
      }),
    };
  }
  const isImage =
    mediaType === MediaType.OciManifest ||
    mediaType === MediaType.DockerManifest ||
    (mediaType === '' && json.config !== undefined);
  if (!isImage) {
    throw new ManifestProblem(
      `its manifest has media type ${JSON.stringify(mediaType)}, not an image manifest or index`,
    );
  }
  if (!Array.isArray(json.layers)) throw new ManifestProblem('the manifest has no layers list');
  const config = descriptor(json.config, 'the config');
  if (
    config.mediaType !== '' &&
    config.mediaType !== MediaType.OciConfig &&
    config.mediaType !== MediaType.DockerConfig
  ) {
    throw new ManifestProblem(
      `its config has media type ${JSON.stringify(config.mediaType)}: it is an artifact, not a container image`,
    );
  }
  if (json.layers.length === 0) throw new ManifestProblem('the image has no layers');
  const layers = json.layers.map((l: unknown, i) =>
    layerDescriptor(descriptor(l, `layer ${i + 1}`), i),
  );
  return { kind: 'image', mediaType, config, layers };
}

/**
 * The linux/amd64 entry of an index (plain amd64 preferred to a variant), or a problem naming
 * the platforms the index has. Attestation entries (`unknown/unknown`) are not platforms.
 */
export function selectPlatform(
  manifests: readonly (Descriptor & { platform?: Platform | undefined })[],
): Descriptor {
  const amd64 = manifests.filter(
    (m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64',
  );
  const pick = amd64.find((m) => !m.platform?.variant || m.platform.variant === 'v1') ?? amd64[0];
  if (pick) return pick;
  const have = [
    ...new Set(
      manifests
        .map((m) => m.platform)
        .filter((p): p is Platform => p !== undefined && p.os !== 'unknown')
        .map(describePlatform),
    ),
  ];
  throw new ManifestProblem(
    `it has no linux/amd64 image (it has ${have.length > 0 ? have.join(', ') : 'no platform entries'})`,
    AMD64_HINT,
  );
}

export interface ImageConfig {
  architecture: string;
  os: string;
  env: string[];
  workingDir: string | undefined;
  user: string | undefined;
  entrypoint: string[] | undefined;
  cmd: string[] | undefined;
  /** The uncompressed layer digests, in order, for checking a flattened layer. */
  diffIds: string[];
}

const strings = (v: unknown): string[] | undefined =>
  Array.isArray(v) && v.every((s) => typeof s === 'string') ? v : undefined;

/** Parses an image config blob and refuses anything but linux/amd64. */
export function parseImageConfig(body: string): ImageConfig {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(body) as Record<string, unknown>;
  } catch {
    throw new ManifestProblem('its image config is not JSON');
  }
  const architecture = typeof json.architecture === 'string' ? json.architecture : '';
  const os = typeof json.os === 'string' ? json.os : '';
  if (os !== 'linux' || architecture !== 'amd64') {
    throw new ManifestProblem(
      `it is a ${os || '?'}/${architecture || '?'} image, not linux/amd64`,
      AMD64_HINT,
    );
  }
  const c = (typeof json.config === 'object' && json.config !== null ? json.config : {}) as Record<
    string,
    unknown
  >;
  const rootfs = json.rootfs as { diff_ids?: unknown } | undefined;
  return {
    architecture,
    os,
    env: strings(c.Env) ?? [],
    workingDir: typeof c.WorkingDir === 'string' && c.WorkingDir !== '' ? c.WorkingDir : undefined,
    user: typeof c.User === 'string' && c.User !== '' ? c.User : undefined,
    entrypoint: strings(c.Entrypoint),
    cmd: strings(c.Cmd),
    diffIds: strings(rootfs?.diff_ids) ?? [],
  };
}
