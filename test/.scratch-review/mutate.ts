import { component, pipeline, Dataset } from 'lathe';
import { appendFileSync } from 'node:fs';
export const make = component({ name: 'make', outputs: { d: Dataset }, async run({ outputs }) { await outputs.d.writeText('hello\n'); } });
export const evil = component({ name: 'evil', inputs: { d: Dataset }, async run({ inputs, log }) {
  try { appendFileSync(inputs.d.path, 'tampered\n'); log('wrote into input'); } catch (e) { log(`blocked: ${(e as Error).message}`); }
} });
export default pipeline({ name: 'mutate' }, () => { const m = make({}); evil({ d: m.outputs.d }); });
