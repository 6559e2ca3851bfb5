import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.js';
import { findPii, prepareDataset } from '../src/index.js';
import { tempDir } from './helpers/index.js';
import { readJsonl } from './helpers/output.js';

const FILE = 'fixtures/pii/clients.jsonl'; // 6 rows: 4 hold personal data, 2 do not (an IBAN format question, a definition)
const PLANTED = ['jana.novak@example.org', '+44 20 7946 0958', '4111 1111 1111 1111', 'GB82 WEST 1234 5698 7654 32', '12/03/1961', '00482913'];

describe('pii in prepareDataset', () => {
  it("redact: no planted value reaches the output, placeholders are typed and consistent within an example", async () => {
    const result = await prepareDataset({ inputs: [FILE], outDir: join(await tempDir(), 'o'), pii: { action: 'redact' }, split: { validation: 0 } });
    const text = await readFile(result.files.train, 'utf8');
    for (const value of PLANTED) expect(text).not.toContain(value);
    const first = (await readJsonl(result.files.train))[0] as { messages: Array<{ content: string }> };
    expect(first.messages[0]?.content).toBe('Please update my e-mail to [EMAIL] and my phone to [PHONE].');
    expect(first.messages[1]?.content).toContain('[EMAIL] is now the contact address, and [PHONE] the phone number');
    expect(text).toContain('order 5580-2231-0098'); // an order number is not a phone or a card
    const report = JSON.parse(await readFile(result.files.report, 'utf8'));
    expect(report.pii).toMatchObject({ action: 'redact', examplesWithPii: 4 });
    expect(report.pii.found).toMatchObject({ email: 2, phone: 2, card: 2, iban: 2, dob: 1, mrn: 1 });
    expect(report.pii.bySplit.train).toEqual(report.pii.found);
    expect(report.pii.samples.length).toBeGreaterThan(0);
    for (const s of report.pii.samples) for (const value of PLANTED) expect(s.text).not.toContain(value);
    const html = await readFile(join(result.outDir, 'report', 'report.html'), 'utf8');
    for (const value of PLANTED) expect(html).not.toContain(value);
  });

  it('drop: examples with personal data are rejected as pii, naming types not values', async () => {
    const result = await prepareDataset({ inputs: [FILE], outDir: join(await tempDir(), 'o'), pii: { action: 'drop', types: ['email', 'card', 'iban', 'phone', 'dob', 'mrn'] }, split: { validation: 0 } });
    expect(result.counts.byReason.pii).toBe(4);
    expect(result.counts.kept).toBe(2);
    const rejected = await readFile(result.files.rejected, 'utf8');
    for (const value of PLANTED) expect(rejected).not.toContain(value);
    expect(rejected).toMatch(/personal data found: email 2, phone 2/);
  });

  it('leaves raw excerpts out of rejected.jsonl when pii is set', async () => {
    const dir = await tempDir();
    const file = join(dir, 'in.jsonl');
    await (await import('node:fs/promises')).writeFile(file, '{"question": "mail me at a.b@example.org", "answer": ""}\n{"question": "ok?", "answer": "yes"}\n');
    const result = await prepareDataset({ inputs: [file], outDir: join(dir, 'o'), pii: { action: 'redact' } });
    const rejected = await readFile(result.files.rejected, 'utf8');
    expect(rejected).toMatch(/empty_content/);
    expect(rejected).not.toContain('a.b@example.org');
  });

  it('keeps personal data out of every report file: quoted by a JSON error, in a stratum name, in the system prompt and templates of the manifest', async () => {
    const dir = await tempDir();
    const file = join(dir, 'in.jsonl');
    const rows = [
      '{"question": "Balance?", "email": margaret.okafor@example.org}',
      ...Array.from({ length: 12 }, (_, i) => JSON.stringify({ question: `Balance of account ${i}?`, answer: `It is ${i * 100} EUR.`, customer: i % 2 ? 'jana.novak@example.org' : 'pavel.dvorak@example.org' })),
    ];
    await (await import('node:fs/promises')).writeFile(file, `${rows.join('\n')}\n`);
    const outDir = join(dir, 'o');
    const result = await prepareDataset({
      inputs: [file],
      outDir,
      pii: { action: 'redact' },
      mapping: { system: 'Escalate to ops.lead@example.org.', user: 'From {{customer}}: {{question}}', assistant: '{{answer}}' },
      split: { validation: 0.25, stratifyBy: 'customer' },
    });
    const values = ['margaret.o', 'jana.novak@example.org', 'pavel.dvorak@example.org', 'ops.lead@example.org'];
    for (const name of ['rejected.jsonl', 'report.json', 'report.html', 'manifest.json', 'next-steps.md']) {
      const text = await readFile(join(outDir, 'report', name), 'utf8');
      for (const value of values) expect(text, `${name} holds ${value}`).not.toContain(value);
    }
    for (const value of values) expect(JSON.stringify(result)).not.toContain(value);
    expect(Object.keys(result.strata ?? {}).sort()).toEqual(['[EMAIL]', '[EMAIL] (2)']);
    // Still split by the values as read: two strata, each in both splits.
    for (const s of Object.values(result.strata ?? {})) {
      expect(s.train + s.validation).toBe(6);
      expect(s.validation).toBeGreaterThanOrEqual(1);
    }
    expect((await readFile(result.files.rejected, 'utf8'))).toMatch(/"reason":"invalid_json","message":"the line is not valid JSON: Unexpected token 'm'/);
    // A message that quotes a value of the row without its label (a ShareGPT call's arguments) has its numbers masked.
    const sharegpt = join(dir, 'calls.jsonl');
    await (await import('node:fs/promises')).writeFile(sharegpt, `${JSON.stringify({ conversations: [{ from: 'human', value: 'Look up the patient.' }, { from: 'function_call', value: '{"name": "ehr", "arguments": {"id": "1961-03-12 00482913"' }, { from: 'observation', value: 'ok' }, { from: 'gpt', value: 'Done.' }], tools: '[]' })}\n`);
    await (await import('node:fs/promises')).appendFile(sharegpt, `${JSON.stringify({ conversations: [{ from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Hello.' }] })}\n`);
    await prepareDataset({ inputs: [sharegpt], outDir: join(dir, 'c'), pii: { action: 'redact' }, split: { validation: 0 } });
    const text = await readFile(join(dir, 'c', 'report', 'rejected.jsonl'), 'utf8');
    expect(text).toMatch(/"reason":"invalid_record"/);
    expect(text).not.toContain('00482913');
    expect(text).not.toContain('1961-03-12');
    // A preview cut mid-address (no rule can tell half an e-mail) is left out whole.
    const cut = join(dir, 'cut.jsonl');
    await (await import('node:fs/promises')).writeFile(cut, `${JSON.stringify({ conversations: [{ from: 'human', value: 'Mail her.' }, { from: 'function_call', value: `{"name":"send_mail","arguments":{"to":"margaret.okafor@example.org","body":"${'x'.repeat(200)}"` }, { from: 'observation', value: 'ok' }, { from: 'gpt', value: 'Sent.' }], tools: '[]' })}\n${JSON.stringify({ conversations: [{ from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Hello.' }] })}\n`);
    await prepareDataset({ inputs: [cut], outDir: join(dir, 'cut'), pii: { action: 'redact' }, split: { validation: 0 } });
    const cutText = await readFile(join(dir, 'cut', 'report', 'rejected.jsonl'), 'utf8');
    expect(cutText).toContain('got […]');
    expect(cutText).not.toMatch(/margaret/);
    const manifest = JSON.parse(await readFile(join(outDir, 'report', 'manifest.json'), 'utf8'));
    expect(manifest.options.mapping.system).toBe('Escalate to [EMAIL].');
  });

  it("keeps personal data out of a job error that quotes a headerless CSV's first row as its columns", async () => {
    const dir = await tempDir();
    const csv = join(dir, 'export.csv');
    await writeFile(csv, 'jana.novak@example.org,00482913,How do I reset my PIN?,Use the app.\npetr@example.org,00471902,Lost card?,Call us.\n');
    for (const run of [
      { mapping: 'qa' as const }, // no question/answer column: MAPPING_INVALID
      { mapping: { user: '{{question}}', assistant: '{{answer}}' } }, // a template naming columns the file lacks
      { split: { validation: 0.5, groupBy: 'client' } }, // a split column no input has: OPTION_INVALID
    ]) {
      const options = { inputs: [csv], outDir: join(dir, 'o'), pii: { action: 'redact' as const }, ...run };
      const error = await prepareDataset(options).catch((e: Error) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).not.toContain('jana.novak@example.org');
      expect((error as Error).message).not.toContain('00482913');
      // Without pii, the message quotes the row as it is (the user needs the column names).
      const plain = await prepareDataset({ ...options, pii: undefined }).catch((e: Error) => e);
      expect((plain as Error).message).toContain('jana.novak@example.org');
    }
    // A JSON file that is one object keyed by e-mail address: INPUT_FORMAT names its keys.
    const json = join(dir, 'by-client.json');
    await writeFile(json, JSON.stringify({ 'jana.novak@example.org': { q: 'PIN?', a: 'App.' } }));
    const error = await prepareDataset({ inputs: [json], outDir: join(dir, 'j'), pii: { action: 'redact' } }).catch((e: Error) => e);
    expect((error as { code?: string }).code).toBe('INPUT_FORMAT');
    expect((error as Error).message).not.toContain('jana.novak@example.org');
    expect(((await prepareDataset({ inputs: [json], outDir: join(dir, 'j') }).catch((e: Error) => e)) as Error).message).toContain('jana.novak@example.org');
  });

  it("reads the values a template places after their columns' names: {{mrn}} placed an MRN", async () => {
    const dir = await tempDir();
    const csv = join(dir, 'cases.csv');
    const rows = [0, 1, 2].map((i) => `0048291${i},1979-11-0${i + 1},53622884${i},415555013${i},9900112233${i},Chest pain case ${i},Plan ${i}: ECG.`);
    await writeFile(csv, `mrn,dob,ssn,phone,account_number,note,answer\n${rows.join('\n')}\n`);
    const mapping = { user: 'Case {{mrn}} / {{dob}} / {{ssn}} / {{phone}} / {{account_number}}: {{note}}', assistant: '{{answer}}' };
    const redacted = await prepareDataset({ inputs: [csv], outDir: join(dir, 'r'), mapping, pii: { action: 'redact' }, split: { validation: 0 }, dedup: false });
    const text = await readFile(redacted.files.train, 'utf8');
    for (const value of ['00482910', '1979-11-01', '536228840', '4155550130', '99001122330']) expect(text).not.toContain(value);
    expect(text).toContain('Case [MRN] / [DOB] / [SSN] / [PHONE] / [ACCOUNT]: Chest pain case 0');
    // The note column names nothing: its text stays.
    expect(redacted.pii?.found).toEqual({ mrn: 3, dob: 3, ssn: 3, phone: 3, account: 3 });
    const reported = await prepareDataset({ inputs: [csv], outDir: join(dir, 'p'), mapping, pii: { action: 'report' }, split: { validation: 0 }, dedup: false });
    expect(reported.pii?.found).toEqual(redacted.pii?.found);
    expect(await readFile(reported.files.train, 'utf8')).toContain('Case 00482910 / 1979-11-01');
  });

  it('redacts the near-duplicate text a template makes with the values its labels found, and stratum values read after their column name', async () => {
    const dir = await tempDir();
    const file = join(dir, 'in.jsonl');
    const note = 'Summarise the chart: stable on metformin, review the renal function in three months and repeat the HbA1c test.';
    const rows = Array.from({ length: 12 }, (_, i) => ({ mrn: `0048${2900 + (i % 3)}`, dob: `19${61 + (i % 2)}-03-12`, note: i % 2 ? note : `${note} Thanks.`, answer: 'Stable; recheck renal function in three months.' }));
    await (await import('node:fs/promises')).writeFile(file, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
    const outDir = join(dir, 'o');
    const result = await prepareDataset({ inputs: [file], outDir, pii: { action: 'redact' }, mapping: { user: 'Patient MRN: {{mrn}}. {{note}}', assistant: '{{answer}}' }, split: { validation: 0.25, stratifyBy: 'dob' } });
    for (const name of ['report.json', 'report.html']) {
      const text = await readFile(join(outDir, 'report', name), 'utf8');
      for (const value of ['00482900', '00482901', '00482902', '1961-03-12', '1962-03-12']) expect(text, `${name} holds ${value}`).not.toContain(value);
    }
    expect(Object.keys(result.strata ?? {}).sort()).toEqual(['[DOB]', '[DOB] (2)']);
    // Near-duplicates of one note under different MRNs: the pairs the report shows hold none.
    const near = join(dir, 'near.jsonl');
    const long = `${note} Then book the follow-up visit.`;
    await (await import('node:fs/promises')).writeFile(near, Array.from({ length: 12 }, (_, i) => JSON.stringify({ mrn: `0048${2900 + i}`, note: `${long} Word${i % 2}.`, answer: `Stable; recheck renal function in three months (${i}).` })).join('\n'));
    const nearOut = join(dir, 'n');
    const nearResult = await prepareDataset({ inputs: [near], outDir: nearOut, pii: { action: 'redact' }, mapping: { user: 'Patient MRN: {{mrn}}. {{note}}', assistant: '{{answer}}' }, split: { validation: 0 } });
    expect(nearResult.counts.byReason.near_duplicate).toBeGreaterThan(0);
    for (const name of ['report.json', 'report.html']) expect(await readFile(join(nearOut, 'report', name), 'utf8')).not.toMatch(/0048\d{4}/);
  });

  it('redacts the tool definitions too (a description or an enum may hold personal data), and drop finds it there', async () => {
    const dir = await tempDir();
    const file = join(dir, 'tools.jsonl');
    const tools = [{ type: 'function', function: { name: 'notify', description: 'Escalations go to ops.lead@example.org.', parameters: { type: 'object', properties: { to: { type: 'string', enum: ['+44 20 7946 0958', 'desk'] } } } } }];
    const row = (i: number) => ({ messages: [{ role: 'user', content: `Escalate ticket ${i}.` }, { role: 'assistant', content: `Escalated ticket ${i}.` }], tools });
    await (await import('node:fs/promises')).writeFile(file, `${[row(1), row(2)].map((r) => JSON.stringify(r)).join('\n')}\n`);
    const result = await prepareDataset({ inputs: [file], outDir: join(dir, 'o'), pii: { action: 'redact' }, split: { validation: 0 } });
    const written = await readFile(result.files.train, 'utf8');
    expect(written).not.toContain('ops.lead@example.org');
    expect(written).not.toContain('7946 0958');
    expect((await readJsonl(result.files.train))[0]).toMatchObject({ tools: [{ function: { description: 'Escalations go to [EMAIL].', parameters: { properties: { to: { enum: ['[PHONE]', 'desk'] } } } } }] });
    const dropped = await prepareDataset({ inputs: [file], outDir: join(dir, 'd'), pii: { action: 'drop' }, split: { validation: 0 } }).catch((e: unknown) => e);
    expect(dropped).toMatchObject({ code: 'DATA_FAILED' });
  });

  it('finds an IBAN in lower case (near-dedup compares, and the report shows, lower-cased text)', () => {
    expect(findPii('iban de89 3704 0044 0532 0130 00 on file').map((f) => [f.type, f.text])).toEqual([['iban', 'de89 3704 0044 0532 0130 00']]);
    expect(findPii('code ab12 3456 7890 1234 5678 is no iban')).toEqual([]);
  });

  it("report: the near-duplicate pairs shown in the report have their personal data redacted", async () => {
    const dir = await tempDir();
    const file = join(dir, 'near.jsonl');
    const answer = (extra: string) =>
      `Your refund was approved and will reach the card 4111 1111 1111 1111 within five working days; we wrote to margaret.oconnor@example.com with SSN 219-09-9999 on file${extra}.`;
    const rows = [
      { question: 'When will my refund for the duplicate charge on my account arrive?', answer: answer('') },
      { question: 'When will my refund for the duplicate charge on my account arrive?', answer: answer(' as requested') },
      { question: 'What is an escrow account?', answer: 'An account a third party holds until the conditions of a deal are met.' },
    ];
    await (await import('node:fs/promises')).writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n'));
    const result = await prepareDataset({ inputs: [file], outDir: join(dir, 'o'), pii: { action: 'report' }, split: { validation: 0 } });
    const report = JSON.parse(await readFile(result.files.report, 'utf8'));
    expect(report.dedup.near.samples.length).toBe(1);
    const shown = JSON.stringify(report.dedup.near.samples);
    expect(shown).toContain('[CARD]');
    for (const value of ['4111 1111 1111 1111', 'margaret.oconnor@example.com', '219-09-9999']) {
      expect(shown).not.toContain(value);
      expect(await readFile(join(result.outDir, 'report', 'report.html'), 'utf8')).not.toContain(value);
    }
  });

  it('report: counts per type and per split without changing the text', async () => {
    const result = await prepareDataset({ inputs: [FILE], outDir: join(await tempDir(), 'o'), pii: {}, split: { validation: 0.5, seed: 3 } });
    const report = JSON.parse(await readFile(result.files.report, 'utf8'));
    const written = [...(await readJsonl(result.files.train)), ...(await readJsonl(result.files.validation as string))];
    const recount: Record<string, number> = {};
    for (const r of written) for (const m of r.messages as Array<{ content: string }>) for (const f of findPii(m.content)) recount[f.type] = (recount[f.type] ?? 0) + 1;
    const merged: Record<string, number> = {};
    for (const split of ['train', 'validation', 'test']) for (const [k, v] of Object.entries(report.pii.bySplit[split] as Record<string, number>)) merged[k] = (merged[k] ?? 0) + v;
    expect(merged).toEqual(recount);
    expect(report.pii.samples).toEqual([]); // report mode never repeats personal data
    expect(await readFile(result.files.train, 'utf8')).toMatch(/jana\.novak@example\.org|4111 1111 1111 1111|GB82|00482913/);
    // Nor does the HTML page: it shows no example texts in report mode, and says why.
    const html = await readFile(join(result.outDir, 'report', 'report.html'), 'utf8');
    for (const value of PLANTED) expect(html).not.toContain(value);
    expect(html).toMatch(/pii\.action is (&#34;|&quot;|")report/);
  });

  it('CLI --pii redact prints what was found', async () => {
    let out = '';
    const code = await runCli(['prepare', FILE, '--out', join(await tempDir(), 'o'), '--pii', 'redact', '--quiet'], { stdout: (s) => void (out += s), stderr: () => undefined });
    expect(code).toBe(0);
    expect(out).toMatch(/pii: {6}.*email 2.*\(redacted\)/);
  });
});

describe('pii: input paths', () => {
  it('warns, without the path, where an input path holds what looks like personal data; not without pii or for plain paths', async () => {
    const dir = await tempDir();
    const { mkdir, copyFile } = await import('node:fs/promises');
    await mkdir(join(dir, 'MRN_00482913'));
    const personal = join(dir, 'MRN_00482913', 'notes.jsonl');
    const plain = join(dir, 'notes-2024.jsonl');
    await copyFile(FILE, personal);
    await copyFile(FILE, plain);
    const run = (inputs: string[], pii?: { action: 'report' }) => prepareDataset({ inputs, outDir: join(dir, `o${Math.random()}`), pii, dedup: false, split: { validation: 0 } });
    const both = await run([plain, personal], { action: 'report' });
    const warning = both.warnings.find((w) => w.includes('hold what looks like personal data')) as string;
    expect(warning).toMatch(/^the paths of input 2 \(of 2\) hold what looks like personal data \(mrn\)/);
    expect(warning).not.toContain('00482913');
    expect((await run([plain], { action: 'report' })).warnings.some((w) => w.includes('hold what looks like personal data'))).toBe(false);
    expect((await run([personal])).warnings.some((w) => w.includes('hold what looks like personal data'))).toBe(false);
  });
});
