/**
 * A build-pipeline step (CI, a Makefile, a data job): prepare the dataset and fail the build when
 * the data got worse, using `failOn`. The files and the report are written either way, so the
 * failing build still shows why.
 *
 *   npx tsx examples/pipeline-step.ts           passes: at most 20% of rows may be rejected
 *   npx tsx examples/pipeline-step.ts --strict  fails (exit 1): no invalid_record row is allowed
 *
 * In your own project: import { prepareDataset, isLoraPrepError } from 'lora-prep';
 */
import { isLoraPrepError, prepareDataset, type PrepareOptions } from '../src/index.js';

const strict = process.argv.includes('--strict');
const outDir = `out/examples/pipeline-step/${strict ? 'strict' : 'lenient'}`;

const options: PrepareOptions = {
  // patient-faq.json has one record that is not a conversation (an invalid_record).
  inputs: [{ path: 'fixtures/medical/patient-faq.json', domain: 'medical' }, { path: 'fixtures/medical/clinical-qa.jsonl', domain: 'medical' }],
  target: 'openai',
  maxTokens: 4096,
  split: { validation: 0.2, seed: 42 },
  outDir,
  overwrite: true,
  failOn: strict ? { reasons: ['invalid_record'] } : { rejectedRatio: 0.2 },
};

try {
  const result = await prepareDataset(options);
  const { input, rejected, train, validation } = result.counts;
  console.log(`data check passed: ${input} rows, ${rejected} rejected; wrote ${train} train + ${validation} validation examples to ${result.outDir}`);
} catch (e) {
  if (isLoraPrepError(e) && e.code === 'DATA_FAILED') {
    // The run finished and wrote everything; the data broke a failOn rule.
    console.error(`data check failed: ${e.message}`);
    process.exitCode = 1;
  } else if (isLoraPrepError(e)) {
    // A problem with the job itself (a missing file, a bad option): a different exit code.
    console.error(`cannot prepare the data: ${e.code}: ${e.message}`);
    process.exitCode = 2;
  } else {
    throw e;
  }
}
