/**
 * Findings about `LICENSE_SERVERS`: the entries in priority order, and each entry that is not valid.
 */

import type { Recovery, ServerAddress } from '../config/index.js';
import { DEFAULT_LICENSE_SERVERS } from '../config/index.js';
import { finding } from './finding.js';
import type { DoctorFinding } from './types.js';

const TITLE = 'LICENSE_SERVERS';

/** `servers.list` and one `servers.entry` per bad entry. */
export function serverListFindings(
  servers: readonly ServerAddress[] | undefined,
  recovery: Recovery | undefined,
): DoctorFinding[] {
  if (servers === undefined && recovery === undefined) {
    return [finding('servers.list', TITLE, 'skip', 'Skipped: no configuration could be read.')];
  }
  const bad = recovery?.serverErrors ?? [];
  const findings: DoctorFinding[] = [];
  const list = (servers ?? []).map((s) => s.entry).join(', ');
  if (bad.length === 0) {
    const fromDefault =
      servers !== undefined && servers.length > 0 && servers.every((s) => s.line === undefined);
    findings.push(
      finding(
        'servers.list',
        TITLE,
        'pass',
        fromDefault
          ? `Not set: the default ${DEFAULT_LICENSE_SERVERS} is used.`
          : `${servers?.length ?? 0} server(s), in priority order: ${list}${servers?.[0]?.line === undefined ? '' : ` (line ${servers[0].line})`}.`,
        { data: { servers: (servers ?? []).map((s) => s.entry) } },
      ),
    );
    return findings;
  }
  const usable = recovery?.serversUnusable === true ? [] : (servers ?? []);
  findings.push(
    finding(
      'servers.list',
      TITLE,
      'fail',
      usable.length === 0
        ? 'No valid entry: no license server can be contacted.'
        : `${bad.length} entr${bad.length === 1 ? 'y is' : 'ies are'} not valid (below); the valid ones, in priority order: ${list}.`,
      {
        fix: 'Write LICENSE_SERVERS as host[:port] entries separated by ";", e.g. LICENSE_SERVERS = 10.0.0.1:7569;10.0.0.2',
        data: { servers: usable.map((s) => s.entry), invalid: bad.length },
      },
    ),
  );
  for (const error of bad) {
    findings.push(
      finding('servers.entry', 'LICENSE_SERVERS entry', 'fail', error.message, {
        fix: `Correct the entry on line ${error.line ?? '?'} as the message says, or remove it.`,
        data: { line: error.line },
      }),
    );
  }
  return findings;
}
