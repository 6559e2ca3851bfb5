import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.js';
import { tempDir } from './helpers/index.js';
import { fakeIo } from './helpers/cli.js';


describe('lora-prep prepare', () => {
  it('prepares files, prints the summary and exits 0', async () => {
    const out = join(await tempDir(), 'o');
    const io = fakeIo();
    const code = await runCli(['prepare', 'fixtures/legal/contracts-qa.tsv', 'fixtures/legal/clauses-semicolon.csv', '--out', out, '--quiet'], io);
    expect(code).toBe(0);
    expect(io.out).toMatch(/30 input rows → 28 kept, 2 rejected/);
    expect(io.out).toMatch(/malformed_row 1 · duplicate 1|duplicate 1 · malformed_row 1/);
    expect(existsSync(join(out, 'train.jsonl'))).toBe(true);
    expect(io.err).toBe('');
  });

  it('--input-format reads inputs of any name as the format given, on the command line or in a config', async () => {
    const dir = await tempDir();
    const text = 'question;answer\nWhat is a lien?;A right to keep property until a debt is paid.\nWhat is bail?;Money paid to release someone awaiting trial.\n';
    await writeFile(join(dir, 'export.txt'), text);
    await writeFile(join(dir, 'other.dat'), text.replace('lien', 'writ'));
    const unknown = fakeIo();
    expect(await runCli(['prepare', join(dir, 'export.txt'), '--out', join(dir, 'o0'), '--quiet'], unknown)).toBe(2);
    expect(unknown.err).toMatch(/cannot tell the file format .*\(CLI: --input-format\)/);

    const io = fakeIo();
    expect(await runCli(['prepare', join(dir, 'export.txt'), join(dir, 'other.dat'), '--input-format', 'csv', '--out', join(dir, 'o1'), '--validation', '0', '--json', '--quiet'], io)).toBe(0);
    const result = JSON.parse(io.out);
    expect(result.counts).toMatchObject({ input: 4, kept: 3, rejected: 1 });

    // A config's input that names its own format keeps it; one that does not takes the flag's.
    await writeFile(join(dir, 'rows.log'), '{"question":"What is a tort?","answer":"A civil wrong."}\n');
    await writeFile(join(dir, 'c.json'), JSON.stringify({ inputs: [{ path: 'rows.log', format: 'jsonl' }, 'export.txt'], outDir: 'o2', split: { validation: 0 } }));
    const fromConfig = fakeIo();
    expect(await runCli(['prepare', '--config', join(dir, 'c.json'), '--input-format', 'csv', '--json', '--quiet'], fromConfig)).toBe(0);
    expect(JSON.parse(fromConfig.out).counts).toMatchObject({ input: 3, kept: 3 });

    const bad = fakeIo();
    expect(await runCli(['prepare', join(dir, 'export.txt'), '--input-format', 'xml', '--out', join(dir, 'o3')], bad)).toBe(2);
    expect(bad.err).toMatch(/--input-format must be csv, tsv, jsonl, json, got "xml"/);
  });

  it('--delimiter takes a tab as \\t or as tab', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'faq.csv'), 'question\tanswer\nWhat is a lien?\tA claim, on property.\nWhat is bail?\tMoney, paid for release.\n');
    for (const tab of ['\\t', 'tab', 'TAB']) {
      const io = fakeIo();
      expect(await runCli(['prepare', join(dir, 'faq.csv'), '--delimiter', tab, '--out', join(dir, `o-${tab.length}-${tab}`.replace(/\\/g, 'b')), '--validation', '0', '--json', '--quiet'], io)).toBe(0);
      expect(JSON.parse(io.out).counts).toMatchObject({ input: 2, kept: 2, rejected: 0 });
    }
  });

  it('--quote none reads every quote as text; another value is named with the other bad flags', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'dump.tsv'), 'question\tanswer\n"Can I cancel?\tYes.\nIs the 27" one in stock?\tNo.\nWhat is bail?\tMoney.\n');
    const io = fakeIo();
    expect(await runCli(['prepare', join(dir, 'dump.tsv'), '--quote', 'none', '--out', join(dir, 'o'), '--validation', '0', '--json', '--quiet'], io)).toBe(0);
    expect(JSON.parse(io.out).counts).toMatchObject({ input: 3, kept: 3, rejected: 0 });
    const bad = fakeIo();
    expect(await runCli(['prepare', join(dir, 'dump.tsv'), '--quote', 'off', '--out', join(dir, 'b')], bad)).toBe(2);
    expect(bad.err).toContain('--quote must be none (no field is quoted) or " (the default), got "off"');
  });

  it('--json prints the result object on stdout', async () => {
    const out = join(await tempDir(), 'o');
    const io = fakeIo();
    const code = await runCli(['prepare', 'fixtures/medical/clinical-qa.jsonl', '--out', out, '--json', '--validation', '0.2', '--seed', '3', '--quiet'], io);
    expect(code).toBe(0);
    const result = JSON.parse(io.out);
    expect(result.counts).toMatchObject({ input: 15, rejected: 2, kept: 13, validation: 3, train: 10 });
    expect(result.files.train).toBe(join(out, 'train.jsonl'));
  });

  it('--json prints a failed run\'s error on stdout as JSON, in every command that takes it', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'bad.jsonl'), '{"question": "What is a lien?", "answer": ""}\n{"question": "What is bail?", "answer": " "}\n');
    const cases: Array<[string[], string, number]> = [
      [['prepare', join(dir, 'bad.jsonl'), '--out', join(dir, 'o'), '--json', '--quiet'], 'DATA_FAILED', 1],
      [['prepare', join(dir, 'none.jsonl'), '--out', join(dir, 'o'), '--json', '--quiet'], 'INPUT_NOT_FOUND', 2],
      [['validate', join(dir, 'none.jsonl'), '--json', '--quiet'], 'INPUT_NOT_FOUND', 2],
      [['stats', join(dir, 'none.jsonl'), '--json', '--quiet'], 'INPUT_NOT_FOUND', 2],
      [['leakage', join(dir, 'none.jsonl'), join(dir, 'bad.jsonl'), '--json', '--quiet'], 'INPUT_NOT_FOUND', 2],
      [['verify', join(dir, 'nothing-here'), '--json'], 'INPUT_NOT_FOUND', 2],
    ];
    for (const [argv, code, exit] of cases) {
      const io = fakeIo();
      expect(await runCli(argv, io), argv.join(' ')).toBe(exit);
      const printed = JSON.parse(io.out) as { error: { code: string; message: string } };
      expect(printed.error.code, argv.join(' ')).toBe(code);
      expect(io.err).toContain(`lora-prep: ${code}: ${printed.error.message}`);
    }
    // A problem with the arguments themselves, with --json among them: printed as JSON too.
    for (const argv of [
      ['prepare', join(dir, 'bad.jsonl'), '--out', join(dir, 'u'), '--max-rows', 'abc', '--json'],
      ['prepare', '--config', join(dir, 'missing.json'), '--json'],
      ['validate', join(dir, 'bad.jsonl'), '--targte', 'openai', '--json'],
      ['stats', join(dir, 'bad.jsonl'), '--max-tokens', '-3', '--json'],
    ]) {
      const io = fakeIo();
      expect(await runCli(argv, io), argv.join(' ')).toBe(2);
      expect((JSON.parse(io.out) as { error: { code: string } }).error.code, argv.join(' ')).toBe('OPTION_INVALID');
    }
    // Without --json, stdout stays empty.
    const plain = fakeIo();
    expect(await runCli(['stats', join(dir, 'none.jsonl'), '--quiet'], plain)).toBe(2);
    expect(plain.out).toBe('');
  });

  it('maps --user/--assistant templates, --target, --format and --max-tokens', async () => {
    const out = join(await tempDir(), 'o');
    const io = fakeIo();
    const code = await runCli(
      ['prepare', 'fixtures/legal/contracts-qa.tsv', '--out', out, '--user', '{{question}} ({{jurisdiction}})', '--assistant', '{{answer}}', '--target', 'axolotl', '--format', 'instruction', '--max-tokens', '100000', '--validation', '0', '--json', '--quiet'],
      io,
    );
    expect(code).toBe(0);
    const first = JSON.parse((await readFile(join(out, 'train.jsonl'), 'utf8')).split('\n')[0] as string);
    expect(Object.keys(first)).toEqual(['instruction', 'input', 'output']);
    expect(first.instruction).toMatch(/\(.+\)$/);
  });

  it('passes the budget, tokenizer and cost flags through', async () => {
    const out = join(await tempDir(), 'o');
    const io = fakeIo();
    const code = await runCli(
      ['prepare', 'fixtures/finance/advisor-chat.jsonl', '--out', out, '--tokenizer', 'fixtures/tokenizers/tiny-chatml', '--max-tokens', '40', '--overlong', 'truncate', '--min-tokens', '5', '--price', '8', '--epochs', '2', '--concurrency', '1', '--json', '--quiet'],
      io,
    );
    expect(code).toBe(0);
    const result = JSON.parse(io.out);
    expect(result.tokenizer).toBe('fixtures/tokenizers/tiny-chatml');
    expect(result.tokens.max).toBeLessThanOrEqual(40);
    expect(result.truncated).toBeGreaterThan(0);
    expect(result.cost).toMatchObject({ epochs: 2, epochsFrom: 'given', perMillionTokens: 8 });
  });

  it('passes the dedup and split flags through, and prints sizes per stratum', async () => {
    const out = join(await tempDir(), 'o');
    const io = fakeIo();
    const code = await runCli(
      ['prepare', 'fixtures/legal/contracts-qa.tsv', 'fixtures/finance/fiqa-qa.csv', '--out', out, '--stratify-by', 'domain', '--group-by', 'case_id', '--near-threshold', '0.9', '--near-action', 'group', '--validation', '0.2', '--quiet'],
      io,
    );
    expect(code).toBe(0);
    const report = JSON.parse(await readFile(join(out, 'report', 'report.json'), 'utf8'));
    expect(report.dedup.near).toMatchObject({ threshold: 0.9, action: 'group' });
    expect(report.splits).toMatchObject({ stratifyBy: 'domain', groupBy: 'case_id' });
    expect(io.out).toMatch(/\(none\): train \d+ · validation \d+/);
  });

  it('passes --dedup-key, --near-keep, --pii-types and --max-field-chars through', async () => {
    const dir = await tempDir();
    const input = join(dir, 'rows.csv');
    const words = (from: number, n: number) => Array.from({ length: n }, (_, i) => `term${from + i}`).join(' ');
    const base = `The indemnity clause ${words(0, 40)}.`;
    const rows = [
      { question: 'What does clause 4 cover?', answer: 'Losses from third-party claims.' },
      { question: 'What does clause 4 cover?', answer: 'Only direct losses, not consequential ones.' },
      { question: 'Explain the indemnity.', answer: base },
      { question: 'Explain the indemnity clause.', answer: `${base} It survives termination of the agreement.` },
      { question: 'Who is the contact?', answer: 'Write to jane.doe@example.com or call +1 415 555 0100.' },
      { question: 'Too long?', answer: 'x'.repeat(500) },
    ];
    const cell = (v: string) => `"${v.replaceAll('"', '""')}"`;
    await writeFile(input, ['question,answer', ...rows.map((r) => `${cell(r.question)},${cell(r.answer)}`)].join('\n'));
    const run = async (flags: string[]) => {
      const out = join(dir, `o${Math.random().toString(36).slice(2)}`);
      expect(await runCli(['prepare', input, '--out', out, '--mapping', 'qa', '--validation', '0', '--quiet', ...flags], fakeIo())).toBe(0);
      const report = JSON.parse(await readFile(join(out, 'report', 'report.json'), 'utf8'));
      const rejected = (await readFile(join(out, 'report', 'rejected.jsonl'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
      const kept = (await readFile(join(out, 'train.jsonl'), 'utf8')).split('\n').filter(Boolean);
      return { report, rejected, kept };
    };
    const defaults = await run(['--pii', 'report']);
    expect(defaults.rejected.map((r) => r.reason)).toEqual(['near_duplicate']);
    expect(defaults.kept.some((l) => l.includes('survives termination'))).toBe(false);
    expect(Object.keys(defaults.report.pii.found).sort()).toEqual(['email', 'phone']);

    const flagged = await run(['--dedup-key', 'prompt', '--near-keep', 'longest', '--pii', 'report', '--pii-types', 'email', '--max-field-chars', '400']);
    expect(flagged.report.dedup.exact).toMatchObject({ key: 'prompt' });
    expect(flagged.rejected.map((r) => r.reason).sort()).toEqual(['duplicate', 'field_too_long', 'near_duplicate']);
    expect(flagged.kept.some((l) => l.includes('survives termination'))).toBe(true);
    expect(Object.keys(flagged.report.pii.found)).toEqual(['email']);
  });

  it('refuses --pii-types without --pii, and --near-keep or --dedup-key with --dedup none', async () => {
    for (const flags of [['--pii-types', 'email'], ['--dedup', 'none', '--near-keep', 'longest'], ['--dedup', 'none', '--dedup-key', 'prompt']]) {
      const io = fakeIo();
      expect(await runCli(['prepare', 'fixtures/medical/patient-faq.json', '--out', join(await tempDir(), 'o'), '--quiet', ...flags], io)).toBe(2);
      expect(io.err).toMatch(/--pii-types goes with --pii|need near dedup|needs dedup/);
    }
  });

  it.each([
    [['--dedup', 'none'], { exact: null, near: null }],
    [['--dedup', 'exact'], { exact: { key: 'conversation' }, near: null }],
    [['--dedup', 'near'], { exact: { key: 'conversation' }, near: { threshold: 0.8 } }],
  ])('%j', async (flags, expected) => {
    const out = join(await tempDir(), 'o');
    expect(await runCli(['prepare', 'fixtures/medical/patient-faq.json', '--out', out, '--quiet', ...flags], fakeIo())).toBe(0);
    const report = JSON.parse(await readFile(join(out, 'report', 'report.json'), 'utf8'));
    expect(report.dedup).toMatchObject(expected);
  });

  it('reads options from --config, with flags taking precedence', async () => {
    const dir = await tempDir();
    const config = join(dir, 'cfg.json');
    // Relative paths in a config are relative to its folder: this one is elsewhere, so absolute.
    await writeFile(config, JSON.stringify({ inputs: [join(process.cwd(), 'fixtures/medical/patient-faq.json')], outDir: join(dir, 'from-config'), split: { validation: 0.5 } }));
    const io = fakeIo();
    const code = await runCli(['prepare', '--config', config, '--out', join(dir, 'from-flag'), '--json', '--quiet'], io);
    expect(code).toBe(0);
    expect(JSON.parse(io.out).counts.validation).toBe(7);
    expect(existsSync(join(dir, 'from-flag', 'train.jsonl'))).toBe(true);
    expect(existsSync(join(dir, 'from-config'))).toBe(false);
  });

  it.each([
    ['no --out', ['prepare', 'fixtures/medical/clinical-qa.jsonl'], /--out DIR is required/],
    ['no input', ['prepare', '--out', 'x'], /at least one input/],
    ['an unknown flag', ['prepare', 'a.csv', '--out', 'x', '--frobnicate'], /frobnicate/],
    ['a bad number', ['prepare', 'a.csv', '--out', 'x', '--validation', 'lots'], /--validation must be a number/],
    ['a bad option value', ['prepare', 'fixtures/medical/clinical-qa.jsonl', '--out', 'x', '--target', 'nope'], /OPTION_INVALID.*target/s],
    ['a missing input', ['prepare', 'fixtures/none.jsonl', '--out', 'x'], /INPUT_NOT_FOUND/],
    ['half a template', ['prepare', 'a.csv', '--out', 'x', '--user', '{{q}}'], /--user and --assistant go together/],
    ['a bad --dedup', ['prepare', 'a.csv', '--out', 'x', '--dedup', 'fuzzy'], /--dedup must be near, exact or none/],
    ['near settings without near dedup', ['prepare', 'a.csv', '--out', 'x', '--dedup', 'exact', '--near-threshold', '0.9'], /need near dedup/],
    ['an unknown command', ['prepair'], /unknown command "prepair"/],
  ])('exits 2 on %s, saying why', async (_name, argv, message) => {
    const io = fakeIo();
    expect(await runCli(argv, io)).toBe(2);
    expect(io.err).toMatch(message);
  });

  it('names every bad flag at once, with the options\' own problems, and suggests the flag a misspelt one meant', async () => {
    const io = fakeIo();
    expect(await runCli(['prepare', 'fixtures/medical/clinical-qa.jsonl', '--out', 'x', '--seed', 'abc', '--dedup', 'fuzzy', '--validation', 'x', '--target', 'nosuch'], io)).toBe(2);
    expect(io.err).toContain('lora-prep prepare: invalid options:\n  - --validation must be a number, got "x"\n  - --seed must be a number, got "abc"\n  - --dedup must be near, exact or none, got "fuzzy"\n  - target: ');
    expect(io.err).toMatch(/ {2}- target: .*got "nosuch"/);
    for (const [command, argv, meant] of [
      ['prepare', ['prepare', 'a.csv', '--out', 'x', '--max-token', '500'], '--max-tokens'],
      ['validate', ['validate', 'a.jsonl', '--targte', 'openai'], '--target'],
      ['stats', ['stats', 'a.jsonl', '--tokeniser', 'o200k_base'], '--tokenizer'],
    ] as const) {
      const typo = fakeIo();
      expect(await runCli([...argv], typo)).toBe(2);
      expect(typo.err).toContain(`lora-prep ${command}: unknown option ${argv[argv.length - 2]} (did you mean ${meant}?)`);
      expect(typo.err).not.toContain("after '--'");
    }
    // Flags that go with another, or take a set form, are listed with the rest; a price that is no
    // number is named once (not again as a missing pricing.perMillionTokens).
    const more = fakeIo();
    expect(await runCli(['prepare', 'fixtures/medical/clinical-qa.jsonl', '--out', 'x', '--price', 'abc', '--epochs', '2', '--fail-on', 'foo', '--pii-types', 'email', '--seed', 'x'], more)).toBe(2);
    expect(more.err).toContain('invalid options:\n  - --price must be a number, got "abc"\n  - --seed must be a number, got "x"\n  - --fail-on takes rejected=FRACTION or reasons=CODE,CODE, got "foo"\n  - --pii-types goes with --pii report|redact|drop\n');
    expect(more.err).not.toContain('pricing');
    const epochs = fakeIo();
    expect(await runCli(['prepare', 'fixtures/medical/clinical-qa.jsonl', '--out', 'x', '--epochs', '2', '--seed', 'x'], epochs)).toBe(2);
    expect(epochs.err).toContain('  - --epochs goes with --price\n  - --seed must be a number, got "x"');
    const far = fakeIo();
    expect(await runCli(['prepare', 'a.csv', '--out', 'x', '--frobnicate'], far)).toBe(2);
    expect(far.err).toContain('unknown option --frobnicate\n');
  });

  it('exits 2 on an input it cannot read whole (a cut gzip) and on a split too small for the target', async () => {
    const dir = await tempDir();
    const gz = gzipSync(Buffer.from(`${JSON.stringify({ question: 'q?', answer: 'a.' })}\n`.repeat(2_000)));
    await writeFile(join(dir, 'cut.jsonl.gz'), gz.subarray(0, gz.length - 40));
    const cut = fakeIo();
    expect(await runCli(['prepare', join(dir, 'cut.jsonl.gz'), '--out', join(dir, 'a'), '--quiet'], cut)).toBe(2);
    expect(cut.err).toMatch(/INPUT_UNREADABLE/);
    const small = fakeIo();
    expect(await runCli(['prepare', 'fixtures/medical/clinical-qa.jsonl', '--target', 'mlx-lm', '--out', join(dir, 'b'), '--quiet'], small)).toBe(2);
    expect(small.err).toMatch(/SPLIT_TOO_SMALL/);
  });

  it('exits 2 when --out is not empty, and says how to proceed', async () => {
    const out = await tempDir();
    await writeFile(join(out, 'x'), '');
    const io = fakeIo();
    expect(await runCli(['prepare', 'fixtures/medical/clinical-qa.jsonl', '--out', out], io)).toBe(2);
    expect(io.err).toMatch(/OUTPUT_NOT_EMPTY.*--overwrite/s);
  });

  it('prints the version and the help', async () => {
    const io = fakeIo();
    expect(await runCli(['--version'], io)).toBe(0);
    const pkg = JSON.parse(await readFile('package.json', 'utf8'));
    expect(io.out.trim()).toBe(pkg.version);
    const help = fakeIo();
    expect(await runCli(['--help'], help)).toBe(0);
    expect(help.out).toMatch(/lora-prep prepare <input\.\.\.> --out DIR/);
    // A tab is named, not printed: `\t or tab`.
    expect(help.out).toContain('CSV delimiter, \\t or tab for a tab');
    expect(help.out).not.toContain('\t');
  });

  it('prints one command\'s help for COMMAND --help and help COMMAND; no command is a usage error on stderr', async () => {
    for (const command of ['prepare', 'validate', 'verify', 'stats', 'leakage', 'init']) {
      for (const argv of [[command, '--help'], ['help', command]]) {
        const io = fakeIo();
        expect(await runCli(argv, io)).toBe(0);
        expect(io.out).toContain(`Options of ${command}`);
        expect(io.out).toMatch(new RegExp(`^Usage:\n  lora-prep ${command} `));
        for (const other of ['prepare', 'validate', 'verify', 'stats', 'leakage', 'init'].filter((c) => c !== command)) expect(io.out).not.toContain(`Options of ${other}`);
      }
    }
    const none = fakeIo();
    expect(await runCli([], none)).toBe(2);
    expect(none.out).toBe('');
    expect(none.err).toMatch(/^Usage:/);
    const typo = fakeIo();
    expect(await runCli(['valdate', 'x.jsonl'], typo)).toBe(2);
    expect(typo.err).toContain('unknown command "valdate" (did you mean validate?)');
  });
});

describe('the CLI refuses what it would otherwise get wrong', () => {
  it('exits 2 on a --fail-on reason that is no reason code, naming it', async () => {
    const dir = await tempDir();
    const file = join(dir, 'rows.csv');
    await writeFile(file, 'question,answer\nq1,a1\nq1,a1\n');
    const io = fakeIo();
    expect(await runCli(['prepare', file, '--out', join(dir, 'o'), '--fail-on', 'reasons=duplicat', '--quiet'], io)).toBe(2);
    expect(io.err).toMatch(/OPTION_INVALID[\s\S]*failOn\.reasons\.0[\s\S]*"duplicate"[\s\S]*got "duplicat"/);
    expect(existsSync(join(dir, 'o'))).toBe(false);
  });

  it('exits 2 on the same input file given twice, or also inside a folder given', async () => {
    const dir = await tempDir();
    const file = join(dir, 'rows.csv');
    await writeFile(file, 'question,answer\nq1,a1\n');
    for (const inputs of [[file, file], [dir, join(dir, '.', 'rows.csv')]]) {
      const io = fakeIo();
      expect(await runCli(['prepare', ...inputs, '--out', join(dir, 'o'), '--quiet'], io)).toBe(2);
      expect(io.err).toMatch(/OPTION_INVALID: inputs: .*rows\.csv is the same file as .*rows\.csv/);
    }
  });

  it('reads numbers written as decimals only (no hexadecimal, no padding)', async () => {
    const dir = await tempDir();
    for (const value of ['0x10', ' 100', '']) {
      const io = fakeIo();
      expect(await runCli(['prepare', 'x.csv', '--out', join(dir, 'o'), `--max-tokens=${value}`], io)).toBe(2);
      expect(io.err).toContain(`--max-tokens must be a number, got ${JSON.stringify(value)}`);
    }
  });

  it('stats takes --help, and refuses a budget that is not a positive integer', async () => {
    const help = fakeIo();
    expect(await runCli(['stats', '--help'], help)).toBe(0);
    expect(help.out).toContain('Options of stats:');
    for (const value of ['-1', '0', '1.5']) {
      const io = fakeIo();
      expect(await runCli(['stats', 'fixtures/targets/conversations.jsonl', `--max-tokens=${value}`], io)).toBe(2);
      expect(io.err).toContain(`--max-tokens must be a positive integer, got ${value}`);
    }
  });
});

describe('control characters in what the CLI prints', () => {
  it('are written as escapes, not obeyed: a file name that would retitle and clear the terminal, in an error and in a run summary', async () => {
    const dir = await tempDir();
    const bad = join(dir, 'x\x1b]0;pwned\x07\x1b[2J.jsonl');
    await writeFile(bad, '{"a":1}\n');
    const io = fakeIo({ isTTY: true });
    expect(await runCli(['prepare', bad, '--out', join(dir, 'o')], io)).toBe(2);
    expect(io.err).toContain('x\\u001b]0;pwned\\u0007\\u001b[2J.jsonl');
    expect(io.err).not.toMatch(/\x1b\]|\x07|\x1b\[2J/);
    // A run that works: its summary names the output folder; the progress line keeps its own \r\x1b[K.
    const good = join(dir, 'y.jsonl');
    await writeFile(good, Array.from({ length: 12 }, (_, i) => JSON.stringify({ question: `Question number ${i} about budgets?`, answer: `Answer ${i}.` })).join('\n'));
    const run = fakeIo({ isTTY: true });
    expect(await runCli(['prepare', good, '--out', join(dir, 'o\x1b[31m')], run)).toBe(0);
    expect(run.out + run.err).not.toMatch(/\x1b\[31m/);
    expect(run.out).toContain('o\\u001b[31m');
    expect(run.err).toContain('\r\x1b[K');
  });
});
