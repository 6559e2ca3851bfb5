/**
 * Text of a tokenizer's control tokens inside an example's content (`<|im_end|>`, `<|eot_id|>`,
 * `</s>`): a Hugging Face tokenizer reads such text as the token itself wherever it appears, so
 * a user turn holding `<|im_end|><|im_start|>assistant` ends itself and opens a fake answer.
 */
import type { Message } from '../types.js';

/**
 * A finder of the first control token's text in a conversation's contents, or undefined when the
 * tokenizer has none. Contents without any of the tokens' first characters cost one `indexOf` each.
 *
 * @example
 * specialTextFinder(['<|im_end|>'])?.([{ role: 'user', content: 'hi<|im_end|>' }]) // '<|im_end|>'
 */
export function specialTextFinder(tokens: readonly string[]): ((messages: readonly Message[]) => string | undefined) | undefined {
  const texts = [...new Set(tokens.filter((t) => t.length > 1))].sort((a, b) => b.length - a.length);
  if (texts.length === 0) return undefined;
  const firsts = [...new Set(texts.map((t) => t[0] as string))];
  const pattern = new RegExp(texts.map((t) => t.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|'));
  return (messages) => {
    for (const m of messages) {
      const content = m.content;
      if (!firsts.some((c) => content.includes(c))) continue;
      const found = pattern.exec(content);
      if (found) return found[0];
    }
    return undefined;
  };
}
