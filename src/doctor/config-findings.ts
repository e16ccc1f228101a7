/**
 * Findings about the configuration file itself: which file, whether it loads, and its warnings.
 */

import type { ClientProperties, ConfigWarning, Recovery } from '../config/index.js';
import { CONFIG_PATH_ENV } from '../config/index.js';
import type { ConfigError } from '../errors.js';
import { finding, messageOf } from './finding.js';
import type { ConfigCandidate, DoctorFinding } from './types.js';

/** `config.file`: the file used, or why none could be read. */
export function fileFinding(candidates: readonly ConfigCandidate[], loadError: unknown): DoctorFinding {
  const used = candidates.find((c) => c.used) as ConfigCandidate;
  const data = { path: used.path, origin: used.origin, candidates };
  const title = 'Configuration file';
  if (loadError === undefined) {
    return finding('config.file', title, 'pass', `Using ${used.path} (${describeOrigin(used.origin)}).`, {
      data,
    });
  }
  if (!used.exists) {
    const other = candidates.find((c) => !c.used && c.exists);
    const hint =
      other === undefined
        ? ''
        : ` A file exists at ${other.path} (${describeOrigin(other.origin)}), but it is not read while ${used.path} is ${describeOrigin(used.origin)}.`;
    return finding(
      'config.file',
      title,
      'fail',
      `No file at ${used.path} (${describeOrigin(used.origin)}).${hint}`,
      {
        fix: `Give the file's path with --config PATH, or set ${CONFIG_PATH_ENV}=/path/to/client_property.conf for the apps and for this command.`,
        data,
      },
    );
  }
  const code = (loadError as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  const fix =
    code === 'ENOTREG' || code === 'EISDIR' || code === 'EFBIG'
      ? `Name the client_property.conf file itself (a regular file of at most 1 MiB) with --config PATH or ${CONFIG_PATH_ENV}.`
      : 'Make the file readable by the user the apps run as (and by nobody else: chmod 600), or name a readable copy.';
  return finding('config.file', title, 'fail', messageOf(loadError), { fix, data });
}

/** `config.parse` (does it load?) and one `config.error` per other problem that stops it loading. */
export function parseFindings(
  props: ClientProperties | undefined,
  recovery: Recovery | undefined,
): DoctorFinding[] {
  const title = 'Configuration';
  if (recovery === undefined) {
    if (props === undefined) return [finding('config.parse', title, 'skip', 'Skipped: no file to read.')];
    // What the file says: LV_* variables may apply over it (the settings list shows what won).
    const auth =
      props.authentication === undefined
        ? 'no credentials'
        : `credentials of account "${props.authentication.username}"`;
    return [
      finding(
        'config.parse',
        title,
        'pass',
        `Loads: ${props.licenseServers.length} license server(s), LICENSE_TYPE ${props.licenseType}, LICENSE_CACHE_PERIOD ${props.licenseCachePeriod} s, ${auth}.`,
        { data: { licenseType: props.licenseType, licenseCachePeriod: props.licenseCachePeriod } },
      ),
    ];
  }
  const count =
    recovery.errors.length +
    recovery.serverErrors.length +
    (recovery.stranded === undefined ? 0 : 1) +
    (recovery.pairError === undefined ? 0 : 1);
  const findings = [
    finding(
      'config.parse',
      title,
      'fail',
      `Does not load: ${count} problem(s), listed below. Apps that read it fail with ConfigError (-11, LV_INVALID_PROPERTY_VALUE) and take no license until it is fixed.${recovery.props === undefined ? '' : ' The checks below use the file as if those problems were fixed.'}`,
      { fix: 'Fix each problem below, then restart the apps that use the file.', data: { problems: count } },
    ),
  ];
  for (const error of recovery.errors) findings.push(errorFinding(error));
  return findings;
}

function errorFinding(error: ConfigError): DoctorFinding {
  const line = error.line === undefined ? '' : ` (line ${error.line})`;
  const fix =
    error.key === undefined
      ? `Write line ${error.line ?? '?'} as KEY = VALUE, make it a comment with #, or delete it.`
      : `Give ${error.key}${line} a valid value as the message says, or write default to use the built-in one.`;
  return finding('config.error', `Configuration error${line}`, 'fail', error.message, {
    fix,
    data: { line: error.line, key: error.key },
  });
}

const WARNING_FIX: Readonly<Record<string, (w: ConfigWarning) => string>> = {
  'duplicate-key': (w) => `Delete the ${w.key ?? 'key'} line you do not want (the last one wins).`,
  'misplaced-key': (w) =>
    `Move ${w.key ?? 'the key'} (line ${w.line ?? '?'}) under the header of its section.`,
  'empty-value': (w) => `Give ${w.key ?? 'the key'} (line ${w.line ?? '?'}) a value, or write default.`,
  'duplicate-server': (w) =>
    `Remove the repeated entry from ${w.key ?? 'LICENSE_SERVERS'}${w.line === undefined ? '' : ` (line ${w.line})`}; it is ignored.`,
  'legacy-key': (w) =>
    /is ignored because/.test(w.message)
      ? `Delete the LIC_SERVER_HOSTNAME line (line ${w.line ?? '?'}).`
      : `Rename LIC_SERVER_HOSTNAME to LICENSE_SERVERS (line ${w.line ?? '?'}).`,
};

const WARNING_ID: Readonly<Record<string, [string, string]>> = {
  'duplicate-server': ['servers.duplicate', 'Duplicate server'],
  'legacy-key': ['servers.legacy-key', 'Legacy key name'],
};

/** One finding per warning; `world-readable` is left to the permissions check. */
export function warningFindings(warnings: readonly ConfigWarning[]): DoctorFinding[] {
  return warnings
    .filter((w) => w.code !== 'world-readable')
    .map((w) => {
      const [id, title] = WARNING_ID[w.code] ?? ['config.warning', `Warning: ${w.code}`];
      return finding(id, title, 'warn', w.message, {
        fix: WARNING_FIX[w.code]?.(w) ?? 'Fix the line the message names.',
        data: { code: w.code, line: w.line, key: w.key },
      });
    });
}

/** How a candidate's origin reads in a sentence. */
function describeOrigin(origin: ConfigCandidate['origin']): string {
  switch (origin) {
    case 'argument':
      return 'given with --config';
    case 'env':
      return `named by ${CONFIG_PATH_ENV}`;
    default:
      return "the vendor's default path";
  }
}
