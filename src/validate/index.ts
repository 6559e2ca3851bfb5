/**
 * Validation of existing JSONL files against the rules of the trainer that will read them
 * (FORMATS.md §12), and `--fix` for the mechanical problems. Consumes a path; produces a report of
 * line-numbered problems with stable rule ids, or a repaired copy.
 */
export { validateFile, MAX_STORED_PROBLEMS, MAX_TYPE_PATHS } from './validate.js';
export type { Problem, ValidationOptions, ValidationReport } from './validate.js';
export { fixFile, defaultFixedPath } from './fix.js';
export type { FixResult } from './fix.js';
export { VALIDATION_RULES } from './rules.js';
export type { RuleId, RuleInfo } from './rules.js';
export { VALIDATION_TARGETS, TEXT_TARGETS, guessTarget } from './targets.js';
export type { ValidationTarget, ValidationFormat, ValidationRecordFormat } from './targets.js';
