import { component, parallelFor, pipeline, z } from 'lathe';
export const slow = component({
  name: 'slow',
  params: { i: z.number() },
  async run({ params, signal, log }) {
    log(`start ${params.i}`);
    await new Promise((res, rej) => { const t = setTimeout(res, 3000); signal.addEventListener('abort', () => { clearTimeout(t); rej(signal.reason); }); });
  },
});
export default pipeline({ name: 'park' }, () => {
  parallelFor([1, 2, 3, 4], (i) => { slow({ i }); }, { parallelism: 1 });
});
