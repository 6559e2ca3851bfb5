/**
 * Short, neutral system prompts for the domains lora-prep is built for. `systemPrompt: 'finance'`
 * (or `'legal'`, `'medical'`) stands for the text below; any other value is used as written.
 */

/** The named domain system prompts. */
export const DOMAIN_SYSTEM_PROMPTS = {
  finance: 'You are a careful assistant for finance questions. Answer accurately and concisely, state assumptions, and do not present general information as personal financial advice.',
  legal: 'You are a careful assistant for legal questions. Answer accurately and concisely, say which jurisdiction an answer assumes, and do not present general information as legal advice.',
  medical: 'You are a careful assistant for medical questions. Answer accurately and concisely, flag uncertainty, and do not present general information as a diagnosis or treatment plan.',
} as const;

/** A domain with a named system prompt. */
export type PromptDomain = keyof typeof DOMAIN_SYSTEM_PROMPTS;

/**
 * The system prompt text for a `systemPrompt` option value.
 *
 * @example
 * systemPromptText('legal') // 'You are a careful assistant for legal questions. …'
 */
export function systemPromptText(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Object.hasOwn(DOMAIN_SYSTEM_PROMPTS, value) ? DOMAIN_SYSTEM_PROMPTS[value as PromptDomain] : value;
}
