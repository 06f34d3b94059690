/**
 * Every nftables rule banger needs, in two tables of its own (`inet banger` for addresses,
 * `bridge banger` for frames between the bridge's ports), generated whole from what is
 * running and loaded by one `nft -f` transaction that replaces both tables: a restart, a
 * crash or a repeated call can never leave a duplicate or a stale rule, and nothing outside
 * these tables is touched.
 */

export const NFT_TABLE = 'banger';

export interface RulesetVm {
  tap: string;
  ip: string;
  mac: string;
  nat: boolean;
}

export interface RulesetInput {
  bridge: string;
  hostIp: string;
  /** The port banger's DNS responder listens on; guests ask port 53 on the bridge address. */
  dnsPort: number;
  /** The egress proxy's port on the bridge address: how a guest without NAT reaches names. */
  egressPort: number;
  vmToVm: boolean;
  vms: readonly RulesetVm[];
}

const q = (s: string) => JSON.stringify(s);

/** The script `nft -f -` runs: both tables made if missing, deleted, then written anew. */
export function rulesetScript(input: RulesetInput): string {
  return [
    `table inet ${NFT_TABLE} {}`,
    `delete table inet ${NFT_TABLE}`,
    `table bridge ${NFT_TABLE} {}`,
    `delete table bridge ${NFT_TABLE}`,
    inetTable(input),
    bridgeTable(input),
    '',
  ].join('\n');
}

/** Both tables gone (the daemon's last tap VM is deleted, or uninstall). */
export function removeScript(): string {
  return [
    `table inet ${NFT_TABLE} {}`,
    `delete table inet ${NFT_TABLE}`,
    `table bridge ${NFT_TABLE} {}`,
    `delete table bridge ${NFT_TABLE}`,
    '',
  ].join('\n');
}

/**
 * Guests reach the host for DNS (port 53 on the bridge address is redirected to the
 * responder) and the egress proxy only, answers to connections the host opened, and the
 * outside only when their VM has NAT (masqueraded). Nothing from outside reaches a guest
 * unasked.
 */
function inetTable({ bridge, hostIp, dnsPort, egressPort, vms }: RulesetInput): string {
  const br = q(bridge);
  const nat = vms.filter((v) => v.nat).map((v) => v.ip);
  return `table inet ${NFT_TABLE} {
  set nat_vms {
    type ipv4_addr${nat.length > 0 ? `\n    elements = { ${nat.join(', ')} }` : ''}
  }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname ${br} ct state established,related accept
    iifname ${br} ip daddr ${hostIp} meta l4proto { tcp, udp } th dport ${dnsPort} accept
    iifname ${br} ip daddr ${hostIp} tcp dport ${egressPort} accept
    iifname ${br} drop
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname ${br} oifname != ${br} ip saddr @nat_vms accept
    oifname ${br} iifname != ${br} ct state established,related accept
    iifname ${br} oifname != ${br} drop
    oifname ${br} iifname != ${br} drop
  }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iifname ${br} ip daddr ${hostIp} meta l4proto { tcp, udp } th dport 53 redirect to :${dnsPort}
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname != ${br} ip saddr @nat_vms masquerade
  }
}`;
}

/**
 * Frames entering from a VM's tap carry its own MAC and address (no spoofing another VM or
 * the host); frames from one VM's tap to another's are dropped unless vm_to_vm.
 */
function bridgeTable({ vmToVm, vms }: RulesetInput): string {
  const taps = vms.map((v) => q(v.tap));
  const spoof = vms.flatMap((v) => [
    `    iifname ${q(v.tap)} ether saddr != ${v.mac} drop`,
    `    iifname ${q(v.tap)} ether type ip ip saddr != ${v.ip} ip saddr != 0.0.0.0 drop`,
    `    iifname ${q(v.tap)} ether type arp arp saddr ip != ${v.ip} drop`,
  ]);
  const isolate =
    !vmToVm && taps.length > 1
      ? [`    iifname { ${taps.join(', ')} } oifname { ${taps.join(', ')} } drop`]
      : [];
  return [
    `table bridge ${NFT_TABLE} {`,
    '  chain prerouting {',
    '    type filter hook prerouting priority filter; policy accept;',
    ...spoof,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    ...isolate,
    '  }',
    '}',
  ].join('\n');
}
