/**
 * The Grafana dashboard and the alert rules in examples/ name only series the server exports, so neither
 * rots when a metric is renamed.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LicenseServer, ServerMetrics } from '../../src/server/index.js';

const ROOT = join(import.meta.dirname, '../..');
let server: LicenseServer;
let exported: Set<string>;

beforeAll(async () => {
  server = await LicenseServer.start({ port: 0, licenses: { FULL: 1 } });
  const metrics = new ServerMetrics(server);
  exported = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
  metrics.close();
});
afterAll(() => server.close());

/** Every series an expression names, without a histogram's `_bucket`/`_count`/`_sum`. */
function seriesIn(text: string): string[] {
  const names = text.match(/\b(?:lv_license|nodejs)_[a-z0-9_]+/g) ?? [];
  return [...new Set(names.map((n) => n.replace(/_(bucket|count|sum)$/, '')))];
}

describe('examples/ for Prometheus and Grafana', () => {
  it('the dashboard is valid JSON and every query names an exported series', async () => {
    const dashboard = JSON.parse(await readFile(join(ROOT, 'examples/grafana-dashboard.json'), 'utf8'));
    const exprs: string[] = dashboard.panels.flatMap((p: { targets: { expr: string }[] }) =>
      p.targets.map((t) => t.expr),
    );
    expect(exprs.length).toBeGreaterThan(5);
    const names = seriesIn(exprs.join('\n'));
    expect(names.filter((n) => !exported.has(n))).toEqual([]);
    expect(names).toContain('lv_license_seats_in_use');
  });

  it('every alert rule names an exported series', async () => {
    const rules = await readFile(join(ROOT, 'examples/prometheus-alerts.yml'), 'utf8');
    const exprs = [...rules.matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1] as string);
    expect(exprs.length).toBeGreaterThanOrEqual(5);
    expect(seriesIn(exprs.join('\n')).filter((n) => !exported.has(n))).toEqual([]);
  });
});
