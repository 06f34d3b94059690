// A real registry for tests: Debian's docker-registry on 127.0.0.1 with its storage in a temp
// dir (optionally behind htpasswd basic auth), OCI layouts written by hand, pushed with skopeo.
import { execa, type ResultPromise } from 'execa';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { request } from 'undici';
import { freeLoopbackPort } from '../../src/system/ports.js';
import { tarOf, type TarMember } from './tar.js';

/** Writes `spec` as an OCI layout under `dir`, pushes it as `repo:tag`; its reference and blobs. */
export async function pushImage(
  reg: TestRegistry,
  dir: string,
  repo: string,
  tag: string,
  spec: ImageSpec,
): Promise<{ ref: string; image: BuiltImage }> {
  const layout = new OciLayout(dir);
  const image = await layout.image(spec);
  await layout.tag(tag, image.manifest);
  await reg.push(layout.dir, tag, repo);
  return { ref: `${reg.host}/${repo}:${tag}`, image };
}

/** Retries that keep a test fast: one, with a capped wait. */
export const FAST_RETRY = { retries: 1, maxWaitMs: 100 };

export interface TestRegistry {
  /** 127.0.0.1:<port> */
  host: string;
  dir: string;
  /** The registry's filesystem storage root. */
  storage: string;
  /** Where the registry keeps a blob's bytes (corrupt it to test digest checks). */
  blobData(digest: string): string;
  /** Every request the registry logged so far: `GET 206 /v2/… <bytes written>`. */
  requests(): Promise<string[]>;
  push(layout: string, tag: string, repo: string, options?: { all?: boolean }): Promise<void>;
  /** Kills the registry and keeps its files. */
  stop(): Promise<void>;
  dispose(): Promise<void>;
}

export interface RegistryOptions {
  auth?: { user: string; password: string };
  /** Bearer tokens from this service (test/helpers/token-server.ts) instead of htpasswd. */
  token?: { realm: string; service: string; issuer: string; certFile: string };
  /** Credentials skopeo pushes with (a token service may want a login). */
  pushCreds?: { user: string; password: string };
}

export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'bgr-reg-'));
  let child: ResultPromise | undefined;
  const stop = async () => {
    if (!child) return;
    child.kill('SIGKILL');
    await child.catch(() => undefined);
    child = undefined;
  };
  try {
    const port = await freeLoopbackPort();
    const host = `127.0.0.1:${port}`;
    const storage = join(dir, 'storage');
    await mkdir(storage);
    let auth = '';
    if (options.auth) {
      const { stdout } = await execa('htpasswd', [
        '-Bbn',
        options.auth.user,
        options.auth.password,
      ]);
      await writeFile(join(dir, 'htpasswd'), `${stdout.trim()}\n`);
      auth = `auth:\n  htpasswd:\n    realm: banger-test\n    path: ${join(dir, 'htpasswd')}\n`;
    }
    if (options.token) {
      const t = options.token;
      auth = `auth:\n  token:\n    realm: ${t.realm}\n    service: ${t.service}\n    issuer: ${t.issuer}\n    rootcertbundle: ${t.certFile}\n`;
    }
    await writeFile(
      join(dir, 'config.yml'),
      `version: 0.1\nlog:\n  level: info\n  formatter: text\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}\n  secret: banger-test\n${auth}`,
    );
    const logFile = join(dir, 'registry.log');
    child = execa('docker-registry', ['serve', join(dir, 'config.yml')], {
      reject: false,
      stdout: { file: logFile },
      stderr: { file: logFile },
      env: { HOME: dir },
      extendEnv: false,
    });
    const deadline = Date.now() + 15_000;
    for (;;) {
      const status = await request(`http://${host}/v2/`)
        .then(async (r) => {
          await r.body.dump();
          return r.statusCode;
        })
        .catch(() => 0);
      if (status === 200 || status === 401) break;
      if (Date.now() > deadline || child.exitCode !== null) {
        throw new Error(
          `docker-registry did not answer on ${host}: ${await readFile(logFile, 'utf8').catch(() => '')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const env = { HOME: dir, XDG_RUNTIME_DIR: dir, PATH: process.env.PATH ?? '/usr/bin:/bin' };
    return {
      host,
      dir,
      storage,
      blobData: (digest) => {
        const hex = digest.slice('sha256:'.length);
        return join(storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
      },
      async requests() {
        const log = await readFile(logFile, 'utf8').catch(() => '');
        return log
          .split('\n')
          .filter((l) => l.includes('response completed'))
          .map((l) => {
            const get = (k: string) => new RegExp(`${k}="?([^" ]*)`).exec(l)?.[1] ?? '?';
            return `${get('http.request.method')} ${get('http.response.status')} ${get('http.request.uri')} ${get('http.response.written')}`;
          });
      },
      async push(layout, tag, repo, pushOptions = {}) {
        const login = options.auth ?? options.pushCreds;
        const creds = login ? ['--dest-creds', `${login.user}:${login.password}`] : [];
        await execa(
          'skopeo',
          [
            '--insecure-policy',
            'copy',
            '-q',
            '--preserve-digests',
            ...(pushOptions.all ? ['--all'] : []),
            '--dest-tls-verify=false',
            ...creds,
            `oci:${layout}:${tag}`,
            `docker://${host}/${repo}:${tag}`,
          ],
          { env, extendEnv: false },
        );
      },
      stop,
      async dispose() {
        await stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await stop();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

// --- OCI layouts --------------------------------------------------------------------------

export interface LayerSpec {
  compression: 'gzip' | 'zstd' | 'none';
  /** The layer's files, or `tar`: a whole tar archive made elsewhere (mmdebstrap). */
  members?: TarMember[];
  tar?: Buffer;
}

export interface ImageSpec {
  architecture?: string;
  layers: LayerSpec[];
  config?: { Env?: string[]; WorkingDir?: string; User?: string; Cmd?: string[] };
}

export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
}

export interface BuiltImage {
  manifest: Blob;
  config: Blob;
  layers: Blob[];
}

const LAYER_TYPE = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
} as const;

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** An OCI image layout directory written blob by blob: the test knows every digest. */
export class OciLayout {
  private readonly tagged: { tag: string; blob: Blob }[] = [];
  constructor(readonly dir: string) {}

  async blob(mediaType: string, data: Buffer): Promise<Blob> {
    const digest = sha256(data);
    await mkdir(join(this.dir, 'blobs/sha256'), { recursive: true });
    await writeFile(join(this.dir, 'blobs/sha256', digest.slice(7)), data);
    return { mediaType, digest, size: data.length };
  }

  async image(spec: ImageSpec): Promise<BuiltImage> {
    const layers: Blob[] = [];
    const diffIds: string[] = [];
    for (const layer of spec.layers) {
      const tar = layer.tar ?? (await tarBuffer(layer.members ?? []));
      diffIds.push(sha256(tar));
      const data =
        layer.compression === 'gzip'
          ? gzipSync(tar)
          : layer.compression === 'zstd'
            ? (await execa('zstd', ['-q', '-c'], { input: tar, encoding: 'buffer' })).stdout
            : tar;
      layers.push(await this.blob(LAYER_TYPE[layer.compression], Buffer.from(data)));
    }
    const config = await this.blob(
      'application/vnd.oci.image.config.v1+json',
      Buffer.from(
        JSON.stringify({
          architecture: spec.architecture ?? 'amd64',
          os: 'linux',
          config: spec.config ?? {},
          rootfs: { type: 'layers', diff_ids: diffIds },
        }),
      ),
    );
    return { manifest: await this.manifest(config, layers), config, layers };
  }

  /** An OCI image manifest of a config and layers already in the layout. */
  manifest(config: Blob, layers: Blob[]): Promise<Blob> {
    return this.blob(
      'application/vnd.oci.image.manifest.v1+json',
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config,
          layers,
        }),
      ),
    );
  }

  /** A multi-arch image index over `images` ([manifest, architecture] pairs). */
  async index(images: [Blob, string][]): Promise<Blob> {
    const manifests = images.map(([m, architecture]) => ({
      ...m,
      platform: {
        os: 'linux',
        architecture,
        ...(architecture === 'arm64' ? { variant: 'v8' } : {}),
      },
    }));
    return this.blob(
      'application/vnd.oci.image.index.v1+json',
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests,
        }),
      ),
    );
  }

  /** Names `blob` `tag` in index.json and writes the layout's top-level files. */
  async tag(tag: string, blob: Blob): Promise<void> {
    this.tagged.push({ tag, blob });
    const manifests = this.tagged.map((t) => ({
      ...t.blob,
      annotations: { 'org.opencontainers.image.ref.name': t.tag },
    }));
    await writeFile(join(this.dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await writeFile(join(this.dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
  }
}

async function tarBuffer(members: TarMember[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await tarOf(members)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The start of a busybox-only root: /bin with Debian's static busybox and its applet links. */
export async function busyboxBin(applets: readonly string[]): Promise<TarMember[]> {
  return [
    { name: 'bin/', type: 'directory', mode: 0o755 },
    { name: 'bin/busybox', body: await readFile('/bin/busybox'), mode: 0o755 },
    ...applets.map((a) => ({ name: `bin/${a}`, type: 'symlink' as const, linkname: 'busybox' })),
  ];
}
