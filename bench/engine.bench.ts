/**
 * Engine throughput: no-op TS tasks through the full engine (readiness, param validation,
 * cache keys and lookups, the executor, metadata committed to a real SQLite file), against the
 * same work as bare awaited calls (the floor).
 *   engine.chain1k.tasks_per_s    1,000 tasks, each after the previous one
 *   engine.fanout10k.tasks_per_s  one task, then parallelFor over 10,000 items
 *   engine.cached1k.seconds       the 1,000-task chain again, every task a cache hit
 */
import { join } from 'node:path';
import { startRun } from '../src/engine/run-engine.js';
import { LocalExecutor } from '../src/executors/local-executor.js';
import { component, parallelFor, pipeline, type TaskHandle, z } from '../src/index.js';
import { compilePipeline } from '../src/spec/compile.js';
import { LocalArtifactStore } from '../src/store/local/local-artifact-store.js';
import { SqliteMetadataStore } from '../src/store/sqlite/sqlite-metadata-store.js';
import { report, tempDir } from './bench-util.js';

const noop = component({
  name: 'noop',
  params: { i: z.number().int() },
  outputs: { value: z.number() },
  run: ({ params }) => ({ value: params.i }),
});

// A separate component for the fan-out, so it does not hit the chain's cache entries.
const leaf = component({
  name: 'leaf',
  params: { i: z.number().int() },
  outputs: { value: z.number() },
  run: ({ params }) => ({ value: params.i }),
});

const warmLeaf = component({
  name: 'warm-leaf',
  params: { i: z.number().int() },
  run: () => undefined,
});

const seed = component({
  name: 'seed',
  params: { n: z.number().int() },
  outputs: { items: z.array(z.number()) },
  run: ({ params }) => ({ items: Array.from({ length: params.n }, (_, i) => i) }),
});

const chain = pipeline({ name: 'chain1k', params: { n: z.number().int().default(1000) } }, () => {
  let previous: TaskHandle<any> | undefined;
  for (let i = 0; i < 1000; i++) {
    const task = noop({ i });
    if (previous) task.after(previous);
    previous = task;
  }
});

const fanout = pipeline(
  { name: 'fanout10k', params: { n: z.number().int().default(10_000) } },
  ({ params }) => {
    const source = seed({ n: params.n });
    parallelFor(source.outputs.items, (i) => leaf({ i }));
  },
);

const warm = pipeline({ name: 'warm-up' }, () => {
  parallelFor(
    Array.from({ length: 2000 }, (_, i) => i),
    (i) => warmLeaf({ i }),
  );
});

async function floorMicros(count: number): Promise<number> {
  const run = noop.run!;
  const start = performance.now();
  for (let i = 0; i < count; i++) await run({ params: { i } } as never);
  return ((performance.now() - start) * 1000) / count;
}

async function main(): Promise<void> {
  const dir = tempDir('lathe-bench-');
  try {
    const store = SqliteMetadataStore.open(join(dir.path, 'lathe.db'));
    const artifactRoot = join(dir.path, 'artifacts');
    const artifacts = new LocalArtifactStore(artifactRoot);
    const executor = new LocalExecutor({ artifacts, artifactRoot });
    const engine = (spec: ReturnType<typeof compilePipeline>, cache = true) => ({
      spec,
      store,
      artifacts,
      executor,
      baseDir: dir.path,
      cache,
    });

    // Warm-up (JIT, SQLite page cache) on a separate component, so figures are steady-state.
    const warmup = await startRun(engine(compilePipeline(warm)), {});
    if (warmup.status !== 'succeeded') throw new Error('warm-up run failed');

    const chainSpec = compilePipeline(chain);
    let start = performance.now();
    const first = await startRun(engine(chainSpec), {});
    const chainSeconds = (performance.now() - start) / 1000;
    if (first.status !== 'succeeded' || first.counts.succeeded !== 1000) throw new Error('chain run failed');
    const chainFloor = await floorMicros(1000);
    report({
      name: 'engine.chain1k.tasks_per_s',
      value: 1000 / chainSeconds,
      unit: 'tasks/s',
      floor: 1e6 / chainFloor,
      note: `${((chainSeconds * 1e6) / 1000).toFixed(1)} us/task vs ${chainFloor.toFixed(2)} us/call bare`,
    });

    start = performance.now();
    const cached = await startRun(engine(chainSpec), {});
    const cachedSeconds = (performance.now() - start) / 1000;
    if (cached.counts.cached !== 1000)
      throw new Error(`expected 1000 cache hits, got ${cached.counts.cached}`);
    report({
      name: 'engine.cached1k.seconds',
      value: cachedSeconds,
      unit: 's',
      floor: (chainFloor * 1000) / 1e6,
    });

    const fanoutSpec = compilePipeline(fanout);
    start = performance.now();
    const wide = await startRun(engine(fanoutSpec), {});
    const fanoutSeconds = (performance.now() - start) / 1000;
    if (wide.status !== 'succeeded' || wide.counts.succeeded !== 10_001) {
      throw new Error(`fan-out run failed: ${JSON.stringify(wide.counts)}`);
    }
    const fanoutFloor = await floorMicros(10_000);
    report({
      name: 'engine.fanout10k.tasks_per_s',
      value: 10_001 / fanoutSeconds,
      unit: 'tasks/s',
      floor: 1e6 / fanoutFloor,
      note: `${((fanoutSeconds * 1e6) / 10_001).toFixed(1)} us/task vs ${fanoutFloor.toFixed(2)} us/call bare`,
    });
    await store.close();
  } finally {
    dir.remove();
  }
}

await main();
