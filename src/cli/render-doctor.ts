/**
 * The human form of a doctor report: one line per check, `PASS` / `WARN` / `FAIL` / `SKIP` / `INFO`, and
 * an indented `fix:` line under every warning and failure.
 */
import {
  type DoctorFinding,
  type DoctorReport,
  describeSettingSource,
  type FindingStatus,
} from '../index.js';

const COLORS: Readonly<Record<FindingStatus, string>> = {
  pass: '\u001b[32m',
  warn: '\u001b[33m',
  fail: '\u001b[31m',
  skip: '\u001b[2m',
  info: '\u001b[36m',
};
const RESET = '\u001b[0m';

/** Wraps `text` in the colour of `status` when colour is on. */
export function paint(status: FindingStatus, text: string, color: boolean): string {
  return color ? `${COLORS[status]}${text}${RESET}` : text;
}

function line(f: DoctorFinding, color: boolean): string {
  const label = paint(f.status, f.status.toUpperCase().padEnd(4), color);
  const server = f.server === undefined || f.id === 'verdict' ? '' : `[${f.server}] `;
  const fix =
    f.fix === undefined || (f.status !== 'warn' && f.status !== 'fail') ? '' : `\n      fix: ${f.fix}`;
  return `${label}  ${server}${f.title}: ${f.detail}${fix}`;
}

function count(findings: readonly DoctorFinding[], status: FindingStatus): number {
  return findings.filter((f) => f.status === status).length;
}

/** Runs of steps skipped for the same reason on the same server become one line. */
function collapseSkips(findings: readonly DoctorFinding[]): DoctorFinding[] {
  const out: DoctorFinding[] = [];
  for (const f of findings) {
    const last = out.at(-1);
    if (
      last !== undefined &&
      f.status === 'skip' &&
      last.status === 'skip' &&
      f.server !== undefined &&
      last.server === f.server &&
      last.detail === f.detail
    ) {
      out[out.length - 1] = { ...last, title: `${last.title}, ${f.title}` };
    } else {
      out.push(f);
    }
  }
  return out;
}

/** Each value a client would use and where it came from, one per line, aligned. */
function renderSettings(report: DoctorReport): string {
  const rows = report.config.settings.map((s) => [
    s.key,
    s.value ?? '(not set)',
    describeSettingSource(s.source),
  ]);
  if (rows.length === 0) return '';
  const width = (i: number) => Math.max(...rows.map((r) => (r[i] ?? '').length));
  const [key, value] = [width(0), width(1)];
  const lines = rows.map(
    ([k = '', v = '', from = '']) => `  ${k.padEnd(key)}  ${v.padEnd(value)}  from ${from}`,
  );
  return `settings:\n${lines.join('\n')}\n`;
}

/** What stands for the path when no file was read: the environment, or nothing. */
function noFile(report: DoctorReport): string {
  const standsIn = report.findings.some((f) => f.id === 'config.file' && f.status === 'pass');
  return standsIn ? '(none: the environment stands in)' : '(none could be read)';
}

/** The whole report as text. */
export function renderDoctor(report: DoctorReport, color: boolean): string {
  const head = `lv-license doctor ${report.library} (Node ${report.node})\nconfiguration: ${report.config.path ?? noFile(report)}\n${renderSettings(report)}`;
  const body = collapseSkips(report.findings)
    .map((f) => line(f, color))
    .join('\n');
  const f = report.findings;
  const summary = `${count(f, 'pass')} passed, ${count(f, 'warn')} warning(s), ${count(f, 'fail')} failed, ${count(f, 'skip')} skipped.`;
  return `${head}\n${body}\n\n${summary}\n`;
}
