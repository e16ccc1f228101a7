import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, LicenseClient, type Logger } from '../../src/index.js';
import { FAST, recordEvents, startServer, track } from '../helpers/cluster.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function confFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lv-conf-'));
  dirs.push(dir);
  const file = join(dir, 'client_property.conf');
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

const conf = (servers: string, extra = '') =>
  `[GLOBAL]\nLICENSE_SERVERS = ${servers}\nLICENSE_CACHE_PERIOD = 0\n[SRE]\nLICENSE_TYPE = SpeechPort\n${extra}`;

describe('LicenseClient.fromConfigFile', () => {
  it('reads client_property.conf, with overrides on top', async () => {
    const server = await startServer({
      accounts: { alice: { password: 'pw-from-file', licenses: { FULL: 1 } } },
    });
    const file = await confFile(
      conf(
        server.address,
        '[AUTHENTICATION]\nAUTHENTICATION_USERNAME = alice\nAUTHENTICATION_PASSWORD = pw-from-file\n',
      ),
    );
    const client = track(await LicenseClient.fromConfigFile(file, { ...FAST }));
    const port = await client.openPort();
    expect(port.feature).toBe('FULL');
    expect(inspect(client, { depth: 10 })).not.toContain('pw-from-file');
  });

  it('uses LV_CLIENT_PROPERTY_CONF when no path is given', async () => {
    const server = await startServer();
    const file = await confFile(conf(server.address));
    const previous = process.env.LV_CLIENT_PROPERTY_CONF;
    process.env.LV_CLIENT_PROPERTY_CONF = file;
    try {
      const client = track(await LicenseClient.fromConfigFile(undefined, FAST));
      expect(client.status().servers.map((s) => s.server)).toEqual([server.address]);
    } finally {
      if (previous === undefined) delete process.env.LV_CLIENT_PROPERTY_CONF;
      else process.env.LV_CLIENT_PROPERTY_CONF = previous;
    }
  });

  it('rejects a broken file with a ConfigError', async () => {
    const file = await confFile('[GLOBAL]\nLICENSE_SERVERS = a:0\n');
    await expect(LicenseClient.fromConfigFile(file)).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('hot reload (watch: true)', () => {
  it('applies new servers without dropping held seats', async () => {
    const a = await startServer();
    const b = await startServer();
    const file = await confFile(conf(a.address));
    const client = track(await LicenseClient.fromConfigFile(file, { ...FAST, watch: true }));
    const first = await client.openPort();
    expect(first.lease?.server).toBe(a.address);
    writeFileSync(file, conf(b.address));
    await expect
      .poll(
        () =>
          client
            .status()
            .servers.filter((s) => s.removed !== true)
            .map((s) => s.server),
        {
          timeout: 5_000,
        },
      )
      .toEqual([b.address]);
    // a, removed, is still listed: the first port's seat is there.
    expect(client.status().servers.find((s) => s.server === a.address)).toMatchObject({
      removed: true,
      seats: 1,
    });
    const second = await client.openPort();
    expect(second.lease?.server).toBe(b.address);
    expect([a.inUse(), b.inUse()]).toEqual([1, 1]);
    await client.loadVoiceChannel(first, 1);
    await first.close();
    expect(a.inUse()).toBe(0);
  });

  it('reports an invalid edit and keeps the configuration it had', async () => {
    const a = await startServer();
    const file = await confFile(conf(a.address));
    const client = track(await LicenseClient.fromConfigFile(file, { ...FAST, watch: true }));
    const { named } = recordEvents(client);
    await client.connect();
    await new Promise((resolve) => setTimeout(resolve, 100));
    writeFileSync(file, '[GLOBAL]\nLICENSE_SERVERS = a:99999\n');
    await expect.poll(() => named('error').length, { timeout: 5_000 }).toBe(1);
    expect(named('error')[0]).toBeInstanceOf(ConfigError);
    expect((await client.openPort()).lease?.server).toBe(a.address);
  });

  it('picks up changed credentials for new connections', async () => {
    const accounts = { bob: { password: 'new-pass', licenses: { FULL: 2 } } };
    const a = await startServer({ accounts: { alice: { password: 'old-pass', licenses: { FULL: 2 } } } });
    const b = await startServer({ accounts });
    const auth = (u: string, p: string) =>
      `[AUTHENTICATION]\nAUTHENTICATION_USERNAME = ${u}\nAUTHENTICATION_PASSWORD = ${p}\n`;
    const file = await confFile(conf(a.address, auth('alice', 'old-pass')));
    const client = track(await LicenseClient.fromConfigFile(file, { ...FAST, watch: true }));
    await client.openPort();
    writeFileSync(file, conf(b.address, auth('bob', 'new-pass')));
    await expect.poll(() => client.status().servers[0]?.server, { timeout: 5_000 }).toBe(b.address);
    expect((await client.openPort()).lease?.server).toBe(b.address);
    expect(a.inUse()).toBe(1);
  });
});

describe('logger', () => {
  it('logs connection, lease and failover lines, never a secret', async () => {
    const lines: string[] = [];
    const logger: Logger = {
      debug: (m, f) => lines.push(`debug ${m} ${JSON.stringify(f)}`),
      info: (m, f) => lines.push(`info ${m} ${JSON.stringify(f)}`),
      warn: (m, f) => lines.push(`warn ${m} ${JSON.stringify(f)}`),
      error: (m, f) => lines.push(`error ${m} ${JSON.stringify(f)}`),
    };
    const secret = 'hunter2-very-secret';
    const a = await startServer({ accounts: { alice: { password: 'x', licenses: { FULL: 1 } } } });
    const b = await startServer({ accounts: { alice: { password: secret, licenses: { FULL: 1 } } } });
    const client = track(
      new LicenseClient({
        ...FAST,
        servers: `${a.address};${b.address}`,
        username: 'alice',
        password: secret,
        logger,
      }),
    );
    const port = await client.openPort();
    await port.close();
    await client.close();
    const text = lines.join('\n');
    expect(text).toContain('lease granted');
    expect(text).toContain('failover');
    expect(text).toContain('connected');
    expect(text).not.toContain(secret);
  });

  it('gives pino its fields (object first), through a child with the component, and never a secret', async () => {
    const { pino } = await import('pino');
    const written: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => written.push(line) });
    const secret = 'pino-secret-pw-1';
    const a = await startServer({ accounts: { alice: { password: secret, licenses: { FULL: 1 } } } });
    const client = track(
      new LicenseClient({ ...FAST, servers: a.address, username: 'alice', password: secret, logger }),
    );
    const lease = await client.acquire('FULL');
    await lease.release();
    await client.close();
    const lines = written.map((line) => JSON.parse(line) as Record<string, unknown>);
    const granted = lines.find((line) => line.msg === 'lease granted');
    expect(granted).toMatchObject({ component: 'lv-license-client', server: a.address, lease: lease.id });
    const connected = lines.find((line) => line.msg === 'connected');
    expect(connected).toMatchObject({ component: 'lv-license-client', server: a.address });
    expect(written.join('')).not.toContain(secret);
  });

  it('prints its lines with NODE_DEBUG=lv-license when no logger is given', async () => {
    const a = await startServer();
    const script = `
      import { LicenseClient } from './src/index.ts';
      const client = new LicenseClient({ servers: '${a.address}', licenseCachePeriod: 0 });
      const lease = await client.acquire('FULL');
      await lease.release();
      await client.close();
    `;
    const { execFile } = await import('node:child_process');
    const stderr = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script],
        { cwd: join(import.meta.dirname, '../..'), env: { ...process.env, NODE_DEBUG: 'lv-license' } },
        (err, _out, errText) => (err === null ? resolve(errText) : reject(err)),
      );
    });
    expect(stderr).toMatch(/LV-LICENSE \d+: info lease granted \{.*"server":"127\.0\.0\.1:\d+"/);
  });

  it('survives a logger that throws', async () => {
    const a = await startServer();
    const boom = () => {
      throw new Error('logger down');
    };
    const client = track(
      new LicenseClient({
        ...FAST,
        servers: a.address,
        logger: { debug: boom, info: boom, warn: boom, error: boom },
      }),
    );
    await expect(client.openPort()).resolves.toBeTruthy();
  });
});
