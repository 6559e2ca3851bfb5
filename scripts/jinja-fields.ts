/**
 * Build-time rewrite of @huggingface/jinja's runtime values, for the bundle (tsup), the tests
 * (vitest) and the bench.
 *
 * The interpreter makes a new `RuntimeValue` for every value it touches: a few hundred a render
 * of a chat template. Each declares `type` (and `value`, `_builtins`) as class fields, and each
 * subclass declares `type` again; on Node 20's V8 defining those fields per instance is most of a
 * render (Qwen 3's template: 71 µs a render, 23 µs without; Llama 3's: 22 and 5.4). Here `type`
 * moves to the class prototype (a static block sets it once per class) and the other two
 * declarations go: the constructor assigns `value`, `builtins` fills `_builtins` on first use.
 * Nothing in the library enumerates a runtime value's own properties, so renders are unchanged
 * (test/jinja-fields.test.ts compares them with the unchanged package on random chats).
 *
 * One more rewrite, of the same kind: looking up a variable no scope declares (`tools`,
 * `enable_thinking` and the like, in every render where the caller passes none) threw an Error
 * and caught it, with a stack trace each time; the lookup now walks the scopes and answers
 * `UndefinedValue` itself, as the catch did. Qwen 3's template: 23 -> 13 µs a render.
 *
 * A release whose runtime values are shaped differently fails the build here, by name, rather
 * than shipping half a rewrite.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The package's entry files this applies to (ESM and CJS). */
export const JINJA_DIST = /[\\/]@huggingface[\\/]jinja[\\/]dist[\\/]index\.c?js$/;

/** Runtime value classes that declare `type` in the release the lock file pins (0.5.11). */
const TYPED_CLASSES = 13;

/**
 * The rewritten source of one of the package's entry files.
 *
 * @example
 * rewriteJinjaRuntime(readFileSync(file, 'utf8'), file)
 */
export function rewriteJinjaRuntime(source: string, file: string): string {
  const start = source.indexOf('var RuntimeValue = class {');
  const end = source.indexOf('var _Environment = class {', start);
  if (start === -1 || end === -1) throw new Error(`${file}: @huggingface/jinja's runtime values are not where this rewrite expects them (scripts/jinja-fields.ts)`);
  let typed = 0;
  let dropped = 0;
  const region = source
    .slice(start, end)
    .replace(/^ {2}type = "(\w+)";$/gm, (_, name: string) => {
      typed++;
      return `  static { this.prototype.type = "${name}"; }`;
    })
    .replace(/^ {2}(?:value|_builtins);$/gm, () => {
      dropped++;
      return '';
    });
  if (typed !== TYPED_CLASSES || dropped === 0) {
    throw new Error(
      `${file}: expected ${TYPED_CLASSES} runtime value classes declaring \`type\` and the \`value\` field, found ${typed} and ${dropped} field declarations: ` +
        'this @huggingface/jinja release is shaped differently; check scripts/jinja-fields.ts against it',
    );
  }
  const lookups = source.split(THROWING_LOOKUP).length - 1;
  if (lookups !== 1) throw new Error(`${file}: expected @huggingface/jinja's lookupVariable once as this rewrite knows it, found it ${lookups} times; check scripts/jinja-fields.ts against this release`);
  return `${licence()}${source.slice(0, start)}${region}${source.slice(end)}`.replace(THROWING_LOOKUP, WALKING_LOOKUP);
}

/** The variable lookup as published: an undeclared name throws inside `resolve` and is caught. */
const THROWING_LOOKUP = `  lookupVariable(name) {
    try {
      return this.resolve(name).variables.get(name) ?? new UndefinedValue();
    } catch {
      return new UndefinedValue();
    }
  }`;

/** The same answers without the throw: the nearest scope that declares the name, else undefined. */
const WALKING_LOOKUP = `  lookupVariable(name) {
    for (let env = this; env; env = env.parent) {
      const value = env.variables.get(name);
      if (value !== undefined || env.variables.has(name)) return value ?? new UndefinedValue();
    }
    return new UndefinedValue();
  }`;

/**
 * An esbuild plugin (tsup's `esbuildPlugins`) that bundles the rewritten package.
 *
 * @example
 * defineConfig({ noExternal: ['@huggingface/jinja'], esbuildPlugins: [jinjaFieldsPlugin()] })
 */
export function jinjaFieldsPlugin() {
  return {
    name: 'jinja-fields',
    setup(build: { onLoad(options: { filter: RegExp }, callback: (args: { path: string }) => { contents: string; loader: 'js' }): void }) {
      build.onLoad({ filter: JINJA_DIST }, (args) => ({ contents: rewriteJinjaRuntime(readFileSync(args.path, 'utf8'), args.path), loader: 'js' }));
    },
  };
}

/**
 * The same as a Vite plugin, for vitest (with the package inlined: `server.deps.inline`).
 *
 * @example
 * defineConfig({ plugins: [jinjaFieldsVitePlugin()], test: { server: { deps: { inline: ['@huggingface/jinja'] } } } })
 */
export function jinjaFieldsVitePlugin() {
  return {
    name: 'jinja-fields',
    enforce: 'pre' as const,
    transform(code: string, id: string) {
      const file = id.split('?')[0] as string;
      return JINJA_DIST.test(file) ? { code: rewriteJinjaRuntime(code, file), map: null } : undefined;
    },
  };
}

/** The package's MIT licence as a legal comment: the bundle carries a copy of its code. */
function licence(): string {
  const root = dirname(dirname(createRequire(import.meta.url).resolve('@huggingface/jinja')));
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const text = readFileSync(join(root, 'LICENSE'), 'utf8').trim().replaceAll('*/', '* /');
  return `/*! @huggingface/jinja ${version}, bundled with its runtime values' class fields moved to their prototypes (lora-prep scripts/jinja-fields.ts).\n${text}\n*/\n`;
}
