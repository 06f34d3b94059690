// Workspace import throughput: `banger vm workspace prepare` of a 200 MB repository against
// raw `git archive HEAD | ssh … tar -x` into the same VM over the same ssh connection,
// alternating in one run (goal: ≥ 0.9). Then `vm workspace export` of a 1,000-file change.
// The golden image is built in a sandbox first unless BANGER_BENCH_GOLDEN names a directory
// with rootfs.ext4, vmlinux and initrd.img. Every XDG path points into a temp dir.
// Run: npx tsx bench/workspace.ts   (BENCH_RUNS=5, BENCH_REPO_MB=200, BENCH_FILE_KB=1024:
// the size of each file; 16 makes the same 200 MiB 12,800 files in 100 directories)
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sshDestination, sshOptions } from '../src/ssh/options.js';
import { benchSandbox, median, seconds } from '../test/helpers/bench.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const REPO_MB = Number(process.env.BENCH_REPO_MB ?? 200);
const FILE_KB = Number(process.env.BENCH_FILE_KB ?? 1024);
const { sb, cli } = await benchSandbox();

try {
  await cli(['vm', 'create', '--name', 'bench', '--disk-size', '8G']);
  const show = JSON.parse((await cli(['vm', 'show', 'bench', '--json'])).stdout) as {
    id: string;
    sshPort: number;
  };
  const target = {
    host: '127.0.0.1',
    port: show.sshPort,
    user: 'root',
    keyFile: join(sb.layout.sshDir, 'id_ed25519'),
    controlPath: join(sb.layout.runtimeDir, 'ssh', show.id),
    knownHostsFile: sb.layout.knownHosts,
    hostKeyAlias: 'bench.vm',
  };
  const ssh = (command: string) => [
    'ssh',
    ...sshOptions(target),
    '-T',
    sshDestination(target),
    command,
  ];

  // A repository of REPO_MB in files of FILE_KB random bytes (nothing for compression to
  // win), at most 128 to a directory.
  const repo = join(sb.dir, 'repo');
  await mkdir(repo);
  await execa('git', ['init', '-q', repo]);
  const count = Math.round((REPO_MB * 1024) / FILE_KB);
  for (let i = 0; i < count; i++) {
    const sub = join(repo, `d${Math.floor(i / 128)}`);
    if (i % 128 === 0) await mkdir(sub);
    await writeFile(join(sub, `blob-${i}.bin`), randomBytes(FILE_KB * 1024));
  }
  await execa('git', ['-C', repo, 'add', '-A']);
  await execa('git', [
    '-C',
    repo,
    '-c',
    'user.name=b',
    '-c',
    'user.email=b@b',
    '-c',
    'gc.auto=0',
    'commit',
    '-qm',
    'bench',
  ]);
  // Packed, as a real repository's history is; and no automatic gc running in the
  // background (12,800 loose objects would start one) while the copies read .git.
  await execa('git', ['-C', repo, 'gc', '-q']);
  const gitBytes = Number((await execa('du', ['-sb', join(repo, '.git')])).stdout.split('\t')[0]);

  const banger: number[] = [];
  const raw: number[] = [];
  let via = '';
  for (let i = 0; i < RUNS; i++) {
    let t0 = performance.now();
    await execa('sh', [
      '-c',
      `git -C '${repo}' archive HEAD | ${ssh(
        'rm -rf /root/raw && mkdir /root/raw && tar -x -C /root/raw',
      )
        .map((a) => `'${a}'`)
        .join(' ')}`,
    ]);
    raw.push(seconds(t0));
    await execa(ssh('rm -rf /root/raw')[0]!, ssh('rm -rf /root/raw').slice(1));
    t0 = performance.now();
    const { stderr } = await cli(['vm', 'workspace', 'prepare', 'bench', repo]);
    banger.push(seconds(t0));
    via = /files over (the data port|ssh)/.exec(stderr)?.[1] ?? 'unknown';
    console.log(
      `run ${i + 1}: banger ${banger.at(-1)!.toFixed(1)} s, git archive | ssh tar -x ${raw.at(-1)!.toFixed(1)} s`,
    );
  }
  const b = median(banger);
  const r = median(raw);
  console.log(
    `import of a ${REPO_MB} MiB repository (${count} files) over ${via} (.git ${(gitBytes / 2 ** 20).toFixed(0)} MiB): banger ${(REPO_MB / b).toFixed(1)} MiB/s (${b.toFixed(1)} s), raw ${(REPO_MB / r).toFixed(1)} MiB/s (${r.toFixed(1)} s): throughput ratio ${(r / b).toFixed(2)} (goal ≥ 0.9); banger also sends the history, ${((REPO_MB * 2 ** 20 + gitBytes) / 2 ** 20 / b).toFixed(1)} MiB/s on the wire`,
  );

  // Export of a 1,000-file change: 1,000 new small files in the guest repo.
  await cli([
    'vm',
    'ssh',
    'bench',
    '--',
    'sh',
    '-c',
    'cd /root/repo && mkdir -p change && i=0; while [ $i -lt 1000 ]; do echo "line $i" > change/f$i.txt; i=$((i + 1)); done',
  ]);
  const t0 = performance.now();
  const out = join(sb.dir, 'change.patch');
  await cli(['vm', 'workspace', 'export', 'bench', '--out', out]);
  console.log(`export of a 1,000-file change: ${seconds(t0).toFixed(1)} s`);
  await cli(['vm', 'rm', 'bench']);
} finally {
  await sb.dispose();
}
