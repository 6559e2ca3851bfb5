import { defineConfig } from 'tsup';

// The only build config: the library as ESM + CJS with type declarations, and the CLI as one
// executable ESM file (tsup marks a chunk that starts with `#!` as executable).
export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    platform: 'node',
    target: 'node20',
    clean: true,
    sourcemap: true,
  },
  {
    entry: { cli: 'src/cli/index.ts' },
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    sourcemap: true,
  },
]);
