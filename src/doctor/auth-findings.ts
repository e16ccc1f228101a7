/**
 * Findings about `[AUTHENTICATION]`: the header above the keys, both keys or neither, and who can read
 * the file that holds the password. No finding ever holds the password.
 */
import type { Credentials, Recovery } from '../config/index.js';
import { finding } from './finding.js';
import type { DoctorFinding } from './types.js';

const GROUP_OR_OTHER_READ = 0o044;

/** Where the `[AUTHENTICATION]` header and the two keys are written. */
interface AuthLines {
  header?: number;
  username?: number;
  password?: number;
}

function authLines(text: string): AuthLines {
  const lines: AuthLines = {};
  text.split(/\r\n|\r|\n/).forEach((line, index) => {
    if (lines.header === undefined && /^\s*\[\s*AUTHENTICATION\s*\]/i.test(line)) lines.header = index + 1;
    if (/^\s*AUTHENTICATION_USERNAME\s*=/i.test(line)) lines.username = index + 1;
    if (/^\s*AUTHENTICATION_PASSWORD\s*=/i.test(line)) lines.password = index + 1;
  });
  return lines;
}

/** What the auth checks look at. */
export interface AuthInput {
  readonly text: string;
  readonly path: string;
  readonly mode: number | undefined;
  readonly recovery: Recovery | undefined;
  /** The credentials as loaded, or as meant when they were stranded. */
  readonly credentials: Credentials | undefined;
  readonly platform: NodeJS.Platform;
}

/** `auth.section`, `auth.pair` and `auth.permissions`. */
export function authFindings(input: AuthInput): DoctorFinding[] {
  const lines = authLines(input.text);
  return [sectionFinding(input, lines), pairFinding(input), permissionsFinding(input, lines)];
}

function sectionFinding(input: AuthInput, lines: AuthLines): DoctorFinding {
  const stranded = input.recovery?.stranded;
  if (stranded !== undefined) {
    const missing = stranded.headerLine === undefined;
    return finding(
      'auth.section',
      '[AUTHENTICATION] header',
      'fail',
      `${missing ? 'The [AUTHENTICATION] header is missing' : `The credentials are outside [AUTHENTICATION] (its header is on line ${stranded.headerLine})`}. ${stranded.error.message.replace(/\s*Put an \[AUTHENTICATION\] header.*$/s, '')}`,
      {
        fix: missing
          ? `Put an [AUTHENTICATION] header on the line above them (above line ${stranded.line}).`
          : `Put an [AUTHENTICATION] header on the line above them (above line ${stranded.line}), or move them under the header on line ${stranded.headerLine}.`,
        data: {
          line: stranded.line,
          section: stranded.section ?? null,
          headerLine: stranded.headerLine ?? null,
        },
      },
    );
  }
  if (input.credentials === undefined && input.recovery?.pairError === undefined) {
    return finding(
      'auth.section',
      '[AUTHENTICATION] header',
      'pass',
      'No credentials in the file: this client connects without authentication.',
      { data: { headerLine: lines.header ?? null } },
    );
  }
  const keyLines = [lines.username, lines.password].filter((l) => l !== undefined);
  return finding(
    'auth.section',
    '[AUTHENTICATION] header',
    'pass',
    `The credentials (line${keyLines.length === 1 ? '' : 's'} ${keyLines.join(' and ')}) are under the [AUTHENTICATION] header (line ${lines.header ?? '?'}).`,
    { data: { headerLine: lines.header ?? null } },
  );
}

function pairFinding(input: AuthInput): DoctorFinding {
  const title = 'Username and password';
  const error = input.recovery?.pairError;
  if (error !== undefined) {
    return finding('auth.pair', title, 'fail', error.message, {
      fix: 'Set both AUTHENTICATION_USERNAME and AUTHENTICATION_PASSWORD under [AUTHENTICATION] to authenticate, or remove both to connect without authentication.',
      data: { line: error.line, key: error.key },
    });
  }
  if (input.credentials === undefined) {
    return finding('auth.pair', title, 'pass', 'Neither is set: unauthenticated mode.');
  }
  return finding(
    'auth.pair',
    title,
    'pass',
    `Both are set: account "${input.credentials.username}" and a password (not shown).`,
    { data: { username: input.credentials.username } },
  );
}

function permissionsFinding(input: AuthInput, lines: AuthLines): DoctorFinding {
  const title = 'File permissions';
  if (input.credentials === undefined && lines.password === undefined) {
    return finding('auth.permissions', title, 'skip', 'The file holds no password.');
  }
  if (input.platform === 'win32' || input.mode === undefined) {
    return finding('auth.permissions', title, 'skip', 'File modes are not checked on this platform.');
  }
  const octal = (input.mode & 0o777).toString(8).padStart(4, '0');
  if ((input.mode & GROUP_OR_OTHER_READ) !== 0) {
    return finding(
      'auth.permissions',
      title,
      'warn',
      `The file holds a password and its mode is ${octal}: other users of this machine can read it.`,
      {
        fix: `chmod 600 ${input.path} (and make the user the apps run as its owner).`,
        data: { mode: octal },
      },
    );
  }
  return finding('auth.permissions', title, 'pass', `Mode ${octal}: only its owner can read the password.`, {
    data: { mode: octal },
  });
}
