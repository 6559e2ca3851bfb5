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
  },
});
