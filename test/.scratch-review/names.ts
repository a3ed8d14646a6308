import { component, parallelFor, pipeline, z } from 'lathe';
export const t = component({ name: 't', params: { i: z.number() }, outputs: { v: z.number() }, async run({ params }) { await new Promise(r=>setTimeout(r,200)); return { v: params.i }; } });
export const u = component({ name: 'u', params: { v: z.number() }, async run({ params, log }) { log(`u got ${params.v}`); } });
export default pipeline({ name: 'names' }, () => {
  const a = t({ i: 100 }).named('t[0]');
  parallelFor([1], (i) => { const x = t({ i }); u({ v: x.outputs.v }); });
  u({ v: a.outputs.v }).named('after-a');
});
