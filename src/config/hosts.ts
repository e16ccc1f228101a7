/**
 * Host checks for server entries: IPv4, IPv6 and RFC 1123 host names. Pure: no DNS.
 */
import { isIPv4, isIPv6 } from 'node:net';

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const DOTTED_NUMBERS = /^[0-9.]+$/;
const MAX_NAME_LENGTH = 253;

/** What is wrong with a host, and the kind of host it looks like (for the example fix). */
export interface HostProblem {
  /** Completes "`host` is ...": `not a valid IPv4 address (...)`. */
  readonly problem: string;
  readonly kind: 'ipv4' | 'name';
}

/**
 * What is wrong with `host` (an IPv4 address or a host name, never bracketed), or `undefined` when it is
 * valid. IPv6 addresses are checked by the caller, which knows whether brackets were used.
 */
export function hostProblem(host: string): HostProblem | undefined {
  if (DOTTED_NUMBERS.test(host)) {
    if (isIPv4(host)) return undefined;
    return {
      kind: 'ipv4',
      problem: 'not a valid IPv4 address (four numbers from 0 to 255, no leading zeros)',
    };
  }
  if (host.length > MAX_NAME_LENGTH) {
    return {
      kind: 'name',
      problem: `not a valid host name: it is longer than ${MAX_NAME_LENGTH} characters`,
    };
  }
  if (!host.split('.').every((label) => LABEL.test(label))) {
    return {
      kind: 'name',
      problem:
        'not a valid host name: each dot-separated part must be 1 to 63 letters, digits or "-", ' +
        'not starting or ending with "-" (RFC 1123)',
    };
  }
  return undefined;
}

/** Whether `host` is an IPv6 address (a zone id such as `%eth0` allowed). */
export function isIPv6Address(host: string): boolean {
  return isIPv6(host);
}

/**
 * A form of `host` in which two spellings of one address compare equal: host names and IPv4 lower-cased,
 * IPv6 addresses compressed (`0:0:0:0:0:0:0:1` and `::1` are the same server).
 */
export function canonicalHost(host: string): string {
  if (!isIPv6(host)) return host.toLowerCase();
  try {
    return new URL(`http://[${host}]/`).hostname.slice(1, -1);
  } catch {
    // A zone id (fe80::1%eth0) is not allowed in a URL; lower-casing is the best we can do.
    return host.toLowerCase();
  }
}

export { formatServer } from '../protocol/address.js';
