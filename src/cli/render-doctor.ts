/**
 * The human form of a doctor report: one line per check, `PASS` / `WARN` / `FAIL` / `SKIP` / `INFO`, and
 * an indented `fix:` line under every warning and failure.
 */
import type { DoctorFinding, DoctorReport, FindingStatus } from '../index.js';

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

/** The whole report as text. */
export function renderDoctor(report: DoctorReport, color: boolean): string {
  const head = `lv-license doctor ${report.library} (Node ${report.node})\nconfiguration: ${report.config.path ?? '(none could be read)'}\n`;
  const body = collapseSkips(report.findings)
    .map((f) => line(f, color))
    .join('\n');
  const f = report.findings;
  const summary = `${count(f, 'pass')} passed, ${count(f, 'warn')} warning(s), ${count(f, 'fail')} failed, ${count(f, 'skip')} skipped.`;
  return `${head}\n${body}\n\n${summary}\n`;
}
