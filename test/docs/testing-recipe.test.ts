/**
 * docs/testing.md shows the fake-timers recipe as code; examples/fake-timers.test.ts runs it in `npm test`.
 * The two must be the same code (the imports aside), so the documented recipe is the one that passes.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const doc = readFileSync(new URL('../../docs/testing.md', import.meta.url), 'utf8');
const example = readFileSync(new URL('../../examples/fake-timers.test.ts', import.meta.url), 'utf8');

/** The example as an app would write it: from its first import, importing the published package. */
function asAnAppWritesIt(source: string): string {
  return source
    .slice(source.search(/^import /m))
    .replace(/^\/\/ In your app: .*\n/m, '')
    .replaceAll("'../src/index.js'", "'lv-license-client'")
    .replaceAll("'../src/testing/index.js'", "'lv-license-client/testing'");
}

describe('docs/testing.md: fake timers with real sockets', () => {
  const section = doc.slice(doc.indexOf('## Fake timers with real sockets'));
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];

  it('shows examples/fake-timers.test.ts, the test npm test runs, line for line', () => {
    expect(block).toBeDefined();
    expect(block).toBe(asAnAppWritesIt(example));
  });

  it('fakes what the text says, and nothing it says to leave real', () => {
    for (const faked of ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date']) {
      expect(block).toContain(`'${faked}'`);
    }
    for (const real of ['setImmediate', 'nextTick', 'queueMicrotask', 'performance']) {
      expect(block).not.toMatch(new RegExp(`'${real}'`));
    }
  });
});
