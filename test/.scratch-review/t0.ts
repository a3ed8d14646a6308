import { component, pipeline } from 'lathe';
export const a = component({ name: 'a', async run() {} });
export default pipeline({ name: 't0' }, () => { a({}).timeout('1.5ms').resources({ cpu: 0 }); });
