/**
 * Bad input that must give a clear error at once (issue 10): paths that are not regular files, a file
 * far too large, a password pasted where it does not belong, control characters, stray quotes.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadClientProperties, parseClientProperties } from '../../src/config/index.js';
import { runDoctor } from '../../src/index.js';
import { configError, rejectsConfigError, SECRET } from './support.js';

const isWindows = process.platform === 'win32';

let dir: string;
const cleanups: Array<() => void> = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lv-conf-hard-'));
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(isWindows)('only a regular file is read as the configuration', () => {
  it('a FIFO is refused at once, not waited on for ever', async () => {
    const fifo = join(dir, 'client_property.conf');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    const err = await rejectsConfigError(loadClientProperties(fifo));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(err.file).toBe(fifo);
    expect(err.message).toContain(`${fifo} is a FIFO (named pipe), not a regular file`);
    expect(err.message).toContain('Only a regular file is read');
  });

  it.each(['/dev/zero', '/dev/null'])(
    '%s (a character device) is refused without reading it',
    async (path) => {
      const started = Date.now();
      const err = await rejectsConfigError(loadClientProperties(path));
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(err.message).toContain(`${path} is a character device, not a regular file`);
    },
  );

  it('a huge file is refused from its size, without reading it', async () => {
    const big = join(dir, 'client_property.conf');
    await writeFile(big, '');
    await truncate(big, 600 * 1024 * 1024);
    const before = process.memoryUsage().rss;
    const err = await rejectsConfigError(loadClientProperties(big));
    expect(process.memoryUsage().rss - before).toBeLessThan(50 * 1024 * 1024);
    expect(err.message).toContain('holds 629145600 bytes, more than the 1048576 a configuration file may');
    expect(err.message).toContain('This is not a client_property.conf');
  });

  /** Runs `lv-license doctor --json` as a process whose stdin is a pipe nobody writes to. */
  async function doctorProcess(args: string[], env: NodeJS.ProcessEnv = {}) {
    const stdinFifo = join(dir, 'stdin.fifo');
    execFileSync('mkfifo', [stdinFifo]);
    // Held open read-write here, so that the shell's redirection does not wait for a writer.
    const holder = openSync(stdinFifo, 'r+');
    cleanups.push(() => closeSync(holder));
    const command = [process.execPath, '--import', 'tsx', 'src/cli/index.ts', 'doctor', '--json', ...args]
      .map((word) => `'${word.replaceAll("'", "'\\''")}'`)
      .join(' ');
    const child = spawn('sh', ['-c', `exec ${command} < '${stdinFifo}'`], {
      cwd: join(import.meta.dirname, '../..'),
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    const report = JSON.parse(out) as { findings: Array<{ id: string; status: string; detail: string }> };
    return { code, file: report.findings.find((f) => f.id === 'config.file') };
  }

  it('lv-license doctor --config FIFO ends at once with the finding, as a process', async () => {
    const fifo = join(dir, 'client_property.conf');
    execFileSync('mkfifo', [fifo]);
    const { code, file } = await doctorProcess(['--config', fifo]);
    expect(code).toBe(1);
    expect(file?.status).toBe('fail');
    expect(file?.detail).toContain('is a FIFO (named pipe), not a regular file');
  });

  it('LV_CLIENT_PROPERTY_CONF=/dev/stdin (a pipe) is refused at once, as a process', async () => {
    const { code, file } = await doctorProcess([], { LV_CLIENT_PROPERTY_CONF: '/dev/stdin' });
    expect(code).toBe(1);
    expect(file?.detail).toContain('/dev/stdin is a FIFO (named pipe), not a regular file');
  });
});

describe('the password never appears in a message, wherever it sits', () => {
  const auth = `[AUTHENTICATION]\nAUTHENTICATION_USERNAME = ivr\nAUTHENTICATION_PASSWORD = ${SECRET}\n`;

  it('pasted into LICENSE_SERVERS, where it is not a host name', () => {
    const pasted = 'Tr0ub4dor&3!horse';
    const text = `[GLOBAL]\nLICENSE_SERVERS = 10.0.0.1;${pasted}\n${auth.replace(SECRET, pasted)}`;
    const err = configError(() => parseClientProperties(text, { source: 'c.conf' }));
    expect(err.message).toMatch(/^c\.conf:2: LICENSE_SERVERS entry "\[redacted\]"/);
    expect(err.message).not.toContain(pasted);
  });

  it('pasted into LICENSE_SERVERS, where it would pass for a host name: refused, never dialed', () => {
    const err = configError(() =>
      parseClientProperties(`[GLOBAL]\nLICENSE_SERVERS = 10.0.0.1;${SECRET}\n${auth}`, { source: 'c.conf' }),
    );
    expect(err.line).toBe(2);
    expect(err.message).toContain('is the value of AUTHENTICATION_PASSWORD');
    expect(err.message).not.toContain(SECRET);
  });

  it('pasted into another value, or on a line of its own', () => {
    const inCache = configError(() =>
      parseClientProperties(`[GLOBAL]\nLICENSE_CACHE_PERIOD = ${SECRET}\n${auth}`),
    );
    expect(inCache.message).not.toContain(SECRET);
    const alone = configError(() => parseClientProperties(`[GLOBAL]\n${SECRET}\n${auth}`));
    expect(alone.message).not.toContain(SECRET);
    expect(alone.line).toBe(2);
  });

  it("in the doctor's report, which reads on past the error", async () => {
    const pasted = 'Tr0ub4dor&3!horse';
    const path = join(dir, 'client_property.conf');
    await writeFile(
      path,
      `[GLOBAL]\nLICENSE_SERVERS = 127.0.0.1:1;${pasted}\n${auth.replace(SECRET, pasted)}`,
      { mode: 0o600 },
    );
    const report = await runDoctor({ config: path, env: {}, timeout: 500 });
    expect(report.findings.some((f) => f.detail.includes('LICENSE_SERVERS entry "[redacted]"'))).toBe(true);
    expect(JSON.stringify(report)).not.toContain(pasted);
  });

  it('a short password is redacted where it stands alone, not inside other words', () => {
    const err = configError(() =>
      parseClientProperties(
        '[GLOBAL]\nLICENSE_SERVERS = 10.0.0.1;ab!\n[AUTHENTICATION]\nAUTHENTICATION_USERNAME = ivr\nAUTHENTICATION_PASSWORD = ab!\n',
      ),
    );
    expect(err.message).toContain('LICENSE_SERVERS entry "[redacted]"');
    expect(err.message).toContain('LICENSE_SERVERS');
  });
});

describe('credentials are checked at load time', () => {
  it.each([
    ['a tab in the password', `AUTHENTICATION_USERNAME = ivr\nAUTHENTICATION_PASSWORD = pass\tword`, 4],
    [
      'an escape in the username',
      `AUTHENTICATION_USERNAME = i\u001bvr\nAUTHENTICATION_PASSWORD = ${SECRET}`,
      3,
    ],
  ])('%s is refused with the line', (_name, lines, line) => {
    const err = configError(() =>
      parseClientProperties(`[GLOBAL]\nLICENSE_SERVERS = 10.0.0.1\n[AUTHENTICATION]\n${lines}\n`, {
        source: 'c.conf',
      }),
    );
    expect(err.line).toBe(line + 1);
    expect(err.message).toContain('control character');
    expect(err.message).not.toContain(SECRET);
    expect(err.message).not.toContain('pass\tword');
  });

  it('an unterminated quote is a warning, and the value is never shown', () => {
    const props = parseClientProperties(
      `[AUTHENTICATION]\nAUTHENTICATION_USERNAME = ivr\nAUTHENTICATION_PASSWORD = "${SECRET}\n`,
    );
    const warning = props.warnings.find((w) => w.code === 'unbalanced-quote');
    expect(warning).toMatchObject({ line: 3, key: 'AUTHENTICATION_PASSWORD' });
    expect(warning?.message).toContain('starts with a double quote but does not end with one');
    expect(warning?.message).not.toContain(SECRET);
    expect(props.authentication?.password).toBe(`"${SECRET}`);
  });

  it('the doctor reports the warning as a finding', async () => {
    const path = join(dir, 'client_property.conf');
    await writeFile(
      path,
      `[GLOBAL]\nLICENSE_SERVERS = 127.0.0.1:1\n[AUTHENTICATION]\nAUTHENTICATION_USERNAME = ivr\nAUTHENTICATION_PASSWORD = ${SECRET}"\n`,
      { mode: 0o600 },
    );
    const report = await runDoctor({ config: path, env: {}, timeout: 500 });
    const found = report.findings.filter((f) => f.detail.includes('double quote'));
    expect(found.length).toBe(1);
    expect(JSON.stringify(report)).not.toContain(SECRET);
  });
});
