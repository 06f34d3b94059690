// What a guest is told about the egress proxy: where it is, in the variables HTTP clients
// read (curl, pip, npm, git, apt through its own setting…). A client that ignores them
// reaches nothing: the proxy is the only way out for a guest without NAT.

/** Where a user-mode guest finds the proxy (an address of QEMU's virtual network). */
export const USER_PROXY = { host: '10.0.2.100', port: 3128 } as const;

/** The proxy variables for a guest whose proxy is at host:port. */
export function proxyEnv(proxy: { host: string; port: number }): string[] {
  const url = `http://${proxy.host}:${proxy.port}`;
  const noProxy = 'localhost,127.0.0.1,::1,.vm';
  return [
    `http_proxy=${url}`,
    `https_proxy=${url}`,
    `HTTP_PROXY=${url}`,
    `HTTPS_PROXY=${url}`,
    `no_proxy=${noProxy}`,
    `NO_PROXY=${noProxy}`,
  ];
}

/** Whether a KEY=VALUE entry is one of proxyEnv's. */
export function isProxyVariable(entry: string): boolean {
  return /^(https?_proxy|HTTPS?_PROXY|no_proxy|NO_PROXY)=/.test(entry);
}
