/**
 * `lv-license report`: usage per account and license type from the event log of `lv-license serve --events`.
 */
import { isLicenseError } from '../index.js';
import { type ReportPeriod, reportFromFile, type UsageRow } from '../server/index.js';
import { type CliIo, parseFlags, UsageError } from './io.js';

export const REPORT_USAGE = `Usage: lv-license report --events FILE [options]

Reads the event log of "lv-license serve --events FILE" and prints, per account and license type (and
period): the peak of concurrent seats, seat-hours, grants, denials, and the denials not followed by a
grant to the same client within a minute (callers really turned away). Streamed: a month of a busy
server's events takes constant memory.

Options:
  --events FILE         the event log (NDJSON)
  --from TIME           count from this time (ISO 8601, such as 2026-11-01 or 2026-11-01T08:00Z)
  --to TIME             count until this time (exclusive)
  --by hour|day         one line per hour or day (default: one line for the whole time)
  --format table|csv|json
                        how to print it (default table)
  -h, --help            show this help

Exit status: 0 done, 1 the file cannot be read, 2 usage error.
`;

const COLUMNS = [
  'period',
  'account',
  'feature',
  'peak',
  'seatHours',
  'grants',
  'denials',
  'turnedAway',
] as const;
const HEADINGS = ['PERIOD', 'ACCOUNT', 'TYPE', 'PEAK', 'SEAT-HOURS', 'GRANTS', 'DENIALS', 'TURNED AWAY'];

/** Runs `lv-license report`; resolves with the exit status. */
export async function report(args: readonly string[], io: CliIo): Promise<number> {
  const v = parseFlags(args, {
    events: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    by: { type: 'string' },
    format: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help === true) {
    io.stdout(REPORT_USAGE);
    return 0;
  }
  if (v.events === undefined) throw new UsageError('Say which event log to read: --events FILE.');
  const by = v.by ?? 'all';
  if (by !== 'hour' && by !== 'day' && by !== 'all') {
    throw new UsageError(`--by takes hour or day, not "${by}".`);
  }
  const format = v.format ?? 'table';
  if (format !== 'table' && format !== 'csv' && format !== 'json') {
    throw new UsageError(`--format takes table, csv or json, not "${format}".`);
  }
  const from = time('from', v.from);
  const to = time('to', v.to);
  if (from !== undefined && to !== undefined && to <= from)
    throw new UsageError('--to must come after --from.');
  let rows: UsageRow[];
  let skipped: number;
  let outOfOrder: number;
  try {
    const result = await reportFromFile(v.events, { from, to, by: by as ReportPeriod });
    rows = result.rows();
    skipped = result.skipped;
    outOfOrder = result.outOfOrder;
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (isLicenseError(err) ? err.message : String(err));
    io.stderr(`lv-license report: ${v.events} cannot be read (${reason}).\n`);
    return 1;
  }
  if (skipped > 0)
    io.stderr(`lv-license report: ${skipped} line(s) of ${v.events} were not events and were skipped.\n`);
  if (outOfOrder > 0) {
    io.stderr(
      `lv-license report: ${outOfOrder} line(s) of ${v.events} are older than the line before them (rotated files concatenated out of order?): each was read as if at the time of the line before it.\n`,
    );
  }
  io.stdout(render(rows, format));
  return 0;
}

function time(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  // A time without an offset is UTC, as a bare date is and as the periods are (not the machine's zone).
  const value = Date.parse(/T\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(text) ? `${text}Z` : text);
  if (!Number.isFinite(value)) {
    throw new UsageError(
      `--${flag} takes an ISO 8601 time such as 2026-11-01 or 2026-11-01T08:00Z, not "${text}".`,
    );
  }
  return value;
}

function render(rows: readonly UsageRow[], format: 'table' | 'csv' | 'json'): string {
  if (format === 'json') return `${JSON.stringify(rows, null, 2)}\n`;
  const cells = rows.map((row) =>
    COLUMNS.map((column) => {
      const value = row[column];
      if (column === 'account' && value === '') return format === 'csv' ? '' : '-';
      return column === 'seatHours' ? (value as number).toFixed(2) : String(value);
    }),
  );
  if (format === 'csv') {
    // A cell a spreadsheet would read as a formula is prefixed with an apostrophe (OWASP, CSV injection).
    const quote = (raw: string) => {
      const cell = /^[=+\-@\t\r]/.test(raw) && !/^-?\d/.test(raw) ? `'${raw}` : raw;
      return /[",\r\n]/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell;
    };
    return `${[COLUMNS.join(','), ...cells.map((line) => line.map(quote).join(','))].join('\n')}\n`;
  }
  if (rows.length === 0) return 'No events in that time.\n';
  const table = [HEADINGS, ...cells];
  const widths = HEADINGS.map((_, i) => Math.max(...table.map((line) => (line[i] ?? '').length)));
  return `${table
    .map((line) =>
      line
        .map((cell, i) => (i >= 3 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}
