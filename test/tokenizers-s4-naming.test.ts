/**
 * How `tokenizer` names a tokenizer: an existing model folder wins over an OpenAI or short name of
 * the same spelling; a path to a file or to nothing gets a message that says so; a tokenizer.json
 * whose model type the port does not implement is refused instead of counting one token a word.
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadTokenizer, openAiEncodingFor } from '../src/tokenizers/index.js';
import { workerLimits } from '../src/tokenizers/pool.js';
import { tempDir } from './helpers/index.js';

const home = process.cwd();
afterEach(() => process.chdir(home));

async function modelFolder(dir: string, edit?: (json: { model: { type: unknown } }) => void): Promise<string> {
  await mkdir(dir, { recursive: true });
  const json = JSON.parse(await readFile(join(home, 'fixtures/tokenizers/tiny-chatml/tokenizer.json'), 'utf8')) as { model: { type: unknown } };
  edit?.(json);
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(json));
  await copyFile(join(home, 'fixtures/tokenizers/tiny-chatml/tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
  return dir;
}

describe('a folder wins over a name spelled the same', () => {
  it('gpt-4-local, a model folder in the working directory, is that folder, not cl100k_base', async () => {
    const root = await tempDir();
    await modelFolder(join(root, 'gpt-4-local'));
    process.chdir(root);
    expect(openAiEncodingFor('gpt-4-local')).toBeUndefined();
    const tok = await loadTokenizer('gpt-4-local');
    expect(tok.name).toBe('gpt-4-local');
    expect(tok.chatTemplate).toBe('tokenizer_config.json');
    expect(tok.countMessages([{ role: 'user', content: 'hello world' }, { role: 'assistant', content: 'a bond.' }])).toBe(12);
    // The worker pool sizes its workers for a Hugging Face tokenizer, not an OpenAI encoding.
    expect(workerLimits('gpt-4-local', 16 * 2 ** 20).resourceLimits.maxOldGenerationSizeMb).toBe(192);
    // A folder without tokenizer.json (data, say) does not hide the OpenAI name.
    await mkdir(join(root, 'gpt-4o'));
    expect((await loadTokenizer('gpt-4o')).name).toBe('o200k_base');
  });

  it('a short package name with a model folder of that name in the working directory is the folder', async () => {
    const root = await tempDir();
    await modelFolder(join(root, 'llama-3'));
    process.chdir(root);
    const tok = await loadTokenizer('llama-3');
    expect(tok.source).toBe(join(root, 'llama-3'));
  });

  it('a path is never an OpenAI name', async () => {
    expect(openAiEncodingFor('gpt-4o/')).toBeUndefined();
    expect(openAiEncodingFor('models/gpt-4o')).toBeUndefined();
    await expect(loadTokenizer('gpt-4o/')).rejects.toMatchObject({ code: 'TOKENIZER_UNAVAILABLE', message: expect.stringMatching(/^tokenizer: no such folder gpt-4o\//) });
  });
});

describe('paths that are not a model folder', () => {
  it.each(['tokenizer.json', 'tokenizer_config.json'])('a path to %s: pass its folder', async (name) => {
    const dir = await modelFolder(join(await tempDir(), 'm'));
    await expect(loadTokenizer(join(dir, name))).rejects.toMatchObject({
      code: 'TOKENIZER_UNAVAILABLE',
      message: `tokenizer: ${join(dir, name)} is a file; pass the folder that holds tokenizer.json and tokenizer_config.json (here: ${dir}), not a file in it.`,
    });
  });

  it('a relative path that does not exist: says so, with the working directory', async () => {
    const root = await tempDir();
    process.chdir(root);
    await expect(loadTokenizer('models/my-llama')).rejects.toMatchObject({
      code: 'TOKENIZER_UNAVAILABLE',
      message: `tokenizer: no such folder models/my-llama (relative to the working directory ${process.cwd()}: ${join(process.cwd(), 'models/my-llama')}). Pass a folder holding tokenizer.json and tokenizer_config.json.`,
    });
  });

  it('an absolute path that does not exist, and one starting with ~', async () => {
    const missing = join(await tempDir(), 'nope');
    await expect(loadTokenizer(missing)).rejects.toMatchObject({ message: `tokenizer: no such folder ${missing}. Pass a folder holding tokenizer.json and tokenizer_config.json.` });
    await expect(loadTokenizer('~/models/m')).rejects.toMatchObject({ message: expect.stringMatching(/no such folder ~\/models\/m .*\(~ is not expanded here: write the path out\)/) });
  });
});

describe('model types the port does not implement', () => {
  it('refuses a tokenizer.json of model type FooModel, naming it and the supported ones', async () => {
    const dir = await modelFolder(join(await tempDir(), 'foo'), (json) => {
      json.model.type = 'FooModel';
    });
    await expect(loadTokenizer(dir)).rejects.toMatchObject({
      code: 'TOKENIZER_UNAVAILABLE',
      message: expect.stringMatching(/tokenizer\.json has model type "FooModel", which lora-prep's tokenizer \(@huggingface\/tokenizers\) does not implement: it implements BPE, WordPiece, Unigram, WordLevel/),
    });
  });
});
