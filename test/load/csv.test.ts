import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isLoraPrepError } from '../../src/errors.js';
import { loadCsv, loadRecords, RAW_EXCERPT_CHARS, type LoadOptions } from '../../src/load/index.js';
import { chunked, expectLoaded, lazySource, runLoad, writeTemp, type LoadCase } from '../helpers/load-helpers.js';

const cases: LoadCase[] = [
  {
    name: 'LF line endings',
    text: 'q,a\nhi,hello\nbye,ciao\n',
    rows: [
      [2, { q: 'hi', a: 'hello' }],
      [3, { q: 'bye', a: 'ciao' }],
    ],
  },
  {
    name: 'CRLF line endings, no newline at the end',
    text: 'q,a\r\nhi,hello\r\nbye,ciao',
    rows: [
      [2, { q: 'hi', a: 'hello' }],
      [3, { q: 'bye', a: 'ciao' }],
    ],
  },
  {
    name: 'lone CR line endings (old Mac)',
    text: 'q,a\rhi,hello\r\rbye,ciao\r',
    rows: [
      [2, { q: 'hi', a: 'hello' }],
      [4, { q: 'bye', a: 'ciao' }],
    ],
  },
  {
    name: 'mixed line endings in one file',
    text: 'q,a\r\nx,1\ny,2\r\n\nz,3\r\rw,4\n',
    rows: [
      [2, { q: 'x', a: '1' }],
      [3, { q: 'y', a: '2' }],
      [5, { q: 'z', a: '3' }],
      [7, { q: 'w', a: '4' }],
    ],
  },
  {
    name: 'quoted delimiter and doubled quotes',
    text: 'q,a\n"a, b","say ""hi"""\n',
    rows: [[2, { q: 'a, b', a: 'say "hi"' }]],
  },
  {
    name: 'a quoted field spanning lines (LF) moves the next record down',
    text: 'q,a\n"line one\nline two\nline three",x\nnext,y\n',
    rows: [
      [2, { q: 'line one\nline two\nline three', a: 'x' }],
      [5, { q: 'next', a: 'y' }],
    ],
  },
  {
    name: 'a quoted field spanning lines (CRLF inside and between records)',
    text: 'q,a\r\n1,"x\r\ny"\r\n2,"p\r\n\r\nq"\r\n3,z\r\n',
    rows: [
      [2, { q: '1', a: 'x\r\ny' }],
      [4, { q: '2', a: 'p\r\n\r\nq' }],
      [7, { q: '3', a: 'z' }],
    ],
  },
  {
    name: 'blank lines between records are not rows but count as lines',
    text: '\nq,a\n\n\nx,1\r\n\r\n\ny,2\n\n',
    rows: [
      [5, { q: 'x', a: '1' }],
      [8, { q: 'y', a: '2' }],
    ],
  },
  {
    name: 'whitespace-only lines are blank lines',
    text: 'q,a\n   \nx,1\n\t \ny,2\n',
    rows: [
      [3, { q: 'x', a: '1' }],
      [5, { q: 'y', a: '2' }],
    ],
  },
  {
    name: 'a quoted empty value in a one-column file is a row, not a blank line',
    text: 'q\n""\nx\n',
    rows: [
      [2, { q: '' }],
      [3, { q: 'x' }],
    ],
  },
  {
    name: 'header names are trimmed; a UTF-8 BOM is not part of the first name',
    text: '\uFEFF question , answer\nhi,hello\n',
    rows: [[2, { question: 'hi', answer: 'hello' }]],
  },
  {
    name: 'an empty header name becomes column_N',
    text: ',q,,a\n0,hi,x,hello\n',
    rows: [[2, { column_1: '0', q: 'hi', column_3: 'x', a: 'hello' }]],
  },
  {
    name: 'duplicate header names become name_2, name_3 with a warning',
    text: 'a,b,a,a,a_2\n1,2,3,4,5\n',
    rows: [[2, { a: '1', b: '2', a_3: '3', a_4: '4', a_2: '5' }]],
    warnings: [/^dup\.csv: the header repeats column names.*column 3 "a" → "a_3".*column 4 "a" → "a_4"/],
    file: 'dup.csv',
  },
  {
    name: 'cells stay strings (no casting)',
    text: 'n,b,d,e\n007,true,2024-01-01,\n',
    rows: [[2, { n: '007', b: 'true', d: '2024-01-01', e: '' }]],
  },
  {
    name: 'a row with too many fields is rejected, the rest read on',
    text: 'a,b,c,d\n1,2,3,4\n1,2,3,4,5\n6,7,8,9\n',
    rows: [
      [2, { a: '1', b: '2', c: '3', d: '4' }],
      [4, { a: '6', b: '7', c: '8', d: '9' }],
    ],
    rejected: [[3, 'malformed_row', 'expected 4 fields as in the header, got 5']],
  },
  {
    name: 'a delimiter at the end of data rows: the empty field after it is left out, with a warning',
    text: 'q,a\nWhat is APR?,The yearly rate.,\nWhat is a lien?,A claim on property.,\nWhat is bail?,"Money, paid to release someone."\n',
    rows: [
      [2, { q: 'What is APR?', a: 'The yearly rate.' }],
      [3, { q: 'What is a lien?', a: 'A claim on property.' }],
      [4, { q: 'What is bail?', a: 'Money, paid to release someone.' }],
    ],
    warnings: [/^data\.csv: 2 rows \(the first on line 2\) end with a delimiter the header does not: the empty field after it was left out\.$/],
  },
  {
    name: 'a CR alone in an unquoted cell of a file whose lines end with LF or CRLF cuts its row: said in a warning',
    text: 'question,answer\nQ1?,A1 part\rrest of it\nQ2?,"A2\rquoted"\r\nQ3?,A3\n',
    rows: [
      [2, { question: 'Q1?', answer: 'A1 part' }],
      [4, { question: 'Q2?', answer: 'A2\rquoted' }],
      [6, { question: 'Q3?', answer: 'A3' }],
    ],
    rejected: [[3, 'malformed_row', 'expected 2 fields as in the header, got 1']],
    warnings: [/^data\.csv: 1 row \(the first on line 2\) ends at a carriage return alone \(CR\), though the file's lines end with a line feed \(LF or CRLF\): each such CR was read as a line break/],
  },
  {
    name: 'a CR alone that cuts the first cell: the part after it, whole in its count, is kept; the warning names the row',
    text: 'question,answer\nQ1 part\rrest?,A1\nQ2?,A2\n',
    rows: [
      [3, { question: 'rest?', answer: 'A1' }],
      [4, { question: 'Q2?', answer: 'A2' }],
    ],
    rejected: [[2, 'malformed_row', 'expected 2 fields as in the header, got 1']],
    warnings: [/^data\.csv: 1 row \(the first on line 2\) ends at a carriage return alone/],
  },
  {
    name: 'a file whose lines end with a CR alone (classic Mac OS) reads without a warning',
    text: 'question,answer\rQ1?,A1\rQ2?,A2\r',
    rows: [
      [2, { question: 'Q1?', answer: 'A1' }],
      [3, { question: 'Q2?', answer: 'A2' }],
    ],
  },
  {
    name: 'a delimiter at the end of a row where the rows before it have none: a value with an unquoted delimiter, rejected',
    text: 'question,answer\nWhat is APR?,The yearly rate.\nWhere is Paris, France?,\nWhat is a lien?,A claim on property.\n',
    rows: [
      [2, { question: 'What is APR?', answer: 'The yearly rate.' }],
      [4, { question: 'What is a lien?', answer: 'A claim on property.' }],
    ],
    rejected: [[3, 'malformed_row', /^expected 2 fields as in the header, got 3; the last is empty: the row ends with a delimiter, which the rows of this file do not \(line 2 does not\)/]],
  },
  {
    name: 'a stray quote that joins comma-separated rows up to an inch mark: kept, with a warning',
    text: 'question,answer\nQ1?,A1\n"Size of TV?,Big\nQ3?,A3\nQ4?,A4\nHow big is 5",Very\nQ6?,A6\n',
    rows: [
      [2, { question: 'Q1?', answer: 'A1' }],
      [3, { question: 'Size of TV?,Big\nQ3?,A3\nQ4?,A4\nHow big is 5', answer: 'Very' }],
      [7, { question: 'Q6?', answer: 'A6' }],
    ],
    warnings: [/^data\.csv: 1 row \(the first on line 3\) has a quoted field over several lines whose lines each read as a row of the file, as when a stray quote/],
  },
  {
    name: 'prose over lines in a quoted cell, commas and all, is no joined row',
    text: 'question,answer\nWhat does the letter say?,"Dear Sir,\nthank you, and I agree, in part.\nRegards"\nQ2?,"Paid, in full,\non time"\nWhere is it?,"221B Baker Street, London\nOpen Monday to Friday, 9 to 5"\n',
    rows: [
      [2, { question: 'What does the letter say?', answer: 'Dear Sir,\nthank you, and I agree, in part.\nRegards' }],
      [5, { question: 'Q2?', answer: 'Paid, in full,\non time' }],
      [7, { question: 'Where is it?', answer: '221B Baker Street, London\nOpen Monday to Friday, 9 to 5' }],
    ],
  },
  {
    name: 'the header repeated with its columns in another order: rejected, and the rows after it read by that order',
    text: 'question,answer\nQ1?,A1\nAnswer,Question\nA2,Q2?\nquestion,answer\nQ3?,A3\n',
    rows: [
      [2, { question: 'Q1?', answer: 'A1' }],
      [4, { question: 'Q2?', answer: 'A2' }],
      [6, { question: 'Q3?', answer: 'A3' }],
    ],
    rejected: [
      [3, 'malformed_row', 'the row repeats the header (line 1) in another order: exports joined with their headers? It is not data'],
      [5, 'malformed_row', 'the row repeats the header (line 1): files joined with their headers (cat a.csv b.csv)? It is not data'],
    ],
    warnings: [/^data\.csv: line 3 repeats the header with its columns in another order \("Answer", "Question"\): the rows after it were read by that order\.$/],
  },
  {
    name: 'numbers as column names (pandas 0,1, a rating scale) are no header when a row holds them: data, in the header\'s order',
    text: '0,1\nWhat is 3 minus 2,1\n1,0\nWhat is 2 plus 2,4\n',
    rows: [
      [2, { 0: 'What is 3 minus 2', 1: '1' }],
      [3, { 0: '1', 1: '0' }],
      [4, { 0: 'What is 2 plus 2', 1: '4' }],
    ],
  },
  {
    name: 'a row of ratings under a header of scale points is data',
    text: 'question,1,2,3,4,5\nHow satisfied are you with support,3,5,10,2,1\n',
    rows: [[2, { question: 'How satisfied are you with support', 1: '3', 2: '5', 3: '10', 4: '2', 5: '1' }]],
  },
  {
    name: 'the header repeated in other letters is no data; a header of other columns is rejected with a warning',
    text: 'question,answer,id\nQ1?,A1,1\nQuestion,Answer,ID\nQ2?,A2,2\nquestion,answer,source\nQ3?,A3,web\n',
    rows: [
      [2, { question: 'Q1?', answer: 'A1', id: '1' }],
      [4, { question: 'Q2?', answer: 'A2', id: '2' }],
      [6, { question: 'Q3?', answer: 'A3', id: 'web' }],
    ],
    rejected: [
      [3, 'malformed_row', 'the row repeats the header (line 1), in other letters: exports joined with their headers? It is not data'],
      [5, 'malformed_row', 'the row looks like a header, not data: it names columns of the header (line 1) and others'],
    ],
    warnings: [/^data\.csv: line 5 looks like a header of other columns \("source" beside 2 of line 1's\)/],
  },
  {
    name: 'rows of empty fields (below a spreadsheet\'s data) are blank lines; a quoted empty row is data',
    text: 'q,a\nhi,hello\n,\n , \n"",""\n',
    rows: [
      [2, { q: 'hi', a: 'hello' }],
      [5, { q: '', a: '' }],
    ],
  },
  {
    name: 'the header repeated (files joined with their headers, BOM and all) is rejected as no data',
    text: 'question,answer\nhi,hello\n\uFEFFquestion,answer\nbye,ciao\n',
    rows: [
      [2, { question: 'hi', answer: 'hello' }],
      [4, { question: 'bye', answer: 'ciao' }],
    ],
    rejected: [[3, 'malformed_row', /^the row repeats the header \(line 1\): files joined with their headers/]],
  },
  {
    name: 'a repeated header is matched as written: padded names, a trailing delimiter',
    text: 'question, answer,\nhi, hello,\nquestion, answer,\nbye, ciao,\n',
    rows: [
      [2, { question: 'hi', answer: ' hello', column_3: '' }],
      [4, { question: 'bye', answer: ' ciao', column_3: '' }],
    ],
    rejected: [[3, 'malformed_row', /^the row repeats the header/]],
    warnings: [],
  },
  {
    name: 'inch marks in a TSV, and a quoted cell over lines without a tab: no warning',
    text: 'question\tanswer\nDoes the 27" screen tilt?\tYes.\nIs it 4K?\tNo, 1440p.\nWhat about the 32"?\tIt tilts.\n"Multi\nline"\tfine\n',
    file: 'p.tsv',
    rows: [
      [2, { question: 'Does the 27" screen tilt?', answer: 'Yes.' }],
      [3, { question: 'Is it 4K?', answer: 'No, 1440p.' }],
      [4, { question: 'What about the 32"?', answer: 'It tilts.' }],
      [5, { question: 'Multi\nline', answer: 'fine' }],
    ],
  },
  {
    name: 'rows joined by a quote opening a field and closed by an inch mark before the delimiter: kept, with a warning',
    text: 'question\tanswer\n"Can I cancel my order\tYes.\nDoes the 27"\tscreen tilt?\nWhat is bail?\tMoney.\n',
    file: 'j.tsv',
    rows: [
      [2, { question: 'Can I cancel my order\tYes.\nDoes the 27', answer: 'screen tilt?' }],
      [4, { question: 'What is bail?', answer: 'Money.' }],
    ],
    warnings: [/^j\.tsv: 1 row \(the first on line 2\) has a quoted field over several lines that holds a tab, .*pass quote: false \(CLI --quote none\)\.$/],
  },
  {
    name: 'quote: false reads every quote as text: a stray one swallows nothing, and no inch mark closes a field',
    text: 'question\tanswer\n"Can I cancel my order\tYes, within 30 days.\nDoes the 27" screen tilt?\tYes.\nWhat is "APR"?\t"Annual" rate\n',
    file: 'dump.tsv',
    options: { quote: false },
    rows: [
      [2, { question: '"Can I cancel my order', answer: 'Yes, within 30 days.' }],
      [3, { question: 'Does the 27" screen tilt?', answer: 'Yes.' }],
      [4, { question: 'What is "APR"?', answer: '"Annual" rate' }],
    ],
  },
  {
    name: 'a row with too few fields is rejected',
    text: 'a,b,c\n1,2\n"multi\nline",x,y\n',
    rows: [[3, { a: 'multi\nline', b: 'x', c: 'y' }]],
    rejected: [[2, 'malformed_row', 'expected 3 fields as in the header, got 2']],
  },
  {
    name: 'a malformed row spanning lines is rejected at its first line',
    text: 'a,b\n"one\ntwo",x,y\nz,w\n',
    rows: [[4, { a: 'z', b: 'w' }]],
    rejected: [[2, 'malformed_row', 'expected 2 fields as in the header, got 3; it runs over lines 2–3, joined by a quoted field: check the quotes on line 2 (a stray quote joins the rows up to the next quote)']],
  },
  {
    name: 'a stray quote inside an unquoted field is kept (relaxed quotes)',
    text: 'name,size\n12" pipe,3\nthe "best" one,4\n',
    rows: [
      [2, { name: '12" pipe', size: '3' }],
      [3, { name: 'the "best" one', size: '4' }],
    ],
  },
  {
    name: 'an unterminated quote: rows before it kept, the rest rejected at the line it opened',
    text: 'a,b\n1,2\n\n3,"never closed\n4,5\n6,7\n',
    rows: [[2, { a: '1', b: '2' }]],
    rejected: [[4, 'malformed_row', /quote opened in this record is never closed, so the rest of the file \(lines 4–6\) was read as one field/]],
    // Said where the run's summary shows it too: one rejected row holds every row after it.
    warnings: [/^data\.csv: the quote opened on line 4 is never closed, so lines 4–6 \(3 lines, every row in them\) were read as one field and rejected as one malformed_row: .*pass quote: false \(CLI --quote none\)\.$/],
  },
  {
    name: 'an unterminated quote on the last line',
    text: 'a,b\n1,2\n3,"x',
    rows: [[2, { a: '1', b: '2' }]],
    rejected: [[3, 'malformed_row', /\(line 3\) was read as one field/]],
  },
  {
    name: 'an unterminated quote in the header: one malformed row and a warning',
    text: '"q,a\nx,y\n',
    file: 'head.csv',
    rows: [],
    rejected: [[1, 'malformed_row', /\(lines 1–2\) was read as one field/]],
    warnings: [/^head\.csv: the quote opened on line 1 is never closed, so lines 1–2/, /^head\.csv: the header row could not be read \(line 1\)/],
  },
  {
    name: 'a header with __proto__ and constructor cannot pollute prototypes',
    text: '__proto__,constructor,prototype\n{"polluted":1},x,y\n',
    rows: [[2, { ['__proto__']: '{"polluted":1}', constructor: 'x', prototype: 'y' }]],
  },
  {
    name: 'a header only: no rows, a warning',
    text: 'q,a\n',
    file: 'header.csv',
    rows: [],
    warnings: [/^header\.csv: the file holds a header but no data rows/],
  },
  {
    name: 'an empty file: no rows, a warning',
    text: '',
    file: 'empty.csv',
    rows: [],
    warnings: [/^empty\.csv: the file is empty/],
  },
  {
    name: 'sniffs ;',
    text: 'name;price\nfoo;1,5\nbar;2,0\n',
    rows: [
      [2, { name: 'foo', price: '1,5' }],
      [3, { name: 'bar', price: '2,0' }],
    ],
  },
  {
    name: 'sniffs tab',
    text: 'q\ta\nhello, world\tok\n',
    rows: [[2, { q: 'hello, world', a: 'ok' }]],
  },
  {
    name: 'sniffs |',
    text: 'q|a|c\nx;y|1|2\n',
    rows: [[2, { q: 'x;y', a: '1', c: '2' }]],
  },
  {
    name: 'sniffs , (and ignores delimiters inside quotes)',
    text: 'q,a\n"x;y;z|w",1\n"p;q",2\n',
    rows: [
      [2, { q: 'x;y;z|w', a: '1' }],
      [3, { q: 'p;q', a: '2' }],
    ],
  },
  {
    name: 'sniffing falls back to , when the header has no candidate',
    text: 'question\nhello; there\n',
    rows: [[2, { question: 'hello; there' }]],
  },
  {
    name: 'an explicit delimiter wins over sniffing',
    text: 'a;b,c\n1;2,3\n',
    options: { delimiter: ';' },
    rows: [[2, { a: '1', 'b,c': '2,3' }]],
  },
  {
    name: '.tsv uses tabs without sniffing',
    text: 'q\ta,b\nx\ty,z\n',
    file: 'data.tsv',
    rows: [[2, { q: 'x', 'a,b': 'y,z' }]],
  },
  {
    name: '.tab is TSV too',
    text: 'q\ta\nx\ty\n',
    file: 'data.TAB',
    rows: [[2, { q: 'x', a: 'y' }]],
  },
  {
    name: "format: 'tsv' uses tabs whatever the extension",
    text: 'q\ta,b;c\nx\ty\n',
    file: 'data.txt',
    options: { format: 'tsv' },
    rows: [[2, { q: 'x', 'a,b;c': 'y' }]],
  },
  {
    name: 'backslash-escaped quotes (MySQL) are kept as written, with one warning naming the first line',
    text: 'q,a\n"He said \\"hi\\"",ok\nplain,row\n"5\\" screen",x\n',
    rows: [
      [2, { q: '"He said \\"hi\\""', a: 'ok' }],
      [3, { q: 'plain', a: 'row' }],
      [4, { q: '"5\\" screen"', a: 'x' }],
    ],
    warnings: [/^data\.csv: 2 rows \(the first on line 2\) have a quoted field with \\" inside, kept as written, .*MySQL.*doubled \(""\)/],
  },
  {
    name: 'doubled quotes, and a backslash before one, read as RFC 4180 says, with no warning',
    text: 'q,a\n"He said ""hi""",ok\n"C:\\""",x\n',
    rows: [
      [2, { q: 'He said "hi"', a: 'ok' }],
      [3, { q: 'C:\\"', a: 'x' }],
    ],
  },
  {
    name: "escape: '\\\\' reads MySQL's quotes and backslashes, line breaks inside quotes counted",
    text: 'q,a\n"He said \\"hi\\"","5\\" screen"\n"C:\\\\dir","line\\\nnext"\nplain,"x"\n',
    options: { escape: '\\' },
    rows: [
      [2, { q: 'He said "hi"', a: '5" screen' }],
      [3, { q: 'C:\\dir', a: 'line\nnext' }],
      [5, { q: 'plain', a: 'x' }],
    ],
  },
  {
    name: "Excel's sep= first line names the delimiter, and rows keep their file lines",
    text: 'sep=;\r\nq;a\r\nx,1;y\r\nbad\r\n',
    rows: [[3, { q: 'x,1', a: 'y' }]],
    rejected: [[4, 'malformed_row', 'expected 2 fields as in the header, got 1']],
  },
  {
    name: 'a quoted "sep=|" line after a byte-order mark',
    text: '\uFEFF"sep=|"\nq|a\nx;1|y\n',
    rows: [[3, { q: 'x;1', a: 'y' }]],
  },
  {
    name: 'SEP=\\t in capitals, then a tab-separated table',
    text: 'SEP=\t\nq\ta\nx,1\ty\n',
    rows: [[3, { q: 'x,1', a: 'y' }]],
  },
  {
    name: 'a given delimiter wins over a sep= line, with a warning, and the line is still no header',
    text: 'sep=;\nq,a\nx;1,y\n',
    options: { delimiter: ',' },
    rows: [[3, { q: 'x;1', a: 'y' }]],
    warnings: [/data\.csv: line 1 says sep=;, but the delimiter given is ","; the file was read with the one given\./],
  },
  {
    name: 'a header that only starts like sep= is a header',
    text: 'sep=;x,a\n1,2\n',
    rows: [[2, { 'sep=;x': '1', a: '2' }]],
  },
  {
    name: 'a file of only a sep= line has no header',
    text: 'sep=,',
    rows: [],
    warnings: [/data\.csv: the file is empty; it holds no header and no rows\./],
  },
];

describe('loadCsv', () => {
  it.each(cases)('$name', async (c) => {
    const { text, file = 'data.csv', options = {} } = c;
    const path = await writeTemp(file, text);
    const result = await runLoad((ctx) => loadCsv(path, options, ctx));
    expectLoaded(result, c, (w) => w.replace(path, file));
    for (const row of result.rows) expect(row.source.file).toBe(path);
    for (const r of result.rejected) expect(r.source.file).toBe(path);
  });

  it('rejects in file order, between the rows around them', async () => {
    const path = await writeTemp('order.csv', 'a,b\n1,2\n3\n4,5\n6,7,8\n9,10\n');
    const result = await runLoad((ctx) => loadCsv(path, {}, ctx));
    expect(result.events).toEqual(['row@2', 'reject:malformed_row@3', 'row@4', 'reject:malformed_row@5', 'row@6']);
  });

  it('gives a malformed row its raw text, without the line break, capped', async () => {
    const long = 'x'.repeat(5000);
    const path = await writeTemp('raw.csv', `a,b\n1,2,3\r\n"multi\nline",${long},z\n`);
    const result = await runLoad((ctx) => loadCsv(path, {}, ctx));
    expect(result.rejected.map((r) => r.raw)).toEqual(['1,2,3', `"multi\nline",${long.slice(0, RAW_EXCERPT_CHARS - 13)}…`]);
    expect(String(result.rejected[1]?.raw).length).toBe(RAW_EXCERPT_CHARS + 1);
  });

  it('keeps __proto__ an own key and Object.prototype untouched', async () => {
    const path = await writeTemp('proto.csv', '__proto__,constructor\npolluted,x\n');
    const result = await runLoad((ctx) => loadCsv(path, {}, ctx));
    const data = result.data[0] as Record<string, unknown>;
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
    expect(Object.hasOwn(data, '__proto__')).toBe(true);
    expect(Object.keys(data)).toEqual(['__proto__', 'constructor']);
    expect(data.constructor).toBe('x');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reads a { name, chunks } source, keeping the name as file', async () => {
    const result = await runLoad((ctx) => loadCsv(chunked('upload.csv', 'q,a\nx,', '1\n'), {}, ctx));
    expect(result.rows).toEqual([{ data: { q: 'x', a: '1' }, source: { file: 'upload.csv', line: 2 } }]);
  });

  it('finds a sep= line however the first chunks cut it', async () => {
    const text = 'sep=;\r\nq;a\r\nx,1;y\r\n';
    for (let cut = 1; cut < 12; cut++) {
      const result = await runLoad((ctx) => loadCsv(chunked('cut.csv', ...[...text].reduce<string[]>((parts, c, i) => (i % cut === 0 ? [...parts, c] : [...parts.slice(0, -1), `${parts.at(-1)}${c}`]), [])), {}, ctx));
      expect(result.rows.map((r) => [r.source.line, r.data])).toEqual([[3, { q: 'x,1', a: 'y' }]]);
    }
  });

  it('handles a CRLF split across two chunks', async () => {
    const result = await runLoad((ctx) => loadCsv(chunked('s.csv', 'q,a\r', '\nx,1\r', '\n\r', '\ny,2\r', '\n'), {}, ctx));
    expect(result.rows.map((r) => [r.source.line, r.data])).toEqual([
      [2, { q: 'x', a: '1' }],
      [4, { q: 'y', a: '2' }],
    ]);
  });

  it('handles a multi-byte UTF-8 character split across chunks', async () => {
    const bytes = Buffer.from('q,a\nCafé €,日本\n', 'utf8');
    const at = bytes.indexOf(0x82); // inside the three bytes of €
    const result = await runLoad((ctx) =>
      loadCsv(chunked('mb.csv', bytes.subarray(0, at), bytes.subarray(at, at + 4), bytes.subarray(at + 4)), {}, ctx),
    );
    expect(result.data).toEqual([{ q: 'Café €', a: '日本' }]);
  });

  it('counts lines right across many read chunks of a large file', async () => {
    let text = 'id,text\r\n';
    let line = 2;
    const expected: number[] = [];
    for (let i = 0; i < 8000; i++) {
      if (i % 11 === 0) {
        text += '\r\n';
        line++;
      }
      expected.push(line);
      if (i % 7 === 0) {
        text += `${i},"two\r\nlines é"\r\n`;
        line += 2;
      } else {
        text += `${i},plain text number ${i}\r\n`;
        line++;
      }
    }
    const path = await writeTemp('big.csv', text);
    const result = await runLoad((ctx) => loadCsv(path, {}, ctx));
    expect(text.length).toBeGreaterThan(2 * 64 * 1024);
    expect(result.rejected).toEqual([]);
    expect(result.lines).toEqual(expected);
  });

  it('streams: the first row comes before the source is read to the end', async () => {
    const { source, state } = lazySource('lazy.csv', 'q,a\n', (i) => `${'row,'.repeat(1)}${i}\n`.repeat(2000), 50);
    for await (const row of loadCsv(source, { delimiter: ',' }, { reject: () => {}, warn: () => {} })) {
      expect(row.source.line).toBe(2);
      break;
    }
    expect(state.pulled).toBeLessThanOrEqual(3);
  });

  it('rejects a bad delimiter option', async () => {
    const path = await writeTemp('d.csv', 'a,b\n');
    const result = await runLoad((ctx) => loadCsv(path, { delimiter: '"' }, ctx));
    expect(isLoraPrepError(result.error) && result.error.code).toBe('OPTION_INVALID');
  });

  it('stops with ABORTED when the signal fires', async () => {
    const controller = new AbortController();
    const path = await writeTemp('abort.csv', `a,b\n${'1,2\n'.repeat(50_000)}`);
    let seen = 0;
    const result = await runLoad(
      (ctx) =>
        (async function* () {
          for await (const row of loadCsv(path, {}, ctx)) {
            if (++seen === 10) controller.abort();
            yield row;
          }
        })(),
      controller.signal,
    );
    expect(isLoraPrepError(result.error) && result.error.code).toBe('ABORTED');
    expect(seen).toBe(10);
  });

  it('is reached through loadRecords for .csv and .tsv', async () => {
    const csv = await writeTemp('x.csv', 'a;b\n1;2\n');
    const tsv = await writeTemp('x.tsv', 'a;b\tc\n1;2\t3\n');
    expect((await runLoad((ctx) => loadRecords(csv, {}, ctx))).data).toEqual([{ a: '1', b: '2' }]);
    expect((await runLoad((ctx) => loadRecords(tsv, {}, ctx))).data).toEqual([{ 'a;b': '1;2', c: '3' }]);
  });
});

describe('loadCsv and options of other formats', () => {
  it('warns that recordsKey applies to JSON files only, and reads the file as CSV', async () => {
    const result = await runLoad((ctx) => loadCsv(chunked('rows.csv', 'question,answer\nq,a\n'), { recordsKey: 'data' }, ctx));
    expect(result.data).toEqual([{ question: 'q', answer: 'a' }]);
    expect(result.warnings).toEqual([
      'rows.csv: recordsKey "data" applies to JSON files only (one object holding the records under that key); ' +
        "this file is read as CSV, so it was ignored. If the file is such an object, name it .json or pass format: 'json'.",
    ]);
  });
});

describe('loadCsv properties', () => {
  it('with quote: false, reads back any table of cells without tabs or line breaks, quotes and all, at its lines', async () => {
    const text = fc.string({ unit: fc.constantFrom('a', ' ', '"', "'", ',', 'é', '😀', '\\'), minLength: 1, maxLength: 12 }).filter((v) => v.trim() !== '');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(text, text), { minLength: 1, maxLength: 15 }), fc.constantFrom('\n', '\r\n'), async (rows, eol) => {
        fc.pre(!rows.some(([q, a]) => q === 'q' && a === 'a'));
        const body = ['q\ta', ...rows.map(([q, a]) => `${q}\t${a}`)].join(eol) + eol;
        const result = await runLoad((ctx) => loadCsv(chunked('t.tsv', Buffer.from(body, 'utf8')), { quote: false }, ctx));
        expect(result.rejected).toEqual([]);
        expect(result.data).toEqual(rows.map(([q, a]) => ({ q, a })));
        expect(result.lines).toEqual(rows.map((_, i) => i + 2));
      }),
      { numRuns: 100 },
    );
  });

  const cell = fc.oneof(
    fc.string({ unit: fc.constantFrom('a', 'b', ' ', ',', '"', '\n', '\r', 'é', '€', '日', '😀', ';', '\t', '|') }),
    fc.string({ unit: 'grapheme' }),
  );

  it('round-trips random RFC 4180 tables with their starting lines', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }).chain((cols) =>
          fc.record({
            header: fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/), { minLength: cols, maxLength: cols }),
            rows: fc.array(fc.array(cell, { minLength: cols, maxLength: cols }), { maxLength: 12 }),
            breaks: fc.array(fc.tuple(fc.constantFrom('\n', '\r\n'), fc.nat(2)), { minLength: 14, maxLength: 14 }),
            chunk: fc.integer({ min: 1, max: 64 }),
          }),
        ),
        async ({ header, rows, breaks, chunk }) => {
          // A row that repeats the header is rejected as no data (files joined with their headers),
          // in any order or case, and one that names two of its columns or more.
          const named = (row: string[]) => row.filter((v) => header.includes(v.trim().toLowerCase())).length;
          fc.pre(header.length === 1 || !rows.some((row) => row.every((v, i) => v === header[i]) || named(row) >= 2));
          // Rows that would read back as blank lines are not rows; a single empty cell is quoted.
          let text = header.join(',');
          const starts: number[] = [];
          let line = 1;
          rows.forEach((row, r) => {
            const [eol, blanks] = breaks[r] as [string, number];
            text += eol;
            line++;
            for (let b = 0; b < blanks; b++) {
              text += eol;
              line++;
            }
            starts.push(line);
            const fields = row.map((v) => (/[",\r\n]/.test(v) || v.trim() === '' ? `"${v.replace(/"/g, '""')}"` : v));
            const record = fields.join(',');
            text += record;
            line += countBreaks(record);
          });
          if ((breaks[13] as [string, number])[1] > 0) text += (breaks[13] as [string, number])[0];
          const bytes = Buffer.from(text, 'utf8');
          const pieces: Uint8Array[] = [];
          for (let i = 0; i < bytes.length; i += chunk) pieces.push(bytes.subarray(i, i + chunk));
          const result = await runLoad((ctx) => loadCsv(chunked('prop.csv', ...pieces), { delimiter: ',' }, ctx));
          expect(result.error).toBeUndefined();
          expect(result.rejected).toEqual([]);
          expect(result.data).toEqual(rows.map((row) => Object.fromEntries(header.map((h, i) => [h, row[i]]))));
          expect(result.lines).toEqual(starts);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("loadCsv with escape: '\\\\'", () => {
  const cell = fc.string({ unit: fc.constantFrom('a', ' ', ',', '"', '\\', '\n', '\r\n', 'é', '日', ';') });

  it('round-trips random tables written as MySQL writes CSV, with their starting lines, however the bytes are cut', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }).chain((cols) =>
          fc.record({
            header: fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/), { minLength: cols, maxLength: cols }),
            rows: fc.array(fc.array(cell, { minLength: cols, maxLength: cols }), { maxLength: 10 }),
            chunk: fc.integer({ min: 1, max: 48 }),
          }),
        ),
        async ({ header, rows, chunk }) => {
          let text = header.join(',');
          const starts: number[] = [];
          let line = 1;
          for (const row of rows) {
            text += '\n';
            line++;
            starts.push(line);
            const record = row.map((v) => `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(',');
            text += record;
            line += countBreaks(record);
          }
          text += '\n';
          const bytes = Buffer.from(text, 'utf8');
          const pieces: Uint8Array[] = [];
          for (let i = 0; i < bytes.length; i += chunk) pieces.push(bytes.subarray(i, i + chunk));
          const result = await runLoad((ctx) => loadCsv(chunked('mysql.csv', ...pieces), { delimiter: ',', escape: '\\' }, ctx));
          expect(result.error).toBeUndefined();
          expect(result.rejected).toEqual([]);
          // Random cells over lines can read as rows a stray quote joined: that warning is about content.
          const warnings = result.warnings.filter((w) => !w.includes('whose lines each read as a row'));
          expect(warnings).toEqual(rows.length === 0 ? ['mysql.csv: the file holds a header but no data rows.'] : []);
          expect(result.data).toEqual(rows.map((row) => Object.fromEntries(header.map((h, i) => [h, row[i]]))));
          expect(result.lines).toEqual(starts);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('rejects an escape other than a quote or a backslash', async () => {
    const result = await runLoad((ctx) => loadCsv(chunked('x.csv', 'a\n1\n'), { escape: "'" as '"' }, ctx));
    expect(isLoraPrepError(result.error) && result.error.code).toBe('OPTION_INVALID');
  });
});

/** Line breaks as the loader counts them: CRLF, LF and a lone CR each end one line. */
function countBreaks(text: string): number {
  return (text.match(/\r\n|\r|\n/g) ?? []).length;
}
