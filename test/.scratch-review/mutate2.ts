import { component, pipeline, Dataset, z } from 'lathe';
import { appendFileSync } from 'node:fs';
export const make = component({ name: 'make2', outputs: { d: Dataset }, async run({ outputs }) { await outputs.d.writeText('hello\n'); } });
export const evil = component({ name: 'evil2', inputs: { d: Dataset }, async run({ inputs }) { appendFileSync(inputs.d.path, 'tampered\n'); } });
export const count = component({ name: 'count2', inputs: { d: Dataset }, outputs: { lines: z.number() }, async run({ inputs }) { return { lines: (await inputs.d.readText()).trim().split('\n').length }; } });
export default pipeline({ name: 'mutate2' }, () => { const m = make({}); const e = evil({ d: m.outputs.d }); count({ d: m.outputs.d }).after(e); });
