/**
 * `lv-license status`: each license server, reachable or not, and this account's seats per license type.
 */
import { getServerStatus, isLicenseError, type ServerStatus, type StatusReport } from '../index.js';
import { parseTimeout } from './doctor.js';
import { type CliIo, parseFlags, useColor } from './io.js';
import { paint } from './render-doctor.js';

export const STATUS_USAGE = `Usage: lv-license status [options]

Asks every license server in client_property.conf (or LV_LICENSE_SERVERS) for this account's licenses:
total, in use, queued and free per license type. Exit status: 0 when at least one server answered,
1 otherwise, 2 usage error.

Options:
  --config PATH     the client_property.conf to use (default: $LV_CLIENT_PROPERTY_CONF, then
                    /etc/lumenvox/client_property.conf)
  --json            print the result as one JSON document (see docs/doctor.md)
  --timeout MS      deadline of each network step (default 3000)
  -h, --help        show this help
`;

function parseStatusArgs(args: readonly string[]) {
  return parseFlags(args, {
    config: { type: 'string' },
    json: { type: 'boolean' },
    timeout: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
}

function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

function renderServer(server: ServerStatus, color: boolean): string {
  if (!server.answered) {
    const state = server.reachable ? 'NO ANSWER' : 'DOWN';
    return `${paint('fail', state, color)}  ${server.server}: ${server.error ?? 'no license counts'}\n`;
  }
  const who = server.account === undefined ? 'unauthenticated' : `account "${server.account}"`;
  const ping = server.rttMs === undefined ? '' : `, ping ${formatMs(server.rttMs)}`;
  const rows = Object.entries(server.features ?? {}).map(
    ([feature, c]) =>
      `    ${feature.padEnd(8)}${String(c.total).padStart(6)}${String(c.inUse).padStart(8)}${String(c.queued).padStart(8)}${String(c.free).padStart(6)}`,
  );
  const table =
    rows.length === 0
      ? '    (no licenses on this account)\n'
      : `    ${'TYPE'.padEnd(8)}${'TOTAL'.padStart(6)}${'IN USE'.padStart(8)}${'QUEUED'.padStart(8)}${'FREE'.padStart(6)}\n${rows.join('\n')}\n`;
  return `${paint('pass', 'UP', color)}  ${server.server}: ${server.software ?? 'license server'}, ${who}${ping}\n${table}`;
}

/** The whole status as text. */
export function renderStatus(report: StatusReport, color: boolean): string {
  const head = `lv-license status: ${report.config.path ?? 'no file, LV_LICENSE_SERVERS'} (LICENSE_TYPE ${report.licenseType})\n\n`;
  return head + report.servers.map((s) => renderServer(s, color)).join('');
}

/** Prints each server's state; resolves with the exit status. */
export async function status(args: readonly string[], io: CliIo): Promise<number> {
  const values = parseStatusArgs(args);
  if (values.help === true) {
    io.stdout(STATUS_USAGE);
    return 0;
  }
  const timeout = parseTimeout(values.timeout);
  let report: StatusReport;
  try {
    report = await getServerStatus({ config: values.config, env: io.env, timeout, signal: io.signal });
  } catch (err) {
    if (!isLicenseError(err)) throw err;
    io.stderr(`lv-license status: ${err.message}\nRun "lv-license doctor" for a full diagnosis.\n`);
    // A script reading --json gets a document either way.
    if (values.json === true) {
      io.stdout(
        `${JSON.stringify({ error: { code: err.code, codeName: err.codeName, message: err.message } }, null, 2)}\n`,
      );
    }
    return 1;
  }
  io.stdout(
    values.json === true
      ? `${JSON.stringify(report, (key, value) => (key === 'rttMs' && typeof value === 'number' ? Math.round(value * 100) / 100 : value), 2)}\n`
      : renderStatus(report, useColor(io)),
  );
  return report.servers.some((s) => s.answered) ? 0 : 1;
}
