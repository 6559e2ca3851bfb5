import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isLoraPrepError } from '../src/errors.js';
import { cleanContent, detectPreset, mappingName, naturalKeys, normalizeRecords, resolveMapping, type NormalizeOptions } from '../src/normalize/index.js';
import { resolveOptions, type Mapping } from '../src/options.js';
import type { Example, SourceRow } from '../src/types.js';
import { collect, fromArray, recordingContext, tempDir } from './helpers/index.js';

async function run(data: Record<string, unknown>[], mapping: Mapping) {
  const ctx = recordingContext();
  const resolved = resolveMapping(mapping, data[0], 'f.jsonl');
  const rows: SourceRow[] = data.map((d, i) => ({ data: d, source: { file: 'f.jsonl', line: i + 1 } }));
  const examples = await collect(normalizeRecords(fromArray(rows), { mapping: resolved } as NormalizeOptions, ctx));
  return { examples, rejected: ctx.rejected.map((r) => ({ line: r.source.line, reason: r.reason, message: r.message })) };
}

/** The user and assistant text of the one example a row becomes. */
async function one(data: Record<string, unknown>, mapping: Mapping): Promise<{ user: string; assistant: string; example: Example }> {
  const { examples, rejected } = await run([data], mapping);
  expect(rejected).toEqual([]);
  const example = examples[0] as Example;
  return {
    user: example.messages.find((m) => m.role === 'user')?.content as string,
    assistant: example.messages.find((m) => m.role === 'assistant')?.content as string,
    example,
  };
}

async function rejectedOf(data: Record<string, unknown>, mapping: Mapping) {
  const { examples, rejected } = await run([data], mapping);
  expect(examples).toEqual([]);
  return rejected[0];
}

function mappingError(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    if (isLoraPrepError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a LoraPrepError');
}

const pubmed = {
  pubid: 901,
  question: 'Does the checklist reduce readmissions?',
  context: { contexts: ['Readmissions are common.', 'We compared two wards.'], labels: ['BACKGROUND', 'METHODS'], meshes: ['Heart Failure'] },
  long_answer: 'The checklist was associated with fewer readmissions.',
  final_decision: 'yes',
};
const medmcqa = { id: 'm1', question: 'First-line drug?', opa: 'Glipizide', opb: 'Metformin', opc: 'Pioglitazone', opd: 'Acarbose', cop: 1, choice_type: 'single', exp: 'Guidelines start with it.', subject_name: 'Pharmacology', topic_name: 'Diabetes' };
const medqa = { question: 'Which test?', answer: 'Serum ferritin', options: { A: 'Serum ferritin', B: 'B12', C: 'Electrophoresis', D: 'Coombs test' }, meta_info: 'step1', answer_idx: 'A' };
const casehold = { example_id: 3, citing_prompt: 'See Marsh v. Oakline (<HOLDING>).', holding_0: 'holding a', holding_1: 'holding b', holding_2: 'holding c', holding_3: 'holding d', holding_4: 'holding e', label: '2' };

describe('detectPreset: domain shapes', () => {
  it.each([
    ['PubMedQA', pubmed, 'qa'],
    ['PubMedQA without long_answer (decision only)', { question: 'q', context: { contexts: ['c'] }, final_decision: 'no' }, 'qa'],
    ['MedMCQA', medmcqa, 'mcq'],
    ['MedQA (question + answer + options + answer_idx)', medqa, 'mcq'],
    ['CaseHOLD', casehold, 'mcq'],
    ['MMLU', { question: 'q', subject: 'law', choices: ['a', 'b', 'c', 'd'], answer: 2 }, 'mcq'],
    ['SWAG', { sent1: 'He opens the door.', sent2: 'He', ending0: 'walks in.', ending1: 'flies.', ending2: 'sings.', ending3: 'melts.', label: 0 }, 'mcq'],
    ['HellaSwag', { ctx: 'A man is', endings: ['a', 'b', 'c', 'd'], label: '1', activity_label: 'x' }, 'mcq'],
    ['FiQA flat qa still qa', { question: 'q', answer: 'a', context: 'c' }, 'qa'],
    ['question/answer with an unrelated options text is qa', { question: 'q', answer: 'a', options: 'see below' }, 'qa'],
    ['text + label is never guessed', { text: 'a', label: 'b' }, undefined],
    ['options without a key', { question: 'q', opa: 'a', opb: 'b' }, undefined],
  ])('%s', (_name, record, preset) => {
    expect(detectPreset(record as Record<string, unknown>)).toBe(preset);
  });
});

describe('resolveMapping: columns are named from the first row', () => {
  it.each([
    ['MedMCQA', medmcqa, { preset: 'mcq', question: 'question', options: ['opa', 'opb', 'opc', 'opd'], answer: 'cop', indexBase: 0, explanation: 'exp' }],
    ['MedQA', medqa, { preset: 'mcq', question: 'question', options: 'options', answer: 'answer_idx', answerText: 'answer', indexBase: 0 }],
    ['CaseHOLD', casehold, { preset: 'mcq', question: 'citing_prompt', options: ['holding_0', 'holding_1', 'holding_2', 'holding_3', 'holding_4'], answer: 'label', indexBase: 0 }],
    ['SWAG', { sent1: 's1', sent2: 's2', ending0: 'a', ending1: 'b', label: 0 }, { preset: 'mcq', question: ['sent1', 'sent2'], options: ['ending0', 'ending1'], answer: 'label', indexBase: 0 }],
  ])('%s (auto)', (_name, first, expected) => {
    const resolved = resolveMapping('auto', first, 'x.jsonl');
    expect(resolved).toEqual(expected);
    expect(mappingName(resolved)).toBe('mcq');
  });

  it('keeps qa as the string preset (PubMedQA is read row by row)', () => {
    expect(resolveMapping('auto', pubmed, 'p.jsonl')).toBe('qa');
  });

  it('settings given win over detection; only the rest is detected', () => {
    expect(resolveMapping({ preset: 'mcq', answer: 'cop', indexBase: 1, explanation: false }, medmcqa, 'm.csv')).toEqual({
      preset: 'mcq',
      question: 'question',
      options: ['opa', 'opb', 'opc', 'opd'],
      answer: 'cop',
      indexBase: 1,
      explanation: false,
    });
  });

  it.each([
    ['mcq without options', 'mcq', { question: 'q', answer: 'a' }, /f\.csv: mapping "mcq": no options .*columns are: "question", "answer"/],
    ['mcq naming a column the file lacks', { preset: 'mcq', answer: 'correct' }, medmcqa, /answer names column "correct", which the input lacks/],
    ['classification without a text column', 'classification', { body: 'x', label: 'a' }, /no text column/],
    ['classification ids without names', 'classification', { sentence: 's', label: 2 }, /holds class ids \(2\).*labels/],
    ['classification ids as text without names', { preset: 'classification' }, { text: 's', label: '0' }, /holds class ids/],
  ])('%s → MAPPING_INVALID', (_name, mapping, first, message) => {
    const e = mappingError(() => resolveMapping(mapping as Mapping, first, 'f.csv'));
    expect(e.code).toBe('MAPPING_INVALID');
    expect(e.message).toMatch(message);
  });

  it('auto on text + label says why and how: classification is never guessed', () => {
    const e = mappingError(() => resolveMapping('auto', { sentence: 'a', label: 1 }, 'p.csv'));
    expect(e.code).toBe('MAPPING_INVALID');
    expect(e.message).toMatch(/"sentence", "label".*preset: "classification", labels/);
  });

  it('an empty file resolves without a row to read', () => {
    expect(resolveMapping('mcq', undefined, 'e.csv')).toBe('mcq');
    expect(resolveMapping({ preset: 'classification', labels: ['a', 'b'] }, undefined, 'e.csv')).toEqual({ preset: 'classification', labels: ['a', 'b'] });
  });
});

describe('qa: flat, listed and PubMedQA contexts', () => {
  it('PubMedQA: labelled passages, then the long answer and the decision after it', async () => {
    const { user, assistant, example } = await one(pubmed, 'auto');
    expect(user).toBe('Context:\nBACKGROUND: Readmissions are common.\n\nMETHODS: We compared two wards.\n\nQuestion: Does the checklist reduce readmissions?');
    expect(assistant).toBe('The checklist was associated with fewer readmissions.\n\nAnswer: yes.');
    // The natural split keys stay in meta; the mapped text does not.
    expect(example.meta).toEqual({ source: { file: 'f.jsonl', line: 1 }, pubid: 901, final_decision: 'yes' });
  });

  it('decisionFirst puts the verdict before the long answer', async () => {
    const { assistant } = await one(pubmed, { preset: 'qa', decisionFirst: true });
    expect(assistant).toBe('Answer: yes.\n\nThe checklist was associated with fewer readmissions.');
  });

  it.each([
    ['decision only', { ...pubmed, long_answer: undefined, final_decision: 'Maybe ' }, 'Answer: maybe.'],
    ['long answer only (pqa_unlabeled)', { ...pubmed, final_decision: undefined }, 'The checklist was associated with fewer readmissions.'],
  ])('%s', async (_name, row, answer) => {
    expect((await one(row, 'qa')).assistant).toBe(answer);
  });

  it('passages without labels, or with fewer labels, are joined as written', async () => {
    const { user } = await one({ question: 'Q', context: { contexts: ['One.', 'Two.'], labels: ['A'] }, long_answer: 'L' }, 'qa');
    expect(user).toBe('Context:\nA: One.\n\nTwo.\n\nQuestion: Q');
  });

  it('FiQA-style flat context and a list of passages', async () => {
    expect((await one({ question: 'Q', answer: 'A', context: ' Ctx\r\n' }, 'qa')).user).toBe('Context:\nCtx\n\nQuestion: Q');
    expect((await one({ question: 'Q', answer: 'A', context: ['P1', ' ', 'P2'] }, 'qa')).user).toBe('Context:\nP1\n\nP2\n\nQuestion: Q');
  });

  it('named columns', async () => {
    const { user, assistant } = await one({ query: 'Q', reply: 'A', passage: 'P' }, { preset: 'qa', question: 'query', answer: 'reply', context: 'passage' });
    expect([user, assistant]).toEqual(['Context:\nP\n\nQuestion: Q', 'A']);
  });

  it.each([
    ['a decision outside yes/no/maybe', { ...pubmed, final_decision: 'unclear' }, 'invalid_record', /final_decision" must be yes, no or maybe, got "unclear"/],
    ['neither long answer nor decision', { pubid: 1, question: 'Q', context: { contexts: ['c'] } }, 'missing_field', /long_answer" and "final_decision" are both missing/],
    ['a context object without contexts', { question: 'Q', answer: 'A', context: { text: 'c' } }, 'invalid_record', /without "contexts"/],
    ['passages that are not text', { question: 'Q', answer: 'A', context: ['a', 3] }, 'invalid_record', /list of passages/],
  ])('rejects %s', async (_name, row, reason, message) => {
    const r = await rejectedOf(row, 'qa');
    expect(r?.reason).toBe(reason);
    expect(r?.message).toMatch(message);
  });
});

describe('mcq', () => {
  it('MedMCQA: options as A. ..., the answer as letter + text, then the explanation', async () => {
    const { user, assistant, example } = await one(medmcqa, 'auto');
    expect(user).toBe('First-line drug?\n\nA. Glipizide\nB. Metformin\nC. Pioglitazone\nD. Acarbose');
    expect(assistant).toBe('B. Metformin\n\nGuidelines start with it.');
    expect(example.id).toBe('m1');
    expect(example.meta).toEqual({ source: { file: 'f.jsonl', line: 1 }, choice_type: 'single', subject_name: 'Pharmacology', topic_name: 'Diabetes' });
  });

  it.each([
    ['indexBase 1 (MedMCQA original JSON)', { ...medmcqa, cop: '2' }, { preset: 'mcq', indexBase: 1 }, 'B. Metformin\n\nGuidelines start with it.'],
    ['a blank explanation is left out', { ...medmcqa, exp: '  ' }, 'mcq', 'B. Metformin'],
    ['explanation: false', medmcqa, { preset: 'mcq', explanation: false }, 'B. Metformin'],
    ['MedQA letter, checked against the answer text', medqa, 'auto', 'A. Serum ferritin'],
    ['a CSV index as text', { ...medmcqa, cop: '3', exp: null }, 'mcq', 'D. Acarbose'],
    ['a float-looking whole number', { ...medmcqa, cop: '3.0', exp: null }, 'mcq', 'D. Acarbose'],
    ['a letter written (c)', { question: 'Q', choices: ['x', 'y', 'z'], answer: '(c)' }, 'mcq', 'C. z'],
    ['a letter written B.', { question: 'Q', choices: ['x', 'y', 'z'], answer: 'B.' }, 'mcq', 'B. y'],
    ['the option text, whatever the case and spacing', { question: 'Q', choices: ['Aspirin', 'Warfarin  sodium'], answer: 'warfarin sodium' }, 'mcq', 'B. Warfarin  sodium'],
    ['options as JSON text (a CSV export)', { question: 'Q', choices: '["x", "y"]', answer: 1 }, 'mcq', 'B. y'],
    ['ARC / OpenBookQA columnar choices', { question_stem: 'Q', choices: { text: ['x', 'y', 'z'], label: ['A', 'B', 'C'] }, answerKey: 'C' }, 'mcq', 'C. z'],
    ['numbered columnar choices key by their own label', { question: 'Q', choices: { text: ['x', 'y'], label: ['1', '2'] }, answerKey: '2' }, 'mcq', 'B. y'],
    ['CaseHOLD', casehold, 'auto', 'C. holding c'],
  ])('%s', async (_name, row, mapping, assistant) => {
    expect((await one(row as Record<string, unknown>, mapping as Mapping)).assistant).toBe(assistant);
  });

  it('object options with letter keys are listed in letter order under their own letters', async () => {
    const { user, assistant } = await one({ question: 'Q', options: { C: 'see', A: 'ay', B: 'bee' }, answer_idx: 'c' }, 'mcq');
    expect(user).toBe('Q\n\nA. ay\nB. bee\nC. see');
    expect(assistant).toBe('C. see');
  });

  it('object options with other keys are lettered in order, and the key may be an option key', async () => {
    const { user, assistant } = await one({ question: 'Q', options: { opa: 'x', opb: 'y' }, answer: 'opb' }, 'mcq');
    expect(user).toBe('Q\n\nA. x\nB. y');
    expect(assistant).toBe('B. y');
  });

  it('SWAG joins sent1 and sent2 into the question', async () => {
    const { user } = await one({ sent1: 'She picks up the racket.', sent2: 'She', ending0: 'serves.', ending1: 'swims.', label: 0 }, 'auto');
    expect(user).toBe('She picks up the racket. She\n\nA. serves.\nB. swims.');
  });

  it('trailing blank options are dropped (a 4-option row in an opa..ope file)', async () => {
    const { user } = await one({ question: 'Q', opa: 'w', opb: 'x', opc: 'y', opd: 'z', ope: '', cop: 0 }, 'mcq');
    expect(user).toBe('Q\n\nA. w\nB. x\nC. y\nD. z');
  });

  it('a letter that names a letter option wins over option text, and a number is an index: never a guess', async () => {
    expect((await one({ question: 'Q', choices: ['B', 'A'], answer: 'A' }, 'mcq')).assistant).toBe('A. B');
    expect((await one({ question: 'Q', choices: ['1', '0'], answer: '0' }, 'mcq')).assistant).toBe('A. 1');
  });

  it.each([
    ['an index past the last option', { ...medmcqa, cop: 4 }, 'mcq', 'invalid_record', /"cop" is 4, which picks no option: there are 4 \(A–D\), numbered 0–3 \(indexBase 0\); if the file numbers options from 1, set mapping.indexBase to 1/],
    ['MedMCQA test-split key -1', { ...medmcqa, cop: -1 }, 'mcq', 'invalid_record', /"cop" is -1, which picks no option/],
    ['index 0 with indexBase 1', { ...medmcqa, cop: 0 }, { preset: 'mcq', indexBase: 1 }, 'invalid_record', /numbered 1–4/],
    ['a letter past the options', { ...medqa, answer_idx: 'F' }, 'mcq', 'invalid_record', /"answer_idx" is "F", which picks no option: the options are A–D/],
    ['a key whose text is no option', { question: 'Q', choices: ['x', 'y'], answer: 'zed' }, 'mcq', 'invalid_record', /neither a letter \(A–B\), a number, nor the text of an option/],
    ['a key whose text is two options', { question: 'Q', choices: ['same', 'Same', 'other'], answer: 'same' }, 'mcq', 'invalid_record', /the text of 2 options \(A, B\)/],
    ['answer text that disagrees with the key', { ...medqa, answer: 'B12' }, 'auto', 'invalid_record', /"answer_idx" \("A"\) picks A\. "Serum ferritin", but field "answer" says "B12"/],
    ['a fractional key', { question: 'Q', choices: ['x', 'y'], answer: 1.5 }, 'mcq', 'invalid_record', /whole number/],
    ['a missing key', { question: 'Q', choices: ['x', 'y'], answer: null }, { preset: 'mcq', answer: 'answer' }, 'missing_field', /"answer" is missing/],
    ['one option', { question: 'Q', choices: ['x', ''], answer: 0 }, 'mcq', 'invalid_record', /two or more options, got 1/],
    ['a blank option before others', { ...medmcqa, opb: ' ' }, 'mcq', 'empty_content', /option B \(column "opb"\) is blank, but later options are not/],
    ['an option that is not text', { question: 'Q', choices: ['x', { y: 1 }], answer: 0 }, 'mcq', 'invalid_record', /option B \(item 2\) must be text/],
    ['options that are plain text', { question: 'Q', choices: 'x or y', answer: 0 }, { preset: 'mcq', options: 'choices' }, 'invalid_record', /must be a list or an object of options/],
    ['a blank question', { ...medmcqa, question: '' }, 'mcq', 'empty_content', /"question" is blank/],
  ])('rejects %s', async (_name, row, mapping, reason, message) => {
    const r = await rejectedOf(row as Record<string, unknown>, mapping as Mapping);
    expect(r?.reason).toBe(reason);
    expect(r?.message).toMatch(message);
  });

  it('the string preset finds columns per row when used without resolveMapping', async () => {
    const ctx = recordingContext();
    const rows: SourceRow[] = [{ data: medmcqa, source: { file: 'a.csv', line: 2 } }, { data: { question: 'Q', answer: 'A' }, source: { file: 'a.csv', line: 3 } }];
    const examples = await collect(normalizeRecords(fromArray(rows), { mapping: 'mcq' }, ctx));
    expect(examples).toHaveLength(1);
    expect(ctx.rejected[0]).toMatchObject({ reason: 'missing_field', message: expect.stringMatching(/no options/) });
  });
});

describe('classification', () => {
  const phrasebank = { sentence: 'Operating profit rose to EUR 14 mn .', label: 2 };
  const labels = ['negative', 'neutral', 'positive'];

  it('a list of names: ids are positions, and the prompt lists the labels', async () => {
    const { user, assistant, example } = await one(phrasebank, { preset: 'classification', labels });
    expect(user).toBe('Classify the text. Answer with the label only.\nLabels: negative, neutral, positive\n\nText: Operating profit rose to EUR 14 mn .');
    expect(assistant).toBe('positive');
    expect(example.meta).toEqual({ source: { file: 'f.jsonl', line: 1 }, label: 2 });
  });

  it.each([
    ['a map from ids (CSV text) to names', { sentence: 's', label: '0' }, { preset: 'classification', labels: { 0: 'negative', 1: 'neutral', 2: 'positive' } }, 'negative'],
    ['a name as written, with a map', { sentence: 's', label: 'neutral' }, { preset: 'classification', labels: { 0: 'negative', 1: 'neutral' } }, 'neutral'],
    ['a name as written wins over an id (star ratings)', { text: 's', label: '2' }, { preset: 'classification', labels: ['1', '2', '3'] }, '2'],
    ['no names: text labels as written', { text: 's', label: ' spam ' }, 'classification', 'spam'],
    ['named columns', { body: 's', category: 'b' }, { preset: 'classification', text: 'body', label: 'category', labels: ['a', 'b'] }, 'b'],
    ['a boolean label', { text: 's', label: true }, { preset: 'classification', labels: { true: 'relevant', false: 'irrelevant' } }, 'relevant'],
  ])('%s', async (_name, row, mapping, assistant) => {
    expect((await one(row, mapping as Mapping)).assistant).toBe(assistant);
  });

  it('without names the prompt cannot list the labels; a custom instruction replaces the default', async () => {
    expect((await one({ text: 'T', label: 'spam' }, 'classification')).user).toBe('Classify the text. Answer with the label only.\n\nText: T');
    expect((await one({ text: 'T', label: 0 }, { preset: 'classification', labels: ['ham', 'spam'], instruction: 'Is this e-mail spam?' })).user).toBe(
      'Is this e-mail spam?\nLabels: ham, spam\n\nText: T',
    );
  });

  it.each([
    ['an id outside the list', { sentence: 's', label: 3 }, { preset: 'classification', labels }, 'invalid_record', /"label" is 3, which is not one of the labels \(0 = negative, 1 = neutral, 2 = positive\)/],
    ['a name outside the map', { sentence: 's', label: 'bullish' }, { preset: 'classification', labels: { 0: 'negative', 1: 'positive' } }, 'invalid_record', /"bullish", which is not one of the labels \(0 = negative, 1 = positive\)/],
    ['a blank label', { sentence: 's', label: ' ' }, { preset: 'classification', labels }, 'empty_content', /"label" is blank/],
    ['a missing label', { sentence: 's', label: null }, { preset: 'classification', labels }, 'missing_field', /"label" is missing/],
    ['an id with no names (a later row)', { text: 's', label: 4 }, 'classification', 'invalid_record', /a class id; name the classes with mapping.labels/],
  ])('rejects %s', async (_name, row, mapping, reason, message) => {
    // Ids without names stop the job when the first row has one; a later one is a rejected row.
    const rows = typeof mapping === 'string' ? [{ text: 'ok', label: 'fine' }, row] : [row];
    const { rejected } = await run(rows, mapping as Mapping);
    expect(rejected).toEqual([{ line: rows.length, reason, message: expect.stringMatching(message) }]);
  });
});

describe('template: a task prompt from a file', () => {
  async function promptFile(text: string): Promise<string> {
    const path = join(await tempDir(), 'task.txt');
    await writeFile(path, text);
    return path;
  }

  it('the prompt, filled from the row, is the user message; the answer column the assistant', async () => {
    const path = await promptFile('\uFEFFIs this hearsay?\n\nQ: {{text}}\nA:\n');
    const { user, assistant, example } = await one({ index: '4', text: 'A letter offered for its truth.', answer: 'Yes' }, { preset: 'template', promptFile: path });
    expect(user).toBe('Is this hearsay?\n\nQ: A letter offered for its truth.\nA:');
    expect(assistant).toBe('Yes');
    expect(example.meta).toEqual({ source: { file: 'f.jsonl', line: 1 }, index: '4' });
  });

  it('resolveOptions reads each prompt file once, into templates', async () => {
    const path = await promptFile('Q: {{text}}');
    const opts = resolveOptions({ inputs: [{ path: 'a.tsv', mapping: { preset: 'template', promptFile: path, answer: 'label' } }], outDir: 'o', mapping: { preset: 'template', promptFile: path } });
    expect(opts.mapping).toEqual({ user: 'Q: {{text}}', assistant: '{{answer}}' });
    expect(typeof opts.inputs[0] === 'object' && opts.inputs[0].mapping).toEqual({ user: 'Q: {{text}}', assistant: '{{label}}' });
  });

  it.each([
    ['a missing file', async () => join(await tempDir(), 'nope.txt'), 'INPUT_NOT_FOUND', /mapping.promptFile: cannot read .*nope\.txt \(ENOENT\)/],
    ['a prompt without placeholders', () => promptFile('Answer yes or no.'), 'MAPPING_INVALID', /has no \{\{column\}\} placeholder/],
  ])('%s', async (_name, make, code, message) => {
    const path = await make();
    const e = mappingError(() => resolveOptions({ inputs: ['a.tsv'], outDir: 'o', mapping: { preset: 'template', promptFile: path } }));
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
  });

  it('a placeholder naming a column the file lacks stops the job before any row', async () => {
    const path = await promptFile('Q: {{txt}}');
    const e = mappingError(() => resolveMapping({ preset: 'template', promptFile: path }, { text: 't', answer: 'a' }, 'task.tsv'));
    expect(e.code).toBe('MAPPING_INVALID');
    expect(e.message).toMatch(/\{\{txt\}\}.*columns are: "text", "answer"/);
  });
});

describe('mapping options are validated, and every bad setting is named', () => {
  const base = { inputs: ['a.csv'], outDir: 'out' };
  it.each([
    ['indexBase 2', { preset: 'mcq', indexBase: 2 }, /mapping\.indexBase: expected 0 or 1, got 2/],
    ['an unknown setting', { preset: 'classification', labelz: ['a', 'b'] }, /mapping: unknown option "labelz"/],
    ['an unknown preset', { preset: 'multiple-choice' }, /mapping\.preset: expected a preset: "qa", "mcq", "classification" or "template".*got "multiple-choice"/],
    ['one label', { preset: 'classification', labels: ['a'] }, /mapping\.labels: name two or more labels/],
    ['a template preset without its file', { preset: 'template' }, /mapping\.promptFile/],
    ['one option column', { preset: 'mcq', options: ['opa'] }, /mapping\.options/],
    ['a template missing its assistant still says so', { user: '{{q}}' }, /mapping\.assistant/],
  ])('%s', (_name, mapping, message) => {
    const e = mappingError(() => resolveOptions({ ...base, mapping }));
    expect(e.code).toBe('OPTION_INVALID');
    expect(e.message).toMatch(message);
  });

  it.each(['mcq', 'classification', { preset: 'qa', decisionFirst: true }, { preset: 'mcq', options: 'choices', answer: 'answer', indexBase: 1 }, { preset: 'classification', labels: { 0: 'a', 1: 'b' } }])(
    'accepts %j',
    (mapping) => {
      expect(resolveOptions({ ...base, mapping }).mapping).toEqual(mapping);
    },
  );
});

describe('naturalKeys', () => {
  it.each([
    ['PubMedQA', 'auto', pubmed, { groupBy: 'pubid', stratifyBy: 'final_decision' }],
    ['MedMCQA', 'auto', medmcqa, { stratifyBy: 'subject_name' }],
    ['MedQA', 'mcq', medqa, { stratifyBy: 'meta_info' }],
    ['MMLU', 'auto', { question: 'q', subject: 'law', choices: ['a', 'b'], answer: 0 }, { stratifyBy: 'subject' }],
    ['mcq with a case id', 'mcq', { ...casehold, case_id: 'K-1' }, { groupBy: 'case_id' }],
    ['CaseHOLD (example_id is one per row: no group)', 'auto', casehold, {}],
    ['classification', { preset: 'classification', labels: ['a', 'b'] }, { sentence: 's', label: 0 }, { stratifyBy: 'label' }],
    ['classification, named label column', { preset: 'classification', label: 'sentiment' }, { text: 's', sentiment: 'pos' }, { stratifyBy: 'sentiment' }],
    ['resolved mcq', resolveMapping('auto', medmcqa, 'm.csv'), medmcqa, { stratifyBy: 'subject_name' }],
    ['flat qa', 'auto', { question: 'q', answer: 'a', topic: 't' }, {}],
    ['templates', { user: '{{q}}', assistant: '{{a}}' }, { q: 'q', a: 'a', label: 1 }, {}],
    ['no first row', 'mcq', undefined, {}],
  ])('%s', (_name, mapping, first, keys) => {
    expect(naturalKeys(mapping as Mapping, first as Record<string, unknown> | undefined)).toEqual(keys);
  });
});

describe('property: mcq answers name the option the key picks, under the letter the prompt shows', () => {
  const optionText = fc
    .string({ minLength: 1, maxLength: 30 })
    .map((s) => s.replace(/[\r\n\u2028\u2029]/g, ' '))
    .filter((s) => s.trim() !== '');
  // Text that reads as a letter or a number is a letter or a number (documented precedence).
  const plainText = optionText.filter((s) => !/^\(?[A-Za-z][.)]?$/.test(s.trim()) && !/^-?\d+(?:\.0+)?$/.test(s.trim()));
  const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

  it('for every encoding of a valid key', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(plainText, { minLength: 2, maxLength: 8 }),
        fc.nat(),
        fc.constantFrom('letter', 'lower-letter', 'index0', 'index1', 'text', 'object-letter', 'columns'),
        async (options, pick, encoding) => {
          const i = pick % options.length;
          const norm = (s: string) => s.replace(/\s+/g, ' ').trim().toLowerCase();
          fc.pre(encoding !== 'text' || options.filter((o) => norm(o) === norm(options[i] as string)).length === 1);
          const letter = LETTERS[i] as string;
          let row: Record<string, unknown> = { question: 'Which one?', choices: options };
          let mapping: Mapping = 'mcq';
          if (encoding === 'letter') row.answer = letter;
          else if (encoding === 'lower-letter') row.answer = letter.toLowerCase();
          else if (encoding === 'index0') row.answer = i;
          else if (encoding === 'index1') {
            row.answer = String(i + 1);
            mapping = { preset: 'mcq', indexBase: 1 };
          } else if (encoding === 'text') row.answer = ` ${options[i]} `;
          else if (encoding === 'object-letter') {
            // Keys in reverse order: the letters, not the order of the keys, label the options.
            row = { question: 'Which one?', options: Object.fromEntries(options.map((o, k) => [LETTERS[k] as string, o]).reverse()), answer_idx: letter };
          } else {
            row = { question: 'Which one?', ...Object.fromEntries(options.map((o, k) => [`op${LETTERS[k]?.toLowerCase()}`, o])), cop: i };
          }
          const { examples, rejected } = await run([row], mapping);
          expect(rejected).toEqual([]);
          const [user, assistant] = (examples[0] as Example).messages.map((m) => m.content);
          const expected = cleanContent(options[i] as string);
          expect(assistant).toBe(`${letter}. ${expected}`);
          const listed = (user as string).split('\n\n').at(-1)?.split('\n') ?? [];
          expect(listed).toHaveLength(options.length);
          expect(listed[i]).toBe(`${letter}. ${expected}`);
          expect(listed.map((l) => l.slice(0, l.indexOf('.')))).toEqual([...LETTERS.slice(0, options.length)]);
        },
      ),
      { numRuns: 300, seed: 8 },
    );
  });

  it('a key that resolves to no option is always rejected, never guessed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(plainText, { minLength: 2, maxLength: 6 }), fc.integer({ min: -3, max: 40 }), async (options, key) => {
        fc.pre(key < 0 || key >= options.length);
        const { examples, rejected } = await run([{ question: 'Q', choices: options, answer: key }], 'mcq');
        expect(examples).toEqual([]);
        expect(rejected[0]?.reason).toBe('invalid_record');
      }),
      { numRuns: 100, seed: 9 },
    );
  });
});
