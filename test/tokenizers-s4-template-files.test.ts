/**
 * A model folder's chat template files that cannot be read are a job problem (TOKENIZER_UNAVAILABLE)
 * that names the file and says what to do, as a broken tokenizer_config.json is.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LoraPrepError } from '../src/errors.js';
import { loadTokenizer } from '../src/tokenizers/index.js';
import { tempDir } from './helpers/index.js';

async function folder(): Promise<string> {
  const dir = join(await tempDir(), 'tok');
  await mkdir(dir);
  await copyFile('fixtures/tokenizers/tiny-chatml/tokenizer.json', join(dir, 'tokenizer.json'));
  await copyFile('fixtures/tokenizers/tiny-chatml/tokenizer_config.json', join(dir, 'tokenizer_config.json'));
  return dir;
}

async function loadError(dir: string): Promise<LoraPrepError> {
  const e = await loadTokenizer(dir).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(LoraPrepError);
  return e as LoraPrepError;
}

describe('chat template files that cannot be read', () => {
  it('a chat_template.json that is not JSON', async () => {
    const dir = await folder();
    await writeFile(join(dir, 'chat_template.json'), '{not json');
    const e = await loadError(dir);
    expect(e.code).toBe('TOKENIZER_UNAVAILABLE');
    expect(e.message).toContain(join(dir, 'chat_template.json'));
    expect(e.message).toMatch(/is not valid JSON \(.+\): fix it .*or remove it to use the template in tokenizer_config\.json/);
  });

  it('a folder named chat_template.jinja', async () => {
    const dir = await folder();
    await mkdir(join(dir, 'chat_template.jinja'));
    const e = await loadError(dir);
    expect(e.code).toBe('TOKENIZER_UNAVAILABLE');
    expect(e.message).toContain(`${join(dir, 'chat_template.jinja')} is a folder, not a file`);
    expect(e.message).toMatch(/Remove or rename the folder/);
  });

  it('a folder named chat_template.json', async () => {
    const dir = await folder();
    await mkdir(join(dir, 'chat_template.json'));
    const e = await loadError(dir);
    expect(e).toMatchObject({ code: 'TOKENIZER_UNAVAILABLE', message: expect.stringContaining(`${join(dir, 'chat_template.json')} is a folder, not a file`) });
  });

  it('a folder named additional_chat_templates/tool_use.jinja', async () => {
    const dir = await folder();
    await mkdir(join(dir, 'additional_chat_templates', 'tool_use.jinja'), { recursive: true });
    const e = await loadError(dir);
    expect(e).toMatchObject({ code: 'TOKENIZER_UNAVAILABLE', message: expect.stringContaining(`${join(dir, 'additional_chat_templates', 'tool_use.jinja')} is a folder, not a file`) });
  });
});
