import assert from 'node:assert/strict';
import { execa } from 'execa';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { BangerError, ErrorCode } from '../errors.js';
import { loadConfig, parseConfigText } from './load.js';
import { defaultConfig } from './schema.js';
import { GiB } from './size.js';

const FILE = '/x/config.toml';
const dir = await mkdtemp(join(tmpdir(), 'banger-config-'));
after(() => rm(dir, { recursive: true, force: true }));

/** Parses `text` and returns the Config error it must raise. */
function configError(text: string): BangerError {
  try {
    parseConfigText(text, FILE);
  } catch (err) {
    assert.ok(err instanceof BangerError, `not a BangerError: ${String(err)}`);
    assert.equal(err.code, ErrorCode.Config);
    return err;
  }
  assert.fail(`no error for:\n${text}`);
}

const sync = (fields: string) => `[[file_sync]]\n${fields}\n`;
const ok = 'host = "~/a"\nguest = "~/a"';

// [config text, the exact message after "config /x/config.toml: "]
const invalid: [string, string][] = [
  // top level
  ['default_image_name = "Debian"', 'default_image_name: "Debian" is not a valid image name'],
  ['default_image_name = "-x"', 'default_image_name: "-x" is not a valid image name'],
  ['default_image_name = ""', 'default_image_name: must not be empty'],
  ['default_image_name = 3', 'default_image_name: expected a string, got 3'],
  ['vm_defaults = 3', 'vm_defaults: expected a table, got 3'],
  ['vmm = 1979-05-27', 'vmm: expected a table, got a date'],
  // [vm_defaults]
  ['[vm_defaults]\nvcpu = 0', 'vm_defaults.vcpu 0 is out of range: use 1 to 64'],
  ['[vm_defaults]\nvcpu = 65', 'vm_defaults.vcpu 65 is out of range: use 1 to 64'],
  ['[vm_defaults]\nvcpu = 1.5', 'vm_defaults.vcpu: expected a whole number, got 1.5'],
  ['[vm_defaults]\nvcpu = "2"', 'vm_defaults.vcpu: expected a number, got "2"'],
  ['[vm_defaults]\nmemory = 64', 'vm_defaults.memory 64 MiB is below the 256 MiB minimum'],
  ['[vm_defaults]\nmemory = "255M"', 'vm_defaults.memory 255 MiB is below the 256 MiB minimum'],
  [
    '[vm_defaults]\nmemory = "1500K"',
    'vm_defaults.memory: invalid memory "1500K": not a whole number of MiB',
  ],
  [
    '[vm_defaults]\nmemory = 1.5',
    'vm_defaults.memory: invalid memory 1.5: use a whole number of MiB',
  ],
  ['[vm_defaults]\nmemory = "lots"', 'vm_defaults.memory: invalid size "lots": use a number'],
  ['[vm_defaults]\nmemory = true', 'vm_defaults.memory: expected a size like "8G", got true'],
  ['[vm_defaults]\ndisk_size = "63M"', 'vm_defaults.disk_size 63M is below the 64M minimum'],
  ['[vm_defaults]\ndisk_size = 1000', 'vm_defaults.disk_size 1000B is below the 64M minimum'],
  ['[vm_defaults]\ndisk_size = "8X"', 'vm_defaults.disk_size: invalid size "8X"'],
  ['[vm_defaults]\ndisk_size = "-8G"', 'vm_defaults.disk_size: invalid size "-8G"'],
  // [[file_sync]]
  [
    '[file_sync]\nhost = "~/a"',
    'file_sync: expected [[file_sync]] entries (an array of tables), got a table',
  ],
  ['file_sync = ["~/a"]', 'file_sync entry 1: expected a table, got "~/a"'],
  [sync('guest = "~/a"'), 'file_sync entry 1, host: required key is missing'],
  [sync('host = "~/a"'), 'file_sync entry 1, guest: required key is missing'],
  [sync('host = ""\nguest = "~/a"'), 'file_sync entry 1, host: must not be empty'],
  [sync('host = "~/a"\nguest = ""'), 'file_sync entry 1, guest: must not be empty'],
  [sync('host = 5\nguest = "~/a"'), 'file_sync entry 1, host: expected a string, got 5'],
  [
    sync('host = "a/b"\nguest = "~/a"'),
    'file_sync entry 1, host: "a/b" is relative; use an absolute path or one under ~/',
  ],
  [
    sync('host = "~bob/a"\nguest = "~/a"'),
    'file_sync entry 1, host: "~bob/a": ~user paths are not supported',
  ],
  [
    sync('host = "~/a"\nguest = "~bob/a"'),
    'file_sync entry 1, guest: "~bob/a": ~user paths are not supported',
  ],
  [
    sync('host = "~/../etc"\nguest = "~/a"'),
    'file_sync entry 1, host: "~/../etc" contains a ".." segment',
  ],
  [
    sync('host = "/a/b/.."\nguest = "~/a"'),
    'file_sync entry 1, host: "/a/b/.." contains a ".." segment',
  ],
  [
    sync('host = "~/a"\nguest = "/root/../etc"'),
    'file_sync entry 1, guest: "/root/../etc" contains a ".." segment',
  ],
  [
    sync('host = "~/a"\nguest = "a"'),
    'file_sync entry 1, guest: "a" is relative; use a path under ~/ or /root',
  ],
  [
    sync('host = "~/a"\nguest = "/rootkit"'),
    'file_sync entry 1, guest: "/rootkit" is outside the guest home',
  ],
  [
    sync('host = "~/a"\nguest = "/tmp/a"'),
    'file_sync entry 1, guest: "/tmp/a" is outside the guest home',
  ],
  [
    `${sync(ok)}${sync(ok)}${sync('host = "/a"\nguest = "/etc/passwd"')}`,
    'file_sync entry 3, guest: "/etc/passwd" is outside the guest home; use a path under ~/ or /root',
  ],
  [sync(`${ok}\nmode = "999"`), 'file_sync entry 1, mode: "999" is not a file mode'],
  [sync(`${ok}\nmode = "60"`), 'file_sync entry 1, mode: "60" is not a file mode'],
  [sync(`${ok}\nmode = "07777"`), 'file_sync entry 1, mode: "07777" is not a file mode'],
  [sync(`${ok}\nmode = "rw"`), 'file_sync entry 1, mode: "rw" is not a file mode'],
  [
    sync(`${ok}\nmode = 600`),
    'file_sync entry 1, mode: expected an octal string like "0600", got 600',
  ],
  // [vmm]
  ['[vmm]\ndriver = "kvm"', 'vmm.driver: expected one of auto, qemu, firecracker, got "kvm"'],
  ['[vmm]\naccel = "hvf"', 'vmm.accel: expected one of auto, kvm, tcg, got "hvf"'],
  [
    '[vmm]\nqemu_binary = "./qemu"',
    'vmm.qemu_binary: "./qemu" is neither an absolute path nor a program name',
  ],
  ['[vmm]\nqemu_img_binary = "bin/qemu-img"', 'vmm.qemu_img_binary: "bin/qemu-img" is neither'],
  ['[vmm]\nfirecracker_binary = ""', 'vmm.firecracker_binary: must not be empty'],
  ['[vmm]\nhost_limits = "no"', 'vmm.host_limits: expected true or false, got "no"'],
  // [network]
  ['[network]\nmode = "bridge"', 'network.mode: expected one of user, tap, got "bridge"'],
  ['[network]\nsubnet = "10.0.0.0"', 'network.subnet: "10.0.0.0" is not an IPv4 CIDR'],
  ['[network]\nsubnet = "10.0.256.0/24"', 'network.subnet: "10.0.256.0/24" is not an IPv4 CIDR'],
  ['[network]\nsubnet = "10.0.01.0/24"', 'network.subnet: "10.0.01.0/24" is not an IPv4 CIDR'],
  [
    '[network]\nsubnet = "10.0.0.0/31"',
    'network.subnet: "10.0.0.0/31": prefix /31 is out of range; use /8 to /30',
  ],
  ['[network]\nsubnet = "10.0.0.0/7"', 'network.subnet: "10.0.0.0/7": prefix /7 is out of range'],
  [
    '[network]\nsubnet = "172.30.0.1/24"',
    'network.subnet: "172.30.0.1/24" has host bits set; did you mean "172.30.0.0/24"?',
  ],
  [
    '[network]\nbridge = "a-very-long-bridge"',
    'network.bridge: "a-very-long-bridge" is not a valid interface name',
  ],
  ['[network]\nbridge = "br 0"', 'network.bridge: "br 0" is not a valid interface name'],
  ['[network]\ndns_port = 0', 'network.dns_port: must be between 1 and 65535, got 0'],
  ['[network]\ndns_port = 70000', 'network.dns_port: must be between 1 and 65535, got 70000'],
  ['[network]\nnat = "yes"', 'network.nat: expected true or false, got "yes"'],
  ['[logs]\nconsole_max = "1K"', 'logs.console_max: must be at least 64K, got 1K'],
  ['[logs]\nsession_max = "32K"', 'logs.session_max: must be at least 64K, got 32K'],
  [
    '[network]\negress = "pypi.org,10.1.1.1"',
    'network.egress: "10.1.1.1" is an address: egress lists names (use "all" to reach addresses)',
  ],
  [
    '[network]\negress_dns = ["dns.example"]',
    'network.egress_dns entry 1: "dns.example" is not an IPv4 address with an optional :port',
  ],
  // unknown keys, with suggestions against the table they are in
  ['vm_default = 1', 'unknown key "vm_default" (did you mean "vm_defaults"?)'],
  ['[netwrok]\nmode = "tap"', 'unknown key "netwrok" (did you mean "network"?)'],
  ['colour = "red"', 'unknown key "colour"'],
  ['[vm_defaults]\ncpus = 2', 'unknown key "vm_defaults.cpus" (did you mean "vcpu"?)'],
  ['[vmm]\nqemu_bin = "qemu"', 'unknown key "vmm.qemu_bin" (did you mean "qemu_binary"?)'],
  ['[network]\ndnsport = 53', 'unknown key "network.dnsport" (did you mean "dns_port"?)'],
  [
    sync('hots = "~/a"\nguest = "~/a"'),
    'unknown key "hots" in file_sync entry 1 (did you mean "host"?)',
  ],
];

test('every invalid shape is rejected with the key or entry index named', () => {
  for (const [text, expected] of invalid) {
    const err = configError(text);
    const prefix = `config ${FILE}: `;
    assert.ok(err.message.startsWith(prefix + expected), `for:\n${text}\ngot: ${err.message}`);
    assert.ok(!err.message.includes('\n'), `multi-line message: ${err.message}`);
    assert.equal(err.hint, `fix or remove the key in ${FILE}`);
  }
});

test('an unknown key without a close match gets no suggestion', () => {
  assert.equal(configError('colour = "red"').message, `config ${FILE}: unknown key "colour"`);
});

test('a TOML syntax error names the file and line', () => {
  const err = configError('[vmm]\ndriver = "qemu"\naccel = \n');
  assert.equal(err.message, `config ${FILE}: line 3: invalid value`);
  assert.match(err.hint ?? '', /line 3 of \/x\/config.toml/);
  assert.match(configError('[vmm]\n[vmm]\n').message, /^config \/x\/config.toml: line 2: /);
});

test('a full config file parses with every value', async () => {
  const path = join(dir, 'config.toml');
  await writeFile(
    path,
    `default_image_name = "alpine-3"

[vm_defaults]
vcpu = 4
memory = "2G"
disk_size = "20GiB"

[[file_sync]]
host = "~/.local/share/opencode/auth.json"
guest = "~/.local/share/opencode/auth.json"

[[file_sync]]
host = "/etc/aws"
guest = "/root/.aws"

[[file_sync]]
host = "~/bin/my-script"
guest = "/root"
mode = "0755"

[[file_sync]]
host = "~"
guest = "~"
mode = "600"

[vmm]
driver = "qemu"
accel = "tcg"
qemu_binary = "/opt/qemu/bin/qemu-system-x86_64"
qemu_img_binary = "qemu-img"
firecracker_binary = "firecracker"
host_limits = false

[network]
mode = "user"
subnet = "172.30.0.0/24"
bridge = "banger0"
dns_port = 42069
nat = false
`,
  );
  const loaded = await loadConfig(path);
  assert.equal(loaded.exists, true);
  assert.equal(loaded.path, path);
  const { config } = loaded;
  assert.equal(config.defaultImageName, 'alpine-3');
  assert.deepEqual(config.vmDefaults, { vcpu: 4, memoryMiB: 2048, diskBytes: 20 * GiB });
  assert.deepEqual(config.fileSync, [
    {
      host: '~/.local/share/opencode/auth.json',
      guest: '~/.local/share/opencode/auth.json',
      mode: undefined,
    },
    { host: '/etc/aws', guest: '/root/.aws', mode: undefined },
    { host: '~/bin/my-script', guest: '/root', mode: 0o755 },
    { host: '~', guest: '~', mode: 0o600 },
  ]);
  assert.deepEqual(config.vmm, {
    driver: 'qemu',
    accel: 'tcg',
    qemuBinary: '/opt/qemu/bin/qemu-system-x86_64',
    qemuImgBinary: 'qemu-img',
    firecrackerBinary: 'firecracker',
    hostLimits: false,
  });
  assert.deepEqual(config.network, defaultConfig().network);
});

test('[network] takes tap mode, its subnet, bridge, DNS port, NAT and vm_to_vm', () => {
  const config = parseConfigText(
    '[network]\nmode = "tap"\nsubnet = "10.20.0.0/16"\nbridge = "br1"\ndns_port = 5353\nnat = true\nvm_to_vm = true\n',
    FILE,
  );
  assert.deepEqual(config.network, {
    mode: 'tap',
    subnet: '10.20.0.0/16',
    bridge: 'br1',
    dnsPort: 5353,
    egress: 'all',
    egressPorts: [80, 443],
    egressDns: [],
    egressPort: 42070,
    vmToVm: true,
  });
});

test('[network] egress: a list normalized, its ports and resolver; egress wins over nat', () => {
  const config = parseConfigText(
    '[network]\negress = "PyPI.org, *.npmjs.org"\negress_ports = [443]\negress_dns = ["10.0.0.53", "10.0.0.54:5353"]\negress_port = 3128\nnat = true\n',
    FILE,
  );
  assert.equal(config.network.egress, 'pypi.org,*.npmjs.org');
  assert.deepEqual(config.network.egressPorts, [443]);
  assert.deepEqual(config.network.egressDns, ['10.0.0.53', '10.0.0.54:5353']);
  assert.equal(config.network.egressPort, 3128);
});

test('the VM size limits are the ones the daemon enforces, inclusive', () => {
  const config = parseConfigText(
    '[vm_defaults]\nvcpu = 64\nmemory = "256M"\ndisk_size = "64M"\n',
    FILE,
  );
  assert.deepEqual(config.vmDefaults, { vcpu: 64, memoryMiB: 256, diskBytes: 64 * 2 ** 20 });
});

test('numbers work for memory (MiB) and disk_size (bytes)', () => {
  const config = parseConfigText('[vm_defaults]\nmemory = 3072\ndisk_size = 10737418240\n', FILE);
  assert.equal(config.vmDefaults.memoryMiB, 3072);
  assert.equal(config.vmDefaults.diskBytes, 10 * GiB);
});

test('a missing file yields the defaults', async () => {
  const path = join(dir, 'nope', 'config.toml');
  const loaded = await loadConfig(path);
  assert.equal(loaded.exists, false);
  assert.deepEqual(loaded.config, defaultConfig());
  assert.equal(loaded.config.defaultImageName, 'debian-bookworm');
  assert.equal(loaded.config.vmm.driver, 'auto');
  assert.equal(loaded.config.vmm.accel, 'auto');
  assert.deepEqual(loaded.config.network, {
    mode: 'user',
    subnet: '172.30.0.0/24',
    bridge: 'banger0',
    dnsPort: 42069,
    egress: 'none',
    egressPorts: [80, 443],
    egressDns: [],
    egressPort: 42070,
    vmToVm: false,
  });
  assert.deepEqual(loaded.config.fileSync, []);
});

test('an empty file is the defaults too, but exists', async () => {
  const path = join(dir, 'empty.toml');
  await writeFile(path, '# nothing here\n');
  const loaded = await loadConfig(path);
  assert.equal(loaded.exists, true);
  assert.deepEqual(loaded.config, defaultConfig());
});

test('an unreadable path is a Config error naming the file', async () => {
  await assert.rejects(loadConfig(dir), (err: unknown) => {
    assert.ok(err instanceof BangerError);
    assert.equal(err.code, ErrorCode.Config);
    assert.ok(err.message.startsWith(`config ${dir}: cannot read: `), err.message);
    return true;
  });
});

test('a config file the user may not read is a Config error naming it', async () => {
  // Root reads mode-000 files, so as root the loader runs in a child that is `nobody`.
  const open = await mkdtemp(join(tmpdir(), 'banger-config-locked-'));
  after(() => rm(open, { recursive: true, force: true }));
  await chmod(open, 0o755);
  const path = join(open, 'config.toml');
  await writeFile(path, 'default_image_name = "x"\n');
  await chmod(path, 0o000);
  const loader = new URL('./load.ts', import.meta.url).href;
  const script = `try { await (await import(${JSON.stringify(loader)})).loadConfig(${JSON.stringify(path)}); }
    catch (err) { process.stdout.write(JSON.stringify({ code: err.code, message: err.message, hint: err.hint })); }`;
  const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', script];
  const asRoot = process.getuid?.() === 0;
  const argv = asRoot
    ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', ...node]
    : node;
  const { stdout } = await execa(argv[0]!, argv.slice(1), { env: { ...process.env, HOME: open } });
  const err = JSON.parse(stdout) as { code: string; message: string; hint: string };
  assert.equal(err.code, ErrorCode.Config);
  assert.match(err.message, new RegExp(`^config ${path}: cannot read: EACCES: permission denied`));
  assert.equal(err.hint, `check that ${path} is a readable file`);
});

test('a syntax error in a file on disk is reported with the real path', async () => {
  const path = join(dir, 'broken.toml');
  await writeFile(path, 'default_image_name = "x"\n[vmm\n');
  await assert.rejects(loadConfig(path), { message: new RegExp(`^config ${path}: line 2: `) });
});

test("the README's config.toml example parses, every key in its table", async () => {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('```toml\ndefault_image_name');
  assert.ok(start >= 0, 'the example is in the README');
  const text = readme.slice(start + '```toml\n'.length, readme.indexOf('```', start + 7));
  const config = parseConfigText(text, 'README.md');
  assert.equal(config.logs.sessionMaxBytes, 8 * 1024 * 1024);
  assert.equal(config.vmm.hostLimits, true);
});
