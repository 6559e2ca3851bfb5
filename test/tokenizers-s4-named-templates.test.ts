/**
 * Named chat templates: transformers' get_chat_template renders a conversation with tools through
 * the `tool_use` template when the model has one (a `chat_template` list in tokenizer_config.json,
 * or `additional_chat_templates/tool_use.jinja`), and every other one through `default`.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTokenizer } from '../src/tokenizers/index.js';
import type { Message } from '../src/types.js';
import { tinyTokenizer } from './helpers/index.js';

const DEFAULT = '{% for m in messages %}{{ m.content }} {% endfor %}';
const TOOL_USE = 'tools {% for t in tools %}{{ t.function.name }} {{ t.function.description }} {% endfor %}{% for m in messages %}{{ m.content }} {% endfor %}';

const chat: Message[] = [
  { role: 'user', content: 'hello world' },
  { role: 'assistant', content: 'a bond.' },
];
const tools = [{ type: 'function', function: { name: 'lookup', description: 'what is it', parameters: { type: 'object', properties: {} } } }];

const folder = tinyTokenizer;

describe('named chat templates', () => {
  it.each([
    ['tool_use listed first', [{ name: 'tool_use', template: TOOL_USE }, { name: 'default', template: DEFAULT }]],
    ['default listed first', [{ name: 'default', template: DEFAULT }, { name: 'tool_use', template: TOOL_USE }]],
  ])('renders rows with tools through tool_use and others through default (%s)', async (_name, list) => {
    const tok = await loadTokenizer(await folder({ chat_template: list }));
    expect(tok.countMessages(chat)).toBe(tok.count('hello world a bond. '));
    expect(tok.countMessages(chat, tools)).toBe(tok.count('tools lookup what is it hello world a bond. '));
    // The prompt part too: the history before the answer, through the same template.
    expect(tok.measure(chat, tools)).toEqual({ total: tok.count('tools lookup what is it hello world a bond. '), prompt: tok.count('tools lookup what is it hello world ') });
    // An empty tools list is no tools, as lora-prep passes none then.
    expect(tok.countMessages(chat, [])).toBe(tok.count('hello world a bond. '));
    expect(tok.chatTemplate).toBe('tokenizer_config.json (default); for rows with tools: tokenizer_config.json (tool_use)');
  });

  it('reads additional_chat_templates/tool_use.jinja beside chat_template.jinja, as transformers saves them', async () => {
    const dir = await folder({}, { 'chat_template.jinja': DEFAULT, 'additional_chat_templates/tool_use.jinja': TOOL_USE });
    const tok = await loadTokenizer(dir);
    expect(tok.countMessages(chat)).toBe(tok.count('hello world a bond. '));
    expect(tok.countMessages(chat, tools)).toBe(tok.count('tools lookup what is it hello world a bond. '));
    expect(tok.chatTemplate).toBe(`${join(dir, 'chat_template.jinja')}; for rows with tools: ${join(dir, 'additional_chat_templates', 'tool_use.jinja')}`);
  });

  it('lets chat_template.jinja replace the default of a list and keeps its tool_use', async () => {
    const dir = await folder({ chat_template: [{ name: 'default', template: 'old {{ messages[0].content }}' }, { name: 'tool_use', template: TOOL_USE }] }, { 'chat_template.jinja': DEFAULT });
    const tok = await loadTokenizer(dir);
    expect(tok.countMessages(chat)).toBe(tok.count('hello world a bond. '));
    expect(tok.countMessages(chat, tools)).toBe(tok.count('tools lookup what is it hello world a bond. '));
  });

  it('refuses a chat_template list entry that is not {name, template}, naming the file', async () => {
    const dir = await folder({ chat_template: [{ name: 'default', template: DEFAULT }, { name: 'tool_use' }] });
    await expect(loadTokenizer(dir)).rejects.toMatchObject({ code: 'TOKENIZER_UNAVAILABLE', message: expect.stringMatching(/chat_template list in tokenizer_config\.json has an entry that is not/) });
  });
});

describe('a tool_use template with a feature the renderer lacks', () => {
  it('stops the job when the tokenizer loads, not at the first row with tools', async () => {
    const toolUse = "{% for t in tools %}{{ t.function.name|truncate(3) }}{% endfor %}{% for m in messages %}{{ m.content }} {% endfor %}";
    const dir = await folder({ chat_template: [{ name: 'default', template: DEFAULT }, { name: 'tool_use', template: toolUse }] });
    await expect(loadTokenizer(dir)).rejects.toMatchObject({ code: 'TOKENIZER_UNAVAILABLE', message: expect.stringMatching(/truncate/) });
  });
});
