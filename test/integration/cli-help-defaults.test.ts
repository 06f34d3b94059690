import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { defaultConfig } from '../../src/config/schema.js';
import { resolveVmDefaults } from '../../src/config/vm-defaults.js';
import { hostFacts } from '../../src/system/host.js';
import { daemonPids, makeSandbox, type Sandbox } from '../helpers/sandbox.js';

// `vm run --help` and `vm create --help` show the size a new VM gets and which layer chose it
// (config, auto, builtin), read from config.toml and the host without a daemon.
describe('help shows the resolved VM defaults', () => {
  let sb: Sandbox;
  before(async () => {
    sb = await makeSandbox();
    await mkdir(sb.layout.configDir, { recursive: true });
  });
  after(async () => {
    await sb.dispose();
  });

  const config = (text: string) => writeFile(sb.layout.configFile, text);
  /** Help text with commander's line wrapping undone. */
  const help = async (args: string[]) => {
    const r = await sb.cli([...args, '--help']);
    assert.equal(r.exitCode, 0, String(r.stderr));
    assert.equal(String(r.stderr), '');
    return String(r.stdout).replace(/\s+/g, ' ');
  };

  test('vm run and vm create: config values say config, the rest auto or builtin', async () => {
    await config('[vm_defaults]\nvcpu = 3\n');
    // The memory default comes from this host's RAM (auto) or the floor (builtin).
    const memory = resolveVmDefaults(defaultConfig(), hostFacts()).memoryMiB;
    for (const command of ['run', 'create']) {
      const out = await help(['vm', command]);
      assert.match(out, /--vcpu <count> virtual CPUs \(default 3, config\)/, command);
      assert.ok(
        out.includes(`(default ${memory.value} MiB, ${memory.source})`),
        `${command}: ${out}`,
      );
      assert.match(
        out,
        /--disk-size <size> work disk mounted at \/root, e\.g\. 8G \(default 8G, builtin\)/,
      );
    }
    await config('[vm_defaults]\nmemory = "3G"\ndisk_size = "20G"\n');
    const out = await help(['vm', 'run']);
    assert.match(out, /\(default 3072 MiB, config\)/);
    assert.match(out, /\(default 20G, config\)/);
    assert.deepEqual(await daemonPids(sb.dir), [], 'help started no daemon');
  });

  test('vm set changes an existing VM, so it shows no create defaults', async () => {
    await config('[vm_defaults]\nvcpu = 3\n');
    const out = await help(['vm', 'set']);
    assert.match(out, /--vcpu <count> virtual CPUs --memory/);
    assert.doesNotMatch(out, /\(default /);
  });

  test('a broken config.toml leaves help without defaults; the command reports it', async () => {
    await config('[vm_defaults\nvcpu = 3\n');
    const out = await help(['vm', 'run']);
    assert.match(out, /--vcpu <count> virtual CPUs --memory <size> guest memory/);
    assert.doesNotMatch(out, /\(default \d/);
    const r = await sb.cli(['vm', 'create']);
    assert.equal(r.exitCode, 1);
    assert.match(String(r.stderr), new RegExp(`^banger: config ${sb.layout.configFile}: line 1: `));
    assert.deepEqual(await daemonPids(sb.dir), []);
  });

  test('vm_defaults.memory below the VM minimum is refused naming the key, not --memory', async () => {
    await config('[vm_defaults]\nmemory = "200M"\n');
    const r = await sb.cli(['vm', 'create']);
    assert.equal(r.exitCode, 1);
    assert.equal(
      String(r.stderr).split('\n')[0],
      `banger: config ${sb.layout.configFile}: vm_defaults.memory 200 MiB is below the 256 MiB minimum`,
    );
    assert.deepEqual(await daemonPids(sb.dir), [], 'refused before the daemon was asked');
  });
});
