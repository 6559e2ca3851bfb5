import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { jinjaFieldsVitePlugin } from './scripts/jinja-fields.js';

export default defineConfig({
  // Tests render chat templates with @huggingface/jinja as the bundle carries it (scripts/jinja-fields.ts).
  plugins: [jinjaFieldsVitePlugin()],
  test: {
    server: { deps: { inline: ['@huggingface/jinja'] } },
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    pool: 'forks',
    // Vitest's default leaves a core free: on two cores, one file at a time (311 s against 197 s for
    // two at once). Many tests wait on files, child processes and worker threads.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
