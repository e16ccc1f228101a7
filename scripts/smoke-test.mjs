#!/usr/bin/env node
// Smoke test of the packed tarball, as a user gets it: `npm pack`, install the tarball into a
// temporary project, `import` it from ESM and `require` it from CJS, and check that an error made by
// one build is recognised by the other. Runs the same check on Node 20 (this process), 22 and 24.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'lv-license-smoke-'));
const nodeVersions = (process.env.SMOKE_NODE_VERSIONS ?? '22,24').split(',').filter(Boolean);

function run(cmd, args, cwd) {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

const CHECK = `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
// The client entry alone first: it must load nothing of the server (nor its dependencies).
const clientOnly = require('lv-license-client');
const loadedByClient = Object.keys(require.cache);
const esm = await import('lv-license-client');
const esmTesting = await import('lv-license-client/testing');
const cjs = require('lv-license-client');
const cjsTesting = require('lv-license-client/testing');
const loadedByTesting = Object.keys(require.cache);
const esmServer = await import('lv-license-client/server');
const cjsServer = require('lv-license-client/server');
const failures = [];
const check = (what, ok) => { if (!ok) failures.push(what); };

check('the client entry loads nothing of the server', clientOnly === cjs && !loadedByClient.some((p) => /[\\/]dist[\\/]server.cjs$|[\\/]node_modules[\\/](ini|prom-client|pino|pg)[\\/]/.test(p)));
check('the testing entry loads neither prom-client nor pino', !loadedByTesting.some((p) => /[\\/]node_modules[\\/](prom-client|pino|pg)[\\/]/.test(p)));
check('the server entry loads without pg installed (the PostgreSQL store loads it when used)', typeof cjsServer.PostgresStore === 'function');
check('server entry exports LicenseServer', typeof esmServer.LicenseServer === 'function' && typeof cjsServer.LicenseServer === 'function');
check('server entry shares the error classes', cjsServer.LicenseError === cjs.LicenseError && esmServer.LicenseError === esm.LicenseError);

check('ESM and CJS entries are distinct builds', esm.LicenseError !== cjs.LicenseError);
check('ReturnCode table', esm.ReturnCode.LV_INVALID_HPORT === -12 && cjs.ReturnCode.LV_EXCEPTION === -68);
check('testing entry shares the error classes (CJS)', cjsTesting.LicenseError === cjs.LicenseError);
check('testing entry shares the error classes (ESM)', esmTesting.LicenseError === esm.LicenseError);

const fromEsm = new esm.InvalidPortError('port 3 is closed');
const fromCjs = new cjs.LicensesExceededError('FULL pool exhausted', { server: '127.0.0.1:7569' });
check('ESM error instanceof CJS class', fromEsm instanceof cjs.InvalidPortError && fromEsm instanceof cjs.LicenseError);
check('CJS error instanceof ESM class', fromCjs instanceof esm.LicensesExceededError && fromCjs instanceof esm.LicenseError);
check('no false positives across classes', !(fromEsm instanceof cjs.LicensesExceededError));
check('isLicenseError across builds', cjs.isLicenseError(fromEsm) && esm.isLicenseError(fromCjs));
check('plain Error is not a LicenseError', !esm.isLicenseError(new Error('x')) && !(new Error('x') instanceof cjs.LicenseError));
check('toReturnCode across builds', cjs.toReturnCode(fromEsm) === -12 && esm.toReturnCode(fromCjs) === -26);
check('codeName', fromCjs.codeName === 'LV_OPEN_PORT_FAILED__LICENSES_EXCEEDED');

// Under node:test's mock timers, which replace the \`timers\` module's functions as well as the global ones,
// requests still leave and answers are still handled: 101 acquires (more answers than one turn handles),
// a batch of them at the fake server, then their releases. FOUND by attack16: the CJS build read
// \`timers.setImmediate\` at each call, got the mock, and its sends at the end of the turn never left.
const { mock } = await import('node:test');
const realSetTimeout = globalThis.setTimeout;
for (const [name, build, testing] of [['ESM', esm, esmTesting], ['CJS', cjs, cjsTesting]]) {
  const server = await testing.FakeLicenseServer.start({ port: 0, host: '127.0.0.1', licenses: { FULL: 101 } });
  const client = new build.LicenseClient({ servers: server.address, licenseCachePeriod: 0 });
  await client.connect();
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'setImmediate'] });
  let held = -1;
  let released = -1;
  try {
    const run = (async () => {
      const leases = [await client.acquire('FULL')];
      leases.push(...(await Promise.all(Array.from({ length: 100 }, () => client.acquire('FULL')))));
      held = server.inUse('FULL');
      await Promise.all(leases.map((lease) => lease.release()));
      released = server.inUse('FULL');
    })();
    // Not a timing: a hang detector on a real timer, taken before the mock.
    await Promise.race([run, new Promise((resolve) => realSetTimeout(resolve, 5_000).unref())]);
  } finally {
    mock.timers.reset();
  }
  check(name + ' build under node:test mock timers: 101 seats taken (' + held + '), then given back (' + released + ' left)', held === 101 && released === 0);
  await client.close();
  await server.close();
}

if (failures.length > 0) {
  console.error('smoke test failed on Node ' + process.version + ':\\n  ' + failures.join('\\n  '));
  process.exit(1);
}
console.log('smoke test passed on Node ' + process.version);
`;

/**
 * Every relative link of the README and of the shipped docs names a file of the installed package, so it
 * resolves on the npm package page (there is no public repository to point absolute links at yet).
 */
function checkLinks(pkg) {
  const pages = ['README.md', ...readdirSync(join(pkg, 'docs')).map((name) => `docs/${name}`)];
  const broken = [];
  for (const page of pages) {
    const text = readFileSync(join(pkg, page), 'utf8');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
      const file = join(pkg, dirname(page), target.split('#')[0]);
      if (!existsSync(file)) broken.push(`${page}: ${target}`);
    }
  }
  if (broken.length > 0)
    throw new Error(`links that do not resolve in the tarball:\n  ${broken.join('\n  ')}`);
  console.log(
    `every relative link of README.md and docs/*.md resolves in the tarball (${pages.length} pages)`,
  );
}

try {
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], root));
  const tarball = join(work, packed[0].filename);
  console.log(`packed ${packed[0].filename}: ${packed[0].size} bytes, ${packed[0].entryCount} files`);

  const app = join(work, 'app');
  run('mkdir', ['-p', app], work);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'smoke-app', private: true, type: 'module' }),
  );
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball], app);
  writeFileSync(join(app, 'check.mjs'), CHECK);

  process.stdout.write(run(process.execPath, ['check.mjs'], app));
  checkLinks(join(app, 'node_modules', 'lv-license-client'));
  const help = run(join(app, 'node_modules', '.bin', 'lv-license'), ['--help'], app);
  if (!help.includes('Usage: lv-license')) throw new Error(`the lv-license binary printed: ${help}`);
  console.log('the lv-license binary is installed and runs');
  for (const version of nodeVersions) {
    process.stdout.write(run('npx', ['-y', '-p', `node@${version}`, 'node', 'check.mjs'], app));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
