import { execa } from 'execa';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSandbox } from './sandbox.js';

export interface GoldenImage {
  dir: string;
  rootfs: string;
  kernel: string;
  initrd: string;
  /** The kernel's lib/modules/<version> tree. */
  modules: string;
  /**
   * What `banger vm run --rm -- cat /etc/os-release` printed on a fresh state dir: it built
   * the default image first (progress on stderr), then booted it.
   */
  stdout: string;
  stderr: string;
  /** `banger image ls` afterwards. */
  imageLs: string;
  imageShow: Record<string, unknown>;
  kernelShow: Record<string, unknown>;
}

const WAIT_MS = 30 * 60_000;

/**
 * The golden image, built once per test run through the real CLI — by `banger vm run` on an
 * empty sandbox, which must build the default image itself before it boots it — and shared by every e2e file: the first caller builds, the others wait for it.
 * scripts/run-tests.mjs names the run (BANGER_TEST_RUN) and removes the directory after.
 */
export async function goldenImage(): Promise<GoldenImage> {
  const dir = join(tmpdir(), `banger-e2e-${process.env.BANGER_TEST_RUN ?? 'adhoc'}`);
  await mkdir(dir, { recursive: true });
  const done = join(dir, 'golden.json');
  const failed = join(dir, 'golden.failed');
  const won = await mkdir(join(dir, 'golden.lock')).then(
    () => true,
    () => false,
  );
  if (won) {
    try {
      await writeFile(done, JSON.stringify(await build(dir)));
    } catch (err) {
      await writeFile(failed, String(err instanceof Error ? err.stack : err));
      throw err;
    }
  }
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const text = await readFile(done, 'utf8').catch(() => undefined);
    if (text) return JSON.parse(text) as GoldenImage;
    const error = await readFile(failed, 'utf8').catch(() => undefined);
    if (error) throw new Error(`the shared golden image build failed:\n${error}`);
    if (Date.now() > deadline)
      throw new Error('timed out waiting for the shared golden image build');
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function build(dir: string): Promise<GoldenImage> {
  const sb = await makeSandbox();
  try {
    const r = await sb.cli(['vm', 'run', '--rm', '--', 'cat', '/etc/os-release'], {
      timeoutMs: WAIT_MS,
    });
    if (r.exitCode !== 0)
      throw new Error(`banger vm run exited ${r.exitCode}:\n${String(r.stderr)}`);
    const imageLs = String((await sb.cli(['image', 'ls'])).stdout);
    const imageShow = JSON.parse(
      String((await sb.cli(['image', 'show', 'debian-bookworm', '--json'])).stdout),
    ) as Record<string, unknown>;
    const kernelShow = JSON.parse(
      String((await sb.cli(['kernel', 'show', 'debian-bookworm-cloud', '--json'])).stdout),
    ) as Record<string, unknown>;
    const out = join(dir, 'golden');
    await rm(out, { recursive: true, force: true });
    await mkdir(out);
    const golden: GoldenImage = {
      dir: out,
      rootfs: join(out, 'rootfs.ext4'),
      kernel: join(out, 'vmlinux'),
      initrd: join(out, 'initrd.img'),
      modules: join(out, 'modules'),
      stdout: String(r.stdout),
      stderr: String(r.stderr),
      imageLs,
      imageShow,
      kernelShow,
    };
    await execa('cp', ['--sparse=always', String(imageShow.rootfs), golden.rootfs]);
    await copyFile(String(imageShow.kernelFile), golden.kernel);
    await copyFile(String(imageShow.initrdFile), golden.initrd);
    await execa('cp', ['-a', String(kernelShow.modulesDir), golden.modules]);
    return golden;
  } finally {
    await sb.dispose();
  }
}

/**
 * For benchmarks: the golden image's files from BANGER_BENCH_GOLDEN (a directory holding
 * rootfs.ext4, vmlinux, initrd.img and modules/), else built once as for the tests.
 */
export async function benchGolden(): Promise<
  Pick<GoldenImage, 'rootfs' | 'kernel' | 'initrd' | 'modules'>
> {
  const given = process.env.BANGER_BENCH_GOLDEN;
  if (!given) return goldenImage();
  return {
    rootfs: join(given, 'rootfs.ext4'),
    kernel: join(given, 'vmlinux'),
    initrd: join(given, 'initrd.img'),
    modules: join(given, 'modules'),
  };
}
