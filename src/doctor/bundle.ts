/**
 * The support bundle: what a support team asks for first (the conf, the findings, the versions), with
 * every secret taken out. The password never reaches it; `KEY_FILE` is named, never read into it.
 */
import { arch, release } from 'node:os';
import { passwordsIn, readConfFile, recoverParse, redactSecrets } from '../config/index.js';
import type { DoctorReport } from './types.js';

const REDACTED = '[redacted]';
const SECRET_KEY = /PASSW|PWD|SECRET|TOKEN|CREDENTIAL/i;
const HEADER = /^\s*\[\s*([^\]]*?)\s*\]/;
const KEY_VALUE = /^(\s*[A-Za-z0-9_.-]+\s*=)(.*)$/;

/** What `lv-license doctor --bundle FILE` writes, as JSON. */
export interface SupportBundle {
  /** The version of this document's shape. */
  readonly bundle: 1;
  /** When it was made, ISO 8601. */
  readonly createdAt: string;
  /** The version of lv-license-client. */
  readonly library: string;
  /** `process.version`. */
  readonly node: string;
  /** The machine the doctor ran on. */
  readonly platform: {
    /** `process.platform`. */
    readonly os: NodeJS.Platform;
    /** `os.arch()`. */
    readonly arch: string;
    /** `os.release()`: the kernel or Windows version. */
    readonly release: string;
  };
  /** The configuration file checked. */
  readonly config: {
    /** Its path, or `null` when none could be read. */
    readonly path: string | null;
    /** The file's text with every secret replaced by `[redacted]`; `null` when it could not be read. */
    readonly text: string | null;
  };
  /** The doctor's report, as `--json` prints it. */
  readonly report: DoctorReport;
}

/**
 * Redacts a `client_property.conf`: the value of `AUTHENTICATION_PASSWORD` (in any section), of every
 * other key under `[AUTHENTICATION]` but the username, and of any key whose name suggests a secret; a
 * comment or a malformed line that may hold one is replaced whole. Line numbers stay as they were.
 *
 * @param secrets - Literal strings (the passwords found) to replace wherever else they appear.
 */
export function redactConf(text: string, secrets: readonly string[] = []): string {
  let section = '';
  const lines = text.split(/(\r\n|\r|\n)/);
  for (let i = 0; i < lines.length; i += 2) {
    const line = lines[i] ?? '';
    const trimmed = line.trim();
    const header = HEADER.exec(trimmed);
    if (header !== null) {
      section = (header[1] ?? '').toUpperCase();
      continue;
    }
    if (trimmed === '') continue;
    const inAuth = section === 'AUTHENTICATION';
    if (trimmed.startsWith('#') || trimmed.startsWith(';')) {
      if (SECRET_KEY.test(trimmed)) lines[i] = `# ${REDACTED} (a comment that mentioned a secret)`;
      continue;
    }
    const pair = KEY_VALUE.exec(line);
    if (pair === null) {
      if (inAuth || SECRET_KEY.test(trimmed)) lines[i] = `# ${REDACTED} (a malformed line)`;
      continue;
    }
    const key = (pair[1] ?? '').replace('=', '').trim().toUpperCase();
    const secret = SECRET_KEY.test(key) || (inAuth && key !== 'AUTHENTICATION_USERNAME');
    if (secret && (pair[2] ?? '').trim() !== '') lines[i] = `${pair[1]} ${REDACTED}`;
  }
  // Every password of the file, wherever else it was pasted (a server list, a path), goes too.
  return redactSecrets(lines.join(''), [...secrets, ...passwordsIn(text)]);
}

/**
 * Builds the support bundle for a report: re-reads the configuration file it names and redacts it.
 *
 * @example
 * ```ts
 * const report = await runDoctor();
 * await writeFile('lv-license-bundle.json', JSON.stringify(await createSupportBundle(report), null, 2), { mode: 0o600 });
 * ```
 */
export async function createSupportBundle(report: DoctorReport): Promise<SupportBundle> {
  const path = report.config.path;
  const file = path === null ? undefined : await readConfFile(path).catch(() => undefined);
  let text: string | null = null;
  if (file !== undefined && path !== null) {
    const password = recoverParse(file.text, path).credentials?.password;
    text = redactConf(file.text, password === undefined ? [] : [password]);
  }
  return Object.freeze({
    bundle: 1,
    createdAt: new Date().toISOString(),
    library: report.library,
    node: report.node,
    platform: Object.freeze({ os: process.platform, arch: arch(), release: release() }),
    config: Object.freeze({ path, text }),
    report,
  });
}
