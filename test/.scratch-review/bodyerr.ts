import { component, pipeline } from 'lathe';
export const a = component({ name: 'a', async run() {} });
export default pipeline({ name: 'bodyerr' }, () => { a({}).retry({ attempts: 0 }); });
