/**
 * Engine throughput: no-op TS tasks through the full engine (readiness, param validation,
 * cache keys and lookups, the executor, metadata committed to a real SQLite file), against the
 * same work as bare awaited calls (the floor). Each figure is the median of 3 runs, each run on
 * its own components so that none is a cache hit.
 *   engine.chain1k.tasks_per_s    1,000 tasks, each after the previous one
 *   engine.fanout10k.tasks_per_s  one task, then parallelFor over 10,000 items
 *   engine.cached1k.seconds       a 1,000-task chain again, every task a cache hit
 */
import { join } from 'node:path';
import { startRun } from '../src/engine/run-engine.js';
import { LocalExecutor } from '../src/executors/local-executor.js';
import { type Component, component, parallelFor, pipeline, type TaskHandle, z } from '../src/index.js';
import { compilePipeline } from '../src/spec/compile.js';
import { LocalArtifactStore } from '../src/store/local/local-artifact-store.js';
import { SqliteMetadataStore } from '../src/store/sqlite/sqlite-metadata-store.js';
import { median, report, tempDir } from './bench-util.js';

const REPEATS = 3;
type Noop = Component<{ i: z.ZodNumber }, {}, { value: z.ZodNumber }>;

function noopComponent(name: string): Noop {
  return component({
    name,
    params: { i: z.number().int() },
    outputs: { value: z.number() },
    run: ({ params }) => ({ value: params.i }),
  });
}

function chainPipeline(noop: Noop) {
  return pipeline({ name: `chain1k-${noop.name}` }, () => {
    let previous: TaskHandle<any> | undefined;
    for (let i = 0; i < 1000; i++) {
      const task = noop({ i });
      if (previous) task.after(previous);
      previous = task;
    }
  });
}

function fanoutPipeline(noop: Noop, n: number) {
  const seed = component({
    name: `seed-${noop.name}`,
    params: { n: z.number().int() },
    outputs: { items: z.array(z.number()) },
    run: ({ params }) => ({ items: Array.from({ length: params.n }, (_, i) => i) }),
  });
  return pipeline({ name: `fanout-${noop.name}` }, () => {
    const source = seed({ n });
    parallelFor(source.outputs.items, (i) => noop({ i }));
  });
}

async function floorMicros(noop: Noop, count: number): Promise<number> {
  const run = noop.run!;
  const start = performance.now();
  for (let i = 0; i < count; i++) await run({ params: { i } } as never);
  return ((performance.now() - start) * 1000) / count;
}

const dir = tempDir('lathe-bench-');
try {
  const store = SqliteMetadataStore.open(join(dir.path, 'lathe.db'));
  const artifactRoot = join(dir.path, 'artifacts');
  const artifacts = new LocalArtifactStore(artifactRoot);
  const executor = new LocalExecutor({ artifacts, artifactRoot });
  const run = async (definition: ReturnType<typeof chainPipeline>, expect: Record<string, number>) => {
    const spec = compilePipeline(definition);
    const start = performance.now();
    const summary = await startRun({ spec, store, artifacts, executor, baseDir: dir.path }, {});
    const seconds = (performance.now() - start) / 1000;
    for (const [status, count] of Object.entries(expect)) {
      const got = summary.counts[status as keyof typeof summary.counts];
      if (got !== count) throw new Error(`${definition.name}: expected ${count} ${status}, got ${got}`);
    }
    return seconds;
  };

  // Warm-up (JIT, SQLite page cache), so figures are steady-state.
  await run(fanoutPipeline(noopComponent('warm-up'), 2000), { succeeded: 2001 });

  const chainSeconds: number[] = [];
  const chainNoops: Noop[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const noop = noopComponent(`chain-noop-${r}`);
    chainNoops.push(noop);
    chainSeconds.push(await run(chainPipeline(noop), { succeeded: 1000 }));
  }
  const chainFloor = await floorMicros(chainNoops[0]!, 1000);
  const chain = median(chainSeconds);
  report({
    name: 'engine.chain1k.tasks_per_s',
    value: 1000 / chain,
    unit: 'tasks/s',
    floor: 1e6 / chainFloor,
    note: `${((chain * 1e6) / 1000).toFixed(1)} us/task vs ${chainFloor.toFixed(2)} us/call bare; median of ${REPEATS}`,
  });

  const cachedSeconds: number[] = [];
  for (let r = 0; r < REPEATS; r++)
    cachedSeconds.push(await run(chainPipeline(chainNoops[0]!), { cached: 1000 }));
  report({
    name: 'engine.cached1k.seconds',
    value: median(cachedSeconds),
    unit: 's',
    floor: (chainFloor * 1000) / 1e6,
    note: `median of ${REPEATS}`,
  });

  const fanoutSeconds: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    fanoutSeconds.push(
      await run(fanoutPipeline(noopComponent(`fanout-noop-${r}`), 10_000), { succeeded: 10_001 }),
    );
  }
  const fanout = median(fanoutSeconds);
  const fanoutFloor = await floorMicros(chainNoops[0]!, 10_000);
  report({
    name: 'engine.fanout10k.tasks_per_s',
    value: 10_001 / fanout,
    unit: 'tasks/s',
    floor: 1e6 / fanoutFloor,
    note: `${((fanout * 1e6) / 10_001).toFixed(1)} us/task vs ${fanoutFloor.toFixed(2)} us/call bare; median of ${REPEATS}`,
  });
  await store.close();
} finally {
  dir.remove();
}
