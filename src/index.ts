/**
 * lora-prep: domain data (CSV, TSV, JSONL, JSON) in, trainer-ready JSONL out.
 * The public surface, by name. Stage functions are exported for custom pipelines.
 */
export { prepareDataset, summarize } from './prepare.js';
export type { PrepareResult, PrepareCounts, PrepareReport, ResultTokens, CostEstimate, TruncationEntry } from './prepare.js';
export { openAiDefaultEpochs } from './prepare.js';
export { countTokens, applyBudget } from './check/index.js';
export type { Budget, Measured, Truncation, CountedExample, CountOptions, MeasuredExample, RecordLine, RecordSpec } from './check/index.js';
export type { DuplicateResult, KeySpec, MeasureItem } from './check/measure.js';
export { resolveOptions, prepareOptionsSchema } from './options.js';
export type {
  PrepareOptions,
  ResolvedOptions,
  ResolvedExact,
  ResolvedNear,
  InputSpec,
  Mapping,
  MappingPreset,
  TemplateMapping,
  QaMapping,
  McqMapping,
  ClassificationMapping,
  TemplatePresetMapping,
  PresetMapping,
  SplitOptions,
  DedupOptions,
  ProgressEvent,
  PricingOptions,
  ExactDedupOptions,
  NearDedupOptions,
  PiiOptions,
  FailOnOptions,
} from './options.js';
export { LoraPrepError, isLoraPrepError } from './errors.js';
export type { ErrorCode, ErrorLocation } from './errors.js';
export type { Example, Message, Role, SourceLocation, SourceRow, Rejection, ReasonCode, StageContext, ToolCall } from './types.js';
export { REASON_CODES } from './types.js';
export { loadRecords, loadCsv, loadJsonl, loadJson, detectFormat } from './load/index.js';
export type { InputFormat, InputEncoding, LoadOptions, LoadSource } from './load/index.js';
export { normalizeRecords, resolveMapping, detectPreset, cleanContent, naturalKeys, mappingName } from './normalize/index.js';
export { DOMAIN_SYSTEM_PROMPTS, systemPromptText } from './normalize/domains.js';
export type { PromptDomain } from './normalize/domains.js';
export type { NormalizeOptions, ResolvedMapping } from './normalize/index.js';
export { loadTokenizer, openAiEncodingFor } from './tokenizers/index.js';
export type { Tokenizer, Measure, OpenAiEncoding } from './tokenizers/index.js';
export { TokenizerPool } from './tokenizers/pool.js';
export type { BatchOptions, TokenizerInfo } from './tokenizers/pool.js';
export type { WorkerKeys } from './tokenizers/tokenize-worker.js';
export { TOKENIZER_PACKAGES } from './tokenizers/huggingface.js';
export { dedupe, conversationKey, normalizeForDedup, promptPart, exampleKeys, FirstRows, findShared } from './dedup/index.js';
export type { ExampleKeys, SharedFirstRows } from './dedup/index.js';
export { assignRandom, assignByHash, splitSizes, SPLIT_NAMES } from './split/index.js';
export type { SplitFractions, SplitName } from './split/index.js';
export { targets, recordBuilder } from './formats/index.js';
export { trainerGlue } from './formats/glue.js';
export type { Glue, GlueInput } from './formats/glue.js';
export type { RecordSource } from './formats/index.js';
export type { TargetName, RecordFormat, RecordResult, Target, DefaultLimit } from './formats/index.js';
export { serializeRecord, JsonlWriter } from './write/jsonl.js';
export type { WrittenFile } from './write/jsonl.js';
export { formatSummary, tokenStats, tokenHistogram, HISTOGRAM_EDGES } from './report/index.js';
export { checkLeakage, formatLeakage, MAX_LISTED_OVERLAPS } from './leakage/index.js';
export { verifyOutput, formatVerify } from './verify/index.js';
export { fileStats, formatStats } from './stats/index.js';
export { findPii, redactPii, scanMessages, redactMessages, luhnValid, ibanValid, PII_TYPES, PII_PLACEHOLDERS } from './pii/index.js';
export type { PiiType, PiiFinding } from './pii/index.js';
export type { PiiSummary } from './prepare.js';
export type { FileStats, FileStatsOptions } from './stats/index.js';
export type { VerifyReport, VerifiedFile, VerifyStatus, VerifyOptions } from './verify/index.js';
export { DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_FIELD_CHARS, MAX_JSON_DEPTH, MAX_CSV_FIELDS } from './load/index.js';
export { validateFile, fixFile, defaultFixedPath, guessTarget, VALIDATION_RULES, VALIDATION_TARGETS, TEXT_TARGETS, MAX_STORED_PROBLEMS, MAX_TYPE_PATHS } from './validate/index.js';
export type { Problem, ValidationOptions, ValidationReport, FixResult, RuleId, RuleInfo, ValidationTarget, ValidationFormat, ValidationRecordFormat } from './validate/index.js';
export type { LeakageOptions, LeakageReport, LeakageFile, Overlap } from './leakage/index.js';
export { planSplits, NOT_WRITTEN } from './split/index.js';
export type { SplitUnits, SplitPlan } from './split/index.js';
export { dedupeNear } from './dedup/near-stage.js';
export type { DedupeNearOptions } from './dedup/near-stage.js';
export { nearKeys, nearSignature, nearText, shingles, jaccard, DEFAULT_MINHASH } from './dedup/minhash.js';
export type { MinHashParams } from './dedup/minhash.js';
export type { LeakageCheck, NearSummary } from './plan.js';
export type { TokenStats, HistogramBin, SummaryInput } from './report/index.js';
export { defineConfig } from './config.js';
export type { LoraPrepConfig } from './config.js';
