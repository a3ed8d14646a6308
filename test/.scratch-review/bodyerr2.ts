import { component, pipeline, z } from 'lathe';
export const a = component({ name: 'a', params: { x: z.number() }, async run() {} });
export default pipeline({ name: 'bodyerr2' }, () => { a({ x: 1 }).timeout('5 minutes'); });
