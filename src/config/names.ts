/**
 * VM, image, kernel and session names become hostnames, directory names and `<name>.vm`
 * DNS records, so every one is a DNS label.
 */
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function isValidName(name: string): boolean {
  return DNS_LABEL.test(name);
}

export function nameProblem(what: string, name: string): string {
  return `${JSON.stringify(name)} is not a valid ${what} name: use lowercase letters, digits and hyphens (at most 63, no leading or trailing hyphen)`;
}
