import { defineConfig } from 'tsup';

// One build, two formats. `splitting: true` makes the CJS entries share one chunk, so
// `index.cjs`, `testing.cjs` and `server.cjs` load the same error classes instead of two copies.
// p-retry (and its dependency is-network-error) are ESM-only, so they are bundled in for CJS users.
// The CLI's CJS copy and types are built (one config keeps the chunks shared) but not shipped: package.json
// "files" leaves them out, since nothing references them.
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    testing: 'src/testing/index.ts',
    server: 'src/server/index.ts',
    cli: 'src/cli/index.ts',
  },
  format: ['esm', 'cjs'],
  target: 'node20',
  platform: 'node',
  dts: true,
  splitting: true,
  // Stack traces from production point into the TypeScript source.
  sourcemap: true,
  clean: true,
  treeshake: false,
  noExternal: ['p-retry', 'is-network-error'],
});
