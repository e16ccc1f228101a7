/**
 * `npm run bench:report`: `lv-license report` over a generated event log of a busy server (10 million
 * lines by default, about 30 days of 40 pools; `-- --lines N` for another size), against the bare floor of
 * reading the same file and parsing each line as JSON, measured in the same run. Prints the time of each,
 * their ratio, lines per second, and the heap and RSS high-water marks, sampled while the report runs, at
 * a tenth of the lines and at all of them: the same figure at both sizes is what constant memory means.
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLineBatches, reportFromFile } from '../src/server/index.js';

const arg = process.argv.indexOf('--lines');
const LINES = arg > 0 ? Number(process.argv[arg + 1]) : 10_000_000;
const ACCOUNTS = 20;
const FEATURES = ['FULL', 'TTS'];
const SPAN_MS = 30 * 24 * 3_600_000;
const T0 = Date.parse('2026-10-01T00:00:00Z');

/** A deterministic event log: grants and releases of live leases, some denials, expiries and revocations. */
async function generate(path: string, lines: number): Promise<void> {
  const out = createWriteStream(path);
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const live: Array<{ account: string; feature: string; lease: string; client: string }> = [];
  let chunk = '';
  for (let i = 0; i < lines; i += 1) {
    const time = new Date(T0 + Math.floor((i / lines) * SPAN_MS)).toISOString();
    const roll = random();
    let line: object;
    if (live.length > 0 && (roll < 0.44 || live.length > 4_000)) {
      const index = Math.floor(random() * live.length);
      const lease = live[index] as (typeof live)[number];
      live[index] = live[live.length - 1] as (typeof live)[number];
      live.pop();
      const type = roll < 0.42 ? 'release' : roll < 0.43 ? 'expiry' : 'revocation';
      line = {
        time,
        type,
        ...lease,
        count: 1,
        connection: 7,
        ...(type === 'revocation' ? { reason: 'operator' } : {}),
      };
    } else {
      const account = `customer-${Math.floor(random() * ACCOUNTS)}`;
      const feature = FEATURES[Math.floor(random() * FEATURES.length)] as string;
      const client = `10.0.${Math.floor(random() * 4)}.${Math.floor(random() * 250)}`;
      const lease = `${client}-${i.toString(36)}`;
      if (roll > 0.92) {
        line = {
          time,
          type: 'denial',
          account,
          feature,
          count: 1,
          lease,
          client,
          connection: 7,
          reason: 'exhausted',
          code: -26,
        };
      } else {
        live.push({ account, feature, lease, client });
        line = {
          time,
          type: 'grant',
          account,
          feature,
          count: 1,
          lease,
          client,
          connection: 7,
          kind: 'new',
          waited: false,
        };
      }
    }
    chunk += `${JSON.stringify(line)}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

interface Run {
  readonly seconds: number;
  readonly heapMiB: number;
  readonly rssMiB: number;
}

/** Runs `work`, sampling the heap and RSS every 50 ms; returns the time and the high-water marks. */
async function measure(work: () => Promise<unknown>): Promise<Run> {
  globalThis.gc?.();
  let heap = 0;
  let rss = 0;
  const sample = () => {
    const usage = process.memoryUsage();
    heap = Math.max(heap, usage.heapUsed);
    rss = Math.max(rss, usage.rss);
  };
  const timer = setInterval(sample, 50);
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  clearInterval(timer);
  sample();
  return { seconds, heapMiB: heap / 2 ** 20, rssMiB: rss / 2 ** 20 };
}

async function floor(path: string): Promise<number> {
  let parsed = 0;
  for await (const batch of readLineBatches(path)) {
    for (const line of batch) if (line.length > 0 && JSON.parse(line) !== null) parsed += 1;
  }
  return parsed;
}

const dir = await mkdtemp(join(tmpdir(), 'lv-report-bench-'));
try {
  const rows: string[] = [];
  for (const lines of [Math.round(LINES / 10), LINES]) {
    const path = join(dir, `events-${lines}.ndjson`);
    process.stderr.write(`  generating ${lines.toLocaleString('en')} lines...\n`);
    await generate(path, lines);
    const bytes = (await stat(path)).size;
    const bare = await measure(() => floor(path));
    let rowCount = 0;
    const report = await measure(async () => {
      rowCount = (await reportFromFile(path, { by: 'day' })).rows().length;
    });
    rows.push(
      [
        lines.toLocaleString('en'),
        `${(bytes / 2 ** 30).toFixed(2)} GiB`,
        `${bare.seconds.toFixed(1)} s`,
        `${report.seconds.toFixed(1)} s`,
        `${(report.seconds / bare.seconds).toFixed(2)}x`,
        `${Math.round(lines / report.seconds / 1000).toLocaleString('en')}k/s`,
        `${report.heapMiB.toFixed(0)} MiB`,
        `${report.rssMiB.toFixed(0)} MiB`,
        String(rowCount),
      ].join(' | '),
    );
    await rm(path);
  }
  console.log(
    '| lines | file | read + JSON.parse (floor) | report --by day | ratio | rate | heap high-water | RSS high-water | rows |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) console.log(`| ${row} |`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
