/**
 * Resume after the runner is killed: `first` is fast, `second` holds while `params.dir`/hold
 * exists (so the test can kill the runner while it is running), `third` follows. Each execution
 * appends its task name to `params.dir`/executions.log. `second` reports VERSION, so a test can
 * edit a copy of this module between kill and resume and see the new code picked up.
 */
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { component, Dataset, pipeline, z } from 'lathe';

const VERSION = 'v1';

const first = component({
  name: 'first',
  params: { dir: z.string() },
  outputs: { data: Dataset, n: z.number() },
  async run({ params, outputs }) {
    appendFileSync(join(params.dir, 'executions.log'), 'first\n');
    await outputs.data.writeText('first output\n');
    return { n: 41 };
  },
});

const second = component({
  name: 'second',
  params: { dir: z.string(), n: z.number() },
  inputs: { data: Dataset },
  outputs: { n: z.number(), version: z.string() },
  async run({ params, inputs, signal }) {
    appendFileSync(join(params.dir, 'executions.log'), 'second\n');
    writeFileSync(join(params.dir, 'second-started'), String(process.pid));
    const deadline = Date.now() + 30_000;
    while (existsSync(join(params.dir, 'hold')) && Date.now() < deadline && !signal.aborted) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const text = await inputs.data.readText();
    if (text !== 'first output\n') throw new Error(`unexpected input: ${JSON.stringify(text)}`);
    return { n: params.n + 1, version: VERSION };
  },
});

const third = component({
  name: 'third',
  params: { dir: z.string(), n: z.number(), version: z.string() },
  outputs: { result: z.string() },
  run({ params }) {
    appendFileSync(join(params.dir, 'executions.log'), 'third\n');
    return { result: `${params.n}/${params.version}` };
  },
});

export default pipeline({ name: 'resume', params: { dir: z.string() } }, ({ params }) => {
  const a = first({ dir: params.dir });
  const b = second({ dir: params.dir, n: a.outputs.n, data: a.outputs.data });
  third({ dir: params.dir, n: b.outputs.n, version: b.outputs.version });
});
