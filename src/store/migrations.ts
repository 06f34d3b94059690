/**
 * Schema history. Entry N takes the database from user_version N to N+1; never edit an
 * entry that has shipped, append a new one. Only durable intent lives here (a published
 * port is what the user asked for): pids, taps, loop devices and open forwards belong in
 * memory and handles.json (see docs/internals.md).
 */
export const migrations: readonly string[] = [
  `
  CREATE TABLE kernels (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    version     TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL DEFAULT '',
    dir         TEXT NOT NULL,
    kernel_file TEXT NOT NULL,
    initrd_file TEXT,
    modules_dir TEXT,
    sha256      TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
  ) STRICT;

  CREATE TABLE images (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    managed     INTEGER NOT NULL DEFAULT 1,
    distro      TEXT NOT NULL DEFAULT '',
    arch        TEXT NOT NULL DEFAULT 'x86_64',
    description TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL DEFAULT '',
    dir         TEXT NOT NULL,
    rootfs_file TEXT NOT NULL,
    size_bytes  INTEGER NOT NULL DEFAULT 0,
    kernel_id   TEXT REFERENCES kernels(id) ON DELETE RESTRICT,
    created_at  TEXT NOT NULL
  ) STRICT;

  CREATE TABLE vms (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    image_id     TEXT NOT NULL REFERENCES images(id) ON DELETE RESTRICT,
    state        TEXT NOT NULL CHECK (state IN ('created', 'running', 'stopped', 'error')),
    vcpu         INTEGER NOT NULL,
    memory_mib   INTEGER NOT NULL,
    disk_bytes   INTEGER NOT NULL,
    network_mode TEXT NOT NULL DEFAULT 'user',
    nat          INTEGER NOT NULL DEFAULT 0,
    guest_ip     TEXT,
    dir          TEXT NOT NULL,
    last_error   TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
  ) STRICT;
  CREATE INDEX vms_image_id ON vms(image_id);
  CREATE INDEX images_kernel_id ON images(kernel_id);
  `,
  // v2: kernels registered in place (image register --kernel) are not banger's to delete.
  `ALTER TABLE kernels ADD COLUMN managed INTEGER NOT NULL DEFAULT 1;`,
  // v3: the port on 127.0.0.1 forwarded to a user-mode VM's sshd, kept across restarts.
  `ALTER TABLE vms ADD COLUMN ssh_port INTEGER NOT NULL DEFAULT 0;`,
  // v4: what an image pulled from an OCI registry was (reference, manifest digest, the
  // config's Env/WorkingDir/User), as JSON; NULL for every other image.
  `ALTER TABLE images ADD COLUMN oci TEXT;`,
  // v5: tap-mode guest addresses, one per VM (no VM foreign key: the address is taken
  // before the VM's record is written, and orphans are released at daemon start).
  `CREATE TABLE addresses (
    ip    TEXT PRIMARY KEY,
    vm_id TEXT NOT NULL UNIQUE
  ) STRICT;`,
  // v6: ports published from 127.0.0.1 to a VM (vm create --publish, vm port add): what the
  // user asked for, kept across restarts; whether a forward is open now is never stored. A
  // host port belongs to one VM, so two VMs never fight over it at their next start.
  `CREATE TABLE published_ports (
    vm_id      TEXT NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
    guest_port INTEGER NOT NULL CHECK (guest_port BETWEEN 1 AND 65535),
    host_port  INTEGER NOT NULL UNIQUE CHECK (host_port BETWEEN 1 AND 65535),
    created_at TEXT NOT NULL,
    PRIMARY KEY (vm_id, guest_port)
  ) STRICT;`,
  // v7: who made the VM to delete it when they end (`mcp:<pid>:<session>`: a `banger mcp`
  // session), so `vm prune` can find the ones a crashed owner left; NULL for a user's own.
  `ALTER TABLE vms ADD COLUMN owner TEXT;`,
  // v8: what the guest may reach outside: 'none', 'all' (NAT; what nat = 1 was) or a list of
  // names for the filtering proxy ('pypi.org,*.npmjs.org'). nat stays, kept equal to 'all'.
  `ALTER TABLE vms ADD COLUMN egress TEXT NOT NULL DEFAULT 'none';
   UPDATE vms SET egress = 'all' WHERE nat = 1;`,
];
