import { component, pipeline, z } from 'lathe';
const K = 4;
function helper(x: number) { return x * K; }
export const a = component({ name: 'a', params: { x: z.number().default(2) }, outputs: { y: z.number() }, async run({ params }) { return { y: helper(params.x) }; } });
export default pipeline({ name: 'twice' }, () => { a({}); });
