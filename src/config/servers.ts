/**
 * `LICENSE_SERVERS`-style lists: `host[:port]` entries separated by `;`, in priority order.
 */
import type { ConfigError } from '../errors.js';
import { DEFAULT_LICENSE_PORT } from './defaults.js';
import { Diagnostics, quote } from './diagnostics.js';
import { canonicalHost, formatServer, hostProblem, isIPv6Address } from './hosts.js';
import type { ParseServerListOptions, ServerAddress } from './types.js';

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
const DIGITS = /^[0-9]+$/;
const MAX_PORT = 65535;
const DEFAULT_KEY = 'LICENSE_SERVERS';

/** Where a list sits and what an entry without a port gets. */
export interface ServerListContext {
  readonly key: string;
  readonly line?: number | undefined;
  readonly defaultPort: number;
}

/**
 * Parses a server list such as `10.0.0.1:7569;tls://ls2.example.com;[fe80::1]:4971`.
 *
 * Entry forms: `host`, `host:port`, `[IPv6]`, `[IPv6]:port`, a bare IPv6 address (more than one `:`; it
 * never carries a port: write `[IPv6]:port` for that), each optionally prefixed with `tls://` for a TLS
 * connection. Hosts are IPv4 addresses, IPv6 addresses or RFC 1123 host names. The port defaults to
 * `defaultPort` (7569), for `tls://` entries too. Blanks around entries and empty entries (a trailing `;`)
 * are ignored. A repeated host and port gives a `duplicate-server` warning and is dropped. The value
 * `default` (any case) stands for `127.0.0.1` on the default port.
 *
 * @returns The entries, frozen, in the order written.
 * @throws {@link ConfigError} (code -11) naming the entry, what is wrong with it and how to fix it, when an
 *   entry is not valid or the list is empty.
 * @example
 * ```ts
 * parseServerList('10.0.0.1:7569;10.0.0.2');
 * // [{ host: '10.0.0.1', port: 7569, tls: false, entry: '10.0.0.1:7569' },
 * //  { host: '10.0.0.2', port: 7569, tls: false, entry: '10.0.0.2' }]
 * parseServerList('10.0.0.1:99999');
 * // throws ConfigError: LICENSE_SERVERS entry "10.0.0.1:99999" has port 99999; a port must be 1 to 65535. ...
 * ```
 */
export function parseServerList(
  value: string,
  options: ParseServerListOptions = {},
): readonly ServerAddress[] {
  const diagnostics = new Diagnostics(options.source, options.onWarning, options.secrets);
  const key = options.key ?? DEFAULT_KEY;
  const defaultPort = options.defaultPort ?? DEFAULT_LICENSE_PORT;
  if (!isPort(defaultPort)) {
    throw diagnostics.error(
      `defaultPort ${defaultPort} is not a port; pass an integer from 1 to ${MAX_PORT}.`,
      {
        key,
      },
    );
  }
  return readServerList(value, diagnostics, { key, line: options.line, defaultPort });
}

/** {@link parseServerList} with the caller's diagnostics, so its warnings join the file's. */
export function readServerList(
  value: string,
  diagnostics: Diagnostics,
  context: ServerListContext,
): readonly ServerAddress[] {
  const trimmed = value.trim();
  if (trimmed.toLowerCase() === 'default') {
    const entry = formatServer('127.0.0.1', context.defaultPort);
    return Object.freeze([address('127.0.0.1', context.defaultPort, false, entry, context.line)]);
  }
  const servers: ServerAddress[] = [];
  const seen = new Map<string, ServerAddress>();
  for (const entry of trimmed.split(';').map((part) => part.trim())) {
    if (entry === '') continue;
    const server = parseEntry(entry, diagnostics, context);
    const id = `${canonicalHost(server.host)}|${server.port}`;
    const first = seen.get(id);
    if (first !== undefined) {
      diagnostics.warn(
        'duplicate-server',
        `${context.key} lists ${formatServer(server.host, server.port)} twice (${quote(first.entry)} and ` +
          `${quote(entry)}); the repeat is ignored. Remove ${quote(entry)}.`,
        { line: context.line, key: context.key },
      );
      continue;
    }
    seen.set(id, server);
    servers.push(server);
  }
  if (servers.length === 0) {
    throw diagnostics.error(
      `${context.key} lists no server. Give one or more host[:port] entries separated by ";", ` +
        `e.g. ${context.key} = 10.0.0.1:${context.defaultPort};10.0.0.2, or write default for 127.0.0.1:${context.defaultPort}.`,
      { line: context.line, key: context.key },
    );
  }
  return Object.freeze(servers);
}

function parseEntry(entry: string, diagnostics: Diagnostics, context: ServerListContext): ServerAddress {
  const fail = (problem: string, fix: string): ConfigError =>
    diagnostics.error(`${context.key} entry ${quote(entry)} ${problem}. ${fix}`, {
      line: context.line,
      key: context.key,
    });
  let rest = entry;
  let tls = false;
  const scheme = SCHEME.exec(entry);
  if (scheme !== null) {
    const name = scheme[1] ?? '';
    if (name.toLowerCase() !== 'tls') {
      throw fail(
        `starts with "${name}://"; only tls:// is understood`,
        `Write the entry as ${entry.slice(scheme[0].length) || 'host:port'} for plain TCP or with tls:// in front for TLS.`,
      );
    }
    tls = true;
    rest = entry.slice(scheme[0].length);
  }
  const example = (host: string): string => formatServer(host, context.defaultPort, tls);
  if (rest.includes(',') || /\s/.test(rest)) {
    const separated = rest
      .split(/[\s,]+/)
      .filter(Boolean)
      .join(';');
    throw fail(
      `contains ${rest.includes(',') ? '","' : 'a blank'}; entries are separated by ";"`,
      `Write ${context.key} = ${separated || example('10.0.0.1')}.`,
    );
  }
  const { host, portText } = splitHostPort(rest, entry, fail, example);
  const port = portText === undefined ? context.defaultPort : parsePort(portText);
  if (port === undefined) {
    const fixed = example(host);
    if (portText === '') {
      throw fail(
        'has an empty port after ":"',
        `Write the port, e.g. ${fixed}, or drop the ":" to use ${context.defaultPort}.`,
      );
    }
    if (!DIGITS.test(portText ?? '')) {
      throw fail(
        `has port ${quote(portText ?? '')}, which is not a decimal number`,
        `Fix the entry, e.g. ${fixed}.`,
      );
    }
    const shown = (portText ?? '').length > 12 ? quote(portText ?? '', 12) : portText;
    throw fail(`has port ${shown}; a port must be 1 to ${MAX_PORT}`, `Fix the entry, e.g. ${fixed}.`);
  }
  return address(host, port, tls, entry, context.line);
}

/** Splits `host`, `host:port`, `[v6]`, `[v6]:port` or a bare v6 address, checking the host. */
function splitHostPort(
  rest: string,
  entry: string,
  fail: (problem: string, fix: string) => ConfigError,
  example: (host: string) => string,
): { host: string; portText: string | undefined } {
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw fail('has a "[" without its "]"', `Write an IPv6 address as ${example('fe80::1')}.`);
    const host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) {
      throw fail(`has ${quote(after)} after "]"`, `Write an IPv6 address as ${example('fe80::1')}.`);
    }
    if (!isIPv6Address(host)) {
      throw fail(
        `has ${quote(host)} in brackets, which is not an IPv6 address`,
        `Brackets are only for IPv6 addresses, e.g. ${example('fe80::1')}; write other hosts without them.`,
      );
    }
    return { host, portText: after === '' ? undefined : after.slice(1) };
  }
  if (rest.indexOf(':') !== rest.lastIndexOf(':')) {
    // More than one colon: a bare IPv6 address, which never carries a port (write [v6]:port for that).
    if (!isIPv6Address(rest)) {
      throw fail(
        'has more than one ":" but is not an IPv6 address',
        `Write host:port, or an IPv6 address with a port in brackets, e.g. ${example('fe80::1')}.`,
      );
    }
    return { host: rest, portText: undefined };
  }
  const colon = rest.indexOf(':');
  const host = colon < 0 ? rest : rest.slice(0, colon);
  if (host === '') throw fail('has no host', `Write host[:port], e.g. ${example('10.0.0.1')}.`);
  const invalid = hostProblem(host);
  if (invalid !== undefined) {
    const subject = host === entry ? 'is' : `has host ${quote(host)}, which is`;
    const fixed = invalid.kind === 'ipv4' ? example('10.0.0.1') : example('ls1.example.com');
    throw fail(`${subject} ${invalid.problem}`, `Fix the entry, e.g. ${fixed}.`);
  }
  return { host, portText: colon < 0 ? undefined : rest.slice(colon + 1) };
}

function parsePort(text: string): number | undefined {
  if (!DIGITS.test(text)) return undefined;
  const port = Number(text);
  return isPort(port) ? port : undefined;
}

function isPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= MAX_PORT;
}

function address(
  host: string,
  port: number,
  tls: boolean,
  entry: string,
  line: number | undefined,
): ServerAddress {
  return Object.freeze({ host, port, tls, entry, ...(line === undefined ? {} : { line }) });
}
