/**
 * Conversation rules that trainers enforce, as small checks shared by the record builders. Each
 * returns the problem in words, or undefined; a builder turns a problem into an
 * `unsupported_shape` rejection naming the rule.
 */
import type { Message } from '../types.js';

/** A rule over a conversation. */
export type Rule = (messages: readonly Message[]) => string | undefined;

/** No two neighbouring messages share a role (Together; Llama 2 / Mistral / Gemma templates). */
export const alternatingRoles: Rule = (messages) => {
  for (let i = 1; i < messages.length; i++) {
    if (messages[i]?.role === messages[i - 1]?.role) return `messages ${i} and ${i + 1} are both ${messages[i]?.role}: roles must alternate`;
  }
  return undefined;
};

/** At most one system message, and only first (Mistral, ShareGPT, torchtune). */
export const oneLeadingSystem: Rule = (messages) => {
  const at = messages.map((m, i) => (m.role === 'system' ? i : -1)).filter((i) => i >= 0);
  if (at.length > 1) return `${at.length} system messages: at most one is allowed`;
  if (at.length === 1 && at[0] !== 0) return `the system message is message ${(at[0] as number) + 1}: it must come first`;
  return undefined;
};

/** After the system message, the first turn is the user's. */
export const userFirst: Rule = (messages) => {
  const first = messages.find((m) => m.role !== 'system');
  return first?.role === 'user' ? undefined : `the conversation starts with ${first?.role ?? 'nothing'}: the first turn must be the user's`;
};

/** torchtune's validate_messages: no two users in a row, and an assistant only after a user. */
export const torchtuneOrder: Rule = (messages) => {
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as Message;
    const prev = messages[i - 1];
    if (m.role === 'user' && prev?.role === 'user') return `messages ${i} and ${i + 1} are both user: torchtune refuses two user turns in a row`;
    if (m.role === 'assistant' && prev?.role !== 'user') return `message ${i + 1} is an assistant turn that does not follow a user turn: torchtune refuses it`;
  }
  return undefined;
};

/** The message of the first rule a conversation breaks. */
export function firstProblem(messages: readonly Message[], rules: readonly Rule[]): string | undefined {
  for (const rule of rules) {
    const problem = rule(messages);
    if (problem) return problem;
  }
  return undefined;
}
