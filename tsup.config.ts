import { defineConfig } from 'tsup';
import { jinjaFieldsPlugin } from './scripts/jinja-fields.js';

// Every bundle carries @huggingface/jinja rewritten so that rendering a chat template does not
// define class fields on every value (3-4x faster renders: scripts/jinja-fields.ts).
const jinja = { noExternal: ['@huggingface/jinja'], esbuildPlugins: [jinjaFieldsPlugin()] };

// The only build config: the library as ESM + CJS with type declarations, and the CLI as one
// executable ESM file (tsup marks a chunk that starts with `#!` as executable).
export default defineConfig([
  {
    ...jinja,
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    shims: true, // import.meta.url in the CJS build, which locates the tokenizer worker
    platform: 'node',
    target: 'node20',
    clean: true,
    sourcemap: true,
  },
  {
    ...jinja,
    // The tokenizer worker thread, found beside the library bundle at run time.
    entry: { 'tokenize-worker': 'src/tokenizers/tokenize-worker.ts' },
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    sourcemap: true,
  },
  {
    ...jinja,
    entry: { cli: 'src/cli/index.ts' },
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    sourcemap: true,
  },
]);
