/**
 * Data quality: the checks that stand between new data and a training job. A new batch is
 * ingested, profiled, validated against a committed schema and expectation suite (the pipeline
 * stops here when the data is bad), compared with the reference data for drift, and split for
 * training; when it drifted, a retraining notice goes out.
 *
 *   npx lathe run examples/data-quality/pipeline.ts                      # a drifted, valid batch
 *   npx lathe run examples/data-quality/pipeline.ts --param batch=bad    # stops at validation
 */
import { fileURLToPath } from 'node:url';
import { component, pipeline, when, z } from 'lathe';
import { detectDrift, ingestFile, splitDataset, statisticsGen, validateData } from 'lathe/data';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

const retrainNotice = component({
  name: 'retrain-notice',
  description: 'Stands in for triggering a training run: says which columns drifted.',
  params: { share: z.number() },
  async run({ params, log }) {
    log.warn(`data drifted (${Math.round(params.share * 100)}% of columns): schedule retraining`);
  },
});

export default pipeline(
  {
    name: 'data-quality',
    params: {
      batch: z.enum(['new', 'bad']).default('new'),
      driftShare: z.number().min(0).max(1).default(0.1),
    },
  },
  ({ params }) => {
    const reference = ingestFile({ path: here('./data/wine.csv') }).named('ingest-reference');
    const current = ingestFile({ path: `${here('./data/')}{{params.batch}}-batch.csv` }).named(
      'ingest-batch',
    );
    statisticsGen({ data: current.outputs.dataset });
    const validated = validateData({
      data: current.outputs.dataset,
      schemaFile: here('./schema.yaml'),
      expectationsFile: here('./expectations.yaml'),
    });
    const drift = detectDrift({
      reference: reference.outputs.dataset,
      current: current.outputs.dataset,
      driftShare: params.driftShare,
    }).after(validated);
    splitDataset({ data: current.outputs.dataset, stratifyBy: 'cultivar', seed: 7 }).after(validated);
    when(drift.outputs.driftDetected.eq(true), () => retrainNotice({ share: drift.outputs.driftShare }));
  },
);
