import { component, collect, parallelFor, pipeline, z, Dataset } from 'lathe';
export const prep = component({ name: 'prep', outputs: { data: Dataset }, async run() { throw new Error('prep failed'); } });
export const train = component({ name: 'train', inputs: { data: Dataset }, params: { lr: z.number() }, outputs: { score: z.number() }, async run({ params }) { return { score: params.lr }; } });
export const pick = component({ name: 'pick', params: { scores: z.array(z.number()) }, async run({ params, log }) { log(`pick ran with ${JSON.stringify(params.scores)}`); } });
export default pipeline({ name: 'skipcollect' }, () => {
  const p = prep({});
  const loop = parallelFor([1, 2, 3], (lr) => train({ data: p.outputs.data, lr }));
  pick({ scores: collect(loop.outputs.score) });
});
