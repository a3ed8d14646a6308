/**
 * The run engine end to end, in process: real SQLite metadata store, real local artifact store,
 * real local executor, small pipelines compiled from the DSL. Components are defined at module top
 * level with names unique to this file (the executor finds them in the process-wide registry).
 */
import { appendFileSync, chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunReporter, RunSummary } from '../../src/engine/ports.js';
import { type EngineOptions, resumeRun, startRun } from '../../src/engine/run-engine.js';
import { LocalExecutor } from '../../src/executors/local-executor.js';
import { collect, component, Dataset, onExit, parallelFor, pipeline, when, z } from '../../src/index.js';
import { compilePipeline } from '../../src/spec/compile.js';
import { LocalArtifactStore } from '../../src/store/local/local-artifact-store.js';
import type { TaskStatus } from '../../src/store/metadata-store.js';
import { SqliteMetadataStore } from '../../src/store/sqlite/sqlite-metadata-store.js';

// ---- shared observation state (reset before each test) ----

const events: string[] = [];
const gauge = { running: 0, max: 0 };
const executions: Record<string, number> = {};

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---- components ----

const step = component({
  name: 'er-step',
  params: {
    label: z.string(),
    delayMs: z.number().default(0),
    upstream: z.unknown().optional(),
  },
  outputs: { value: z.string() },
  cache: false,
  async run({ params }) {
    events.push(`${params.label}:start`);
    executions[params.label] = (executions[params.label] ?? 0) + 1;
    await pause(params.delayMs);
    events.push(`${params.label}:end`);
    return { value: params.label };
  },
});

const join2 = component({
  name: 'er-join',
  params: { label: z.string(), left: z.string(), right: z.string() },
  outputs: { value: z.string() },
  cache: false,
  async run({ params }) {
    events.push(`${params.label}:start`);
    events.push(`${params.label}:end`);
    return { value: `${params.left}+${params.right}` };
  },
});

const gauged = component({
  name: 'er-gauged',
  params: { i: z.unknown(), delayMs: z.number().default(25) },
  outputs: { i: z.unknown() },
  cache: false,
  async run({ params }) {
    gauge.running++;
    gauge.max = Math.max(gauge.max, gauge.running);
    try {
      await pause(params.delayMs);
    } finally {
      gauge.running--;
    }
    return { i: params.i };
  },
});

const listMaker = component({
  name: 'er-list',
  params: { n: z.number().int() },
  outputs: { items: z.array(z.object({ x: z.number(), delay: z.number() })) },
  run({ params }) {
    // Later items finish first: collect must still follow item order.
    return { items: Array.from({ length: params.n }, (_, i) => ({ x: i + 1, delay: (params.n - i) * 15 })) };
  },
});

const square = component({
  name: 'er-square',
  params: { x: z.number(), delay: z.number() },
  outputs: { y: z.number() },
  async run({ params }) {
    await pause(params.delay);
    events.push(`square(${params.x})`);
    return { y: params.x * params.x };
  },
});

const gather = component({
  name: 'er-gather',
  params: { values: z.array(z.unknown()) },
  outputs: { values: z.array(z.unknown()) },
  run({ params }) {
    return { values: params.values };
  },
});

const writeText = component({
  name: 'er-write',
  params: { text: z.string(), delay: z.number().default(0) },
  outputs: { data: Dataset },
  async run({ params, outputs }) {
    await pause(params.delay);
    await outputs.data.writeText(params.text);
    outputs.data.setMetadata({ length: params.text.length });
  },
});

const readAll = component({
  name: 'er-read-all',
  inputs: { parts: Dataset.list() },
  outputs: { text: z.string() },
  async run({ inputs }) {
    const texts = await Promise.all(inputs.parts.map((p) => p.readText()));
    return { text: texts.join(',') };
  },
});

const readOne = component({
  name: 'er-read-one',
  inputs: { data: Dataset },
  outputs: { text: z.string(), length: z.number().nullable() },
  async run({ inputs }) {
    const length = inputs.data.metadata.length;
    return { text: await inputs.data.readText(), length: typeof length === 'number' ? length : null };
  },
});

const explode = component({
  name: 'er-explode',
  params: { message: z.string().default('boom') },
  outputs: { value: z.string() },
  run({ params }): { value: string } {
    events.push('explode');
    throw new Error(params.message);
  },
});

const notify = component({
  name: 'er-notify',
  params: { status: z.string(), run: z.string() },
  cache: false,
  run({ params }) {
    events.push(`notify:${params.status}`);
  },
});

const flaky = component({
  name: 'er-flaky',
  params: { failTimes: z.number().int() },
  outputs: { attempt: z.number() },
  run({ params, task }) {
    if (task.attempt <= params.failTimes) throw new Error(`attempt ${task.attempt} fails`);
    return { attempt: task.attempt };
  },
});

const counted = component({
  name: 'er-counted',
  params: { n: z.number() },
  outputs: { data: Dataset, double: z.number() },
  async run({ params, outputs }) {
    executions.counted = (executions.counted ?? 0) + 1;
    await outputs.data.writeText(`n=${params.n}`);
    return { double: params.n * 2 };
  },
});

const failOnce = component({
  name: 'er-fail-once',
  params: { flag: z.string(), upstream: z.unknown().optional() },
  outputs: { value: z.string() },
  cache: false,
  run({ params }) {
    executions.failOnce = (executions.failOnce ?? 0) + 1;
    if (!existsSync(params.flag)) {
      writeFileSync(params.flag, 'failed once');
      throw new Error('first attempt fails');
    }
    return { value: 'recovered' };
  },
});

const failOnceSlow = component({
  name: 'er-fail-once-slow',
  params: { flag: z.string(), delayMs: z.number() },
  cache: false,
  async run({ params }) {
    executions.failOnceSlow = (executions.failOnceSlow ?? 0) + 1;
    await pause(params.delayMs);
    if (!existsSync(params.flag)) {
      writeFileSync(params.flag, 'failed once');
      throw new Error('first attempt fails');
    }
  },
});

const tamperInput = component({
  name: 'er-tamper-input',
  inputs: { data: Dataset },
  cache: false,
  async run({ inputs }) {
    // Stored inputs are read-only; a component that owns the file (or runs as root) can still try.
    chmodSync(inputs.data.path, 0o644);
    appendFileSync(inputs.data.path, 'tampered\n');
  },
});

const scalar = component({
  name: 'er-scalar',
  outputs: { value: z.unknown() },
  run: () => ({ value: 5 }),
});

const sleepy = component({
  name: 'er-sleepy',
  params: { ms: z.number() },
  async run({ params }) {
    await pause(params.ms);
  },
});

// ---- harness ----

const root = mkdtempSync(join(tmpdir(), 'lathe-engine-run-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Harness {
  dir: string;
  store: SqliteMetadataStore;
  options(spec: EngineOptions['spec'], extra?: Partial<EngineOptions>): EngineOptions;
}

let harness: Harness;
let counter = 0;

beforeEach(() => {
  events.length = 0;
  gauge.running = 0;
  gauge.max = 0;
  for (const key of Object.keys(executions)) delete executions[key];
  const dir = join(root, `case-${++counter}`);
  const store = SqliteMetadataStore.open(join(dir, 'metadata.db'));
  const artifactRoot = join(dir, 'artifacts');
  const artifacts = new LocalArtifactStore(artifactRoot);
  const executor = new LocalExecutor({ artifacts, artifactRoot });
  harness = {
    dir,
    store,
    options: (spec, extra = {}) => ({
      spec,
      store,
      artifacts,
      executor,
      baseDir: dir,
      concurrency: 8,
      ...extra,
    }),
  };
});

afterEach(async () => {
  await harness.store.close();
});

function statuses(summary: RunSummary): Record<string, TaskStatus> {
  return Object.fromEntries(summary.tasks.map((t) => [t.name, t.status]));
}

function taskOf(summary: RunSummary, name: string): RunSummary['tasks'][number] {
  const found = summary.tasks.find((t) => t.name === name);
  if (!found) throw new Error(`no task '${name}' in ${summary.tasks.map((t) => t.name).join(', ')}`);
  return found;
}

function run(p: Parameters<typeof compilePipeline>[0], params: Record<string, unknown> = {}, extra = {}) {
  return startRun(harness.options(compilePipeline(p), extra), params);
}

// ---- tests ----

describe('readiness and concurrency', () => {
  it('starts the join of a diamond only after both branches have finished', async () => {
    const p = pipeline({ name: 'diamond' }, () => {
      const a = step({ label: 'A', delayMs: 5 }).named('a');
      const b = step({ label: 'B', delayMs: 40, upstream: a.outputs.value }).named('b');
      const c = step({ label: 'C', delayMs: 10, upstream: a.outputs.value }).named('c');
      join2({ label: 'D', left: b.outputs.value, right: c.outputs.value }).named('d');
    });
    const summary = await run(p);
    expect(summary.status).toBe('succeeded');
    expect(statuses(summary)).toEqual({ a: 'succeeded', b: 'succeeded', c: 'succeeded', d: 'succeeded' });
    const at = (e: string) => events.indexOf(e);
    expect(at('B:start')).toBeGreaterThan(at('A:end'));
    expect(at('C:start')).toBeGreaterThan(at('A:end'));
    // B and C overlap: both start before either ends.
    expect(at('C:start')).toBeLessThan(at('B:end'));
    expect(at('D:start')).toBeGreaterThan(at('B:end'));
    expect(at('D:start')).toBeGreaterThan(at('C:end'));
    expect(taskOf(summary, 'd').outputs).toEqual({ value: 'B+C' });
  });

  it('honors the concurrency cap', async () => {
    const p = pipeline({ name: 'concurrency' }, () => {
      for (let i = 0; i < 6; i++) gauged({ i }).named(`g${i}`);
    });
    const summary = await run(p, {}, { concurrency: 2 });
    expect(summary.status).toBe('succeeded');
    expect(summary.counts.succeeded).toBe(6);
    expect(gauge.max).toBe(2);
  });

  it('concurrency 1 runs tasks one at a time', async () => {
    const p = pipeline({ name: 'serial' }, () => {
      parallelFor([1, 2, 3, 4], (i) => gauged({ i, delayMs: 5 }));
    });
    const summary = await run(p, {}, { concurrency: 1 });
    expect(summary.status).toBe('succeeded');
    expect(gauge.max).toBe(1);
  });

  it('honors a parallelFor parallelism cap', async () => {
    const items = Array.from({ length: 20 }, (_, i) => i);
    const p = pipeline({ name: 'parallelism' }, () => {
      const loop = parallelFor(items, (i) => gauged({ i, delayMs: 15 }).named('g'), { parallelism: 3 });
      gather({ values: collect(loop.outputs.i) }).named('all');
    });
    const summary = await run(p, {}, { concurrency: 10 });
    expect(summary.status).toBe('succeeded');
    expect(gauge.max).toBe(3);
    expect(summary.tasks.filter((t) => t.name.startsWith('g[')).map((t) => t.status)).toEqual(
      items.map(() => 'succeeded'),
    );
    expect(taskOf(summary, 'all').outputs).toEqual({ values: items });
  });
});

describe('fan-out and fan-in', () => {
  it('expands nested parallelFor loops with instance names like inner[1][2]', async () => {
    const p = pipeline({ name: 'nested-loops' }, () => {
      parallelFor([0, 1], (o) => {
        const outerTask = step({ label: 'outer', upstream: o }).named('outer');
        parallelFor(['a', 'b', 'c'], (i) =>
          join2({ label: 'inner', left: outerTask.outputs.value, right: i }).named('inner'),
        );
        return outerTask;
      });
    });
    const summary = await run(p);
    expect(summary.status).toBe('succeeded');
    const inner = summary.tasks.filter((t) => t.name.startsWith('inner'));
    expect(inner.map((t) => t.name).sort()).toEqual([
      'inner[0][0]',
      'inner[0][1]',
      'inner[0][2]',
      'inner[1][0]',
      'inner[1][1]',
      'inner[1][2]',
    ]);
    expect(taskOf(summary, 'inner[1][2]').outputs).toEqual({ value: 'outer+c' });
    expect(
      summary.tasks
        .filter((t) => t.name.startsWith('outer'))
        .map((t) => t.name)
        .sort(),
    ).toEqual(['outer[0]', 'outer[1]']);
    const stored = await harness.store.listTasks(summary.runId);
    expect(stored.find((t) => t.name === 'inner[1][2]')?.specTask).toBe('inner');
  });

  it('feeds an inner loop from the outer item and reads item fields', async () => {
    const p = pipeline({ name: 'nested-items' }, () => {
      const rows = parallelFor(
        [
          { name: 'r0', cells: [1, 2] },
          { name: 'r1', cells: [3, 4, 5] },
        ],
        (row) => {
          const cells = parallelFor(row.get('cells'), (cell) =>
            gauged({ i: cell, delayMs: 1 }).named('cell'),
          );
          return gather({ values: collect(cells.outputs.i) }).named('row');
        },
      );
      gather({ values: collect(rows.outputs.values) }).named('table');
    });
    const summary = await run(p);
    expect(summary.status).toBe('succeeded');
    expect(taskOf(summary, 'cell[1][2]').outputs).toEqual({ i: 5 });
    expect(taskOf(summary, 'table').outputs).toEqual({
      values: [
        [1, 2],
        [3, 4, 5],
      ],
    });
  });

  it('fans out over an upstream list output and collects in item order', async () => {
    const p = pipeline({ name: 'fan-out' }, () => {
      const list = listMaker({ n: 5 }).named('list');
      const loop = parallelFor(list.outputs.items, (item) =>
        square({ x: item.get('x'), delay: item.get('delay') }).named('sq'),
      );
      gather({ values: collect(loop.outputs.y) }).named('all');
    });
    const summary = await run(p);
    expect(summary.status).toBe('succeeded');
    // Iterations finished in reverse order...
    expect(events).toEqual(['square(5)', 'square(4)', 'square(3)', 'square(2)', 'square(1)']);
    // ...but the fan-in follows the items.
    expect(taskOf(summary, 'all').outputs).toEqual({ values: [1, 4, 9, 16, 25] });
    expect(taskOf(summary, 'sq[0]').outputs).toEqual({ y: 1 });
  });

  it('collects artifacts into a list input in item order', async () => {
    const p = pipeline({ name: 'collect-artifacts' }, () => {
      const loop = parallelFor(
        [
          { text: 'first', delay: 40 },
          { text: 'second', delay: 20 },
          { text: 'third', delay: 0 },
        ],
        (item) => writeText({ text: item.get('text'), delay: item.get('delay') }).named('w'),
      );
      readAll({ parts: collect(loop.outputs.data) }).named('read');
    });
    const summary = await run(p);
    expect(summary.status).toBe('succeeded');
    expect(taskOf(summary, 'read').outputs).toEqual({ text: 'first,second,third' });
    const events = await harness.store.listEvents({ taskId: `${summary.runId}/read` });
    expect(events.filter((e) => e.kind === 'input').map((e) => e.name)).toEqual([
      'parts[0]',
      'parts[1]',
      'parts[2]',
    ]);
  });

  it('passes an artifact with its metadata downstream', async () => {
    const p = pipeline({ name: 'artifact-flow' }, () => {
      const w = writeText({ text: 'hello' }).named('w');
      readOne({ data: w.outputs.data }).named('r');
    });
    const summary = await run(p);
    expect(summary.status).toBe('succeeded');
    expect(taskOf(summary, 'r').outputs).toEqual({ text: 'hello', length: 5 });
    const out = taskOf(summary, 'w').outputs?.data as { type: string; hash: string };
    expect(out.type).toBe('Dataset');
    expect(out.hash).toMatch(/^sha256:/);
  });

  it('an empty loop succeeds and collects an empty list', async () => {
    const p = pipeline(
      { name: 'empty-loop', params: { items: z.array(z.number()).default([]) } },
      ({ params }) => {
        const loop = parallelFor(params.items, (i) => gauged({ i }).named('g'));
        gather({ values: collect(loop.outputs.i) }).named('all');
      },
    );
    const summary = await run(p);
    expect(summary.status).toBe('succeeded');
    expect(statuses(summary)).toEqual({ all: 'succeeded' });
    expect(taskOf(summary, 'all').outputs).toEqual({ values: [] });
  });

  it('a loop whose items are not a list fails clearly', async () => {
    const logs: string[] = [];
    const reporter: RunReporter = { log: (task, _stream, line) => logs.push(`${task}: ${line}`) };
    const p = pipeline({ name: 'not-a-list' }, () => {
      const s = scalar({}).named('s');
      const loop = parallelFor(s.outputs.value, (i) => gauged({ i }).named('g'));
      gather({ values: collect(loop.outputs.i) }).named('all');
    });
    const summary = await run(p, {}, { reporter });
    expect(summary.status).toBe('failed');
    expect(statuses(summary)).toEqual({ s: 'succeeded', all: 'skipped' });
    expect(taskOf(summary, 'all').reason).toBe("upstream 'loop-1' failed");
    expect(logs).toContain("(run): loop 'loop-1' failed: items: expected a list, got 5");
    expect((await harness.store.getRun(summary.runId))?.status).toBe('failed');
  });

  // Regression: a failed loop is not a task, so RunSummary.error (and the stored run's `error`)
  // used to stay empty, the only trace of *why* the run failed being an unstored reporter log line.
  it('records why a run failed when a loop (not a task) failed', async () => {
    const p = pipeline({ name: 'not-a-list-error' }, () => {
      const s = scalar({}).named('s');
      parallelFor(s.outputs.value, (i) => gauged({ i }).named('g'));
    });
    const summary = await run(p);
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/loop-1.*expected a list/);
    expect((await harness.store.getRun(summary.runId))?.error).toMatch(/expected a list/);
  });
});

describe('conditions', () => {
  const branches = pipeline({ name: 'branches', params: { mode: z.string() } }, ({ params }) => {
    when(params.mode.eq('a'), () => {
      step({ label: 'A' }).named('when-a');
    })
      .elif(params.mode.eq('b'), () => {
        step({ label: 'B' }).named('when-b');
      })
      .otherwise(() => {
        step({ label: 'else' }).named('otherwise');
      });
    step({ label: 'always' }).named('always');
  });

  it.each([
    ['a', { 'when-a': 'succeeded', 'when-b': 'skipped', otherwise: 'skipped', always: 'succeeded' }],
    ['b', { 'when-a': 'skipped', 'when-b': 'succeeded', otherwise: 'skipped', always: 'succeeded' }],
    ['z', { 'when-a': 'skipped', 'when-b': 'skipped', otherwise: 'succeeded', always: 'succeeded' }],
  ])('mode=%s takes exactly one branch', async (mode, expected) => {
    const summary = await run(branches, { mode });
    expect(summary.status).toBe('succeeded');
    expect(statuses(summary)).toEqual(expected);
    for (const t of summary.tasks.filter((t) => t.status === 'skipped')) {
      expect(t.reason).toBe('condition is false');
    }
  });

  it('conditions on an upstream output gate downstream tasks', async () => {
    const p = pipeline({ name: 'output-condition', params: { n: z.number() } }, ({ params }) => {
      const c = counted({ n: params.n }).named('c');
      when(c.outputs.double.gte(10), () => {
        const big = step({ label: 'big' }).named('big');
        step({ label: 'after-big', upstream: big.outputs.value }).named('after-big');
      });
    });
    const small = await run(p, { n: 2 });
    expect(statuses(small)).toEqual({ c: 'succeeded', big: 'skipped', 'after-big': 'skipped' });
    expect(small.status).toBe('succeeded');
    const large = await run(p, { n: 6 });
    expect(statuses(large)).toMatchObject({ big: 'succeeded', 'after-big': 'succeeded' });
  });

  // Regression: when(a).elif(b) compiled the elif guard as and(b, not(a)) (src/dsl/pipeline.ts),
  // so `b` was evaluated even when `a` held, and an elif whose comparison cannot be evaluated for
  // the value that took the first branch failed the run instead of being skipped.
  it('an elif is not evaluated when an earlier branch was taken', async () => {
    const p = pipeline(
      { name: 'elif-guard', params: { level: z.union([z.string(), z.number()]) } },
      ({ params }) => {
        when(params.level.eq('off'), () => {
          step({ label: 'off' }).named('off');
        })
          .elif(params.level.gt(5), () => {
            step({ label: 'high' }).named('high');
          })
          .otherwise(() => {
            step({ label: 'low' }).named('low');
          });
      },
    );
    const summary = await run(p, { level: 'off' });
    expect(statuses(summary)).toEqual({ off: 'succeeded', high: 'skipped', low: 'skipped' });
    expect(summary.status).toBe('succeeded');
  });

  it('skips a chain below a false condition', async () => {
    const p = pipeline({ name: 'skip-chain', params: { go: z.boolean() } }, ({ params }) => {
      when(params.go, () => {
        const x = step({ label: 'x' }).named('x');
        const y = step({ label: 'y', upstream: x.outputs.value }).named('y');
        step({ label: 'z', upstream: y.outputs.value }).named('z');
      });
    });
    const summary = await run(p, { go: false });
    expect(summary.status).toBe('succeeded');
    expect(statuses(summary)).toEqual({ x: 'skipped', y: 'skipped', z: 'skipped' });
    expect(taskOf(summary, 'x').reason).toBe('condition is false');
    expect(taskOf(summary, 'y').reason).toBe("upstream 'x' was skipped");
    expect(taskOf(summary, 'z').reason).toBe("upstream 'y' was skipped");
    expect(events).toEqual([]);
  });

  // Regression: createScope() (src/engine/run-engine.ts) wires every node of a scope, then
  // dispatches each node whose `waiting` is 0. `x` is skipped synchronously inside that loop and
  // notifies `y`, which is skipped and notifies `z`; the loop then reached `y` and `z` (now at
  // waiting 0) and settled them a second time: `open` dropped to 0 too early, and the run resolved
  // (status 'succeeded') before `other`, later in the same scope, had started.
  it('waits for every task when a chain below a false condition is skipped', async () => {
    const p = pipeline({ name: 'skip-chain-other', params: { go: z.boolean() } }, ({ params }) => {
      when(params.go, () => {
        const x = step({ label: 'x' }).named('x');
        const y = step({ label: 'y', upstream: x.outputs.value }).named('y');
        step({ label: 'z', upstream: y.outputs.value }).named('z');
      });
      step({ label: 'other', delayMs: 20 }).named('other');
    });
    try {
      const summary = await run(p, { go: false });
      expect(statuses(summary)).toEqual({ x: 'skipped', y: 'skipped', z: 'skipped', other: 'succeeded' });
      expect(events).toEqual(['other:start', 'other:end']);
    } finally {
      await pause(100); // let a task the engine left behind finish before the next test
    }
  });

  // Same regression: the exit handler was released early and ran before `slow` had even started.
  it('starts the exit handler only after every other task when a skipped chain exists', async () => {
    const p = pipeline({ name: 'skip-chain-exit', params: { go: z.boolean() } }, ({ params }) => {
      when(params.go, () => {
        const x = step({ label: 'x' }).named('x');
        const y = step({ label: 'y', upstream: x.outputs.value }).named('y');
        step({ label: 'z', upstream: y.outputs.value }).named('z');
      });
      step({ label: 'slow', delayMs: 50 }).named('slow');
      onExit(notify({ status: '{{run.status}}', run: '{{run.id}}' }).named('notify'));
    });
    const ended: string[] = [];
    const reporter: RunReporter = { taskEnded: (task) => ended.push(task) };
    try {
      const summary = await run(p, { go: false }, { reporter });
      expect(summary.status).toBe('succeeded');
      expect(events).toEqual(['slow:start', 'slow:end', 'notify:succeeded']);
      expect(ended.sort()).toEqual(['notify', 'slow', 'x', 'y', 'z']);
    } finally {
      await pause(150);
    }
  });

  it('a condition that cannot be evaluated fails the task with a clear error', async () => {
    const p = pipeline(
      { name: 'bad-condition', params: { level: z.union([z.string(), z.number()]) } },
      ({ params }) => {
        when(params.level.gt(5), () => {
          step({ label: 'high' }).named('high');
        });
      },
    );
    const summary = await run(p, { level: 'x' });
    expect(summary.status).toBe('failed');
    expect(taskOf(summary, 'high').status).toBe('failed');
    expect(taskOf(summary, 'high').error).toContain('condition: cannot compare "x" gt 5');
  });
});

describe('failures, exit handlers, retries', () => {
  it('a failed task skips its downstream but not independent branches', async () => {
    const p = pipeline({ name: 'failure' }, () => {
      const bad = explode({}).named('bad');
      const down = step({ label: 'down', upstream: bad.outputs.value }).named('down');
      step({ label: 'down2' }).named('down2').after(down);
      const indep = step({ label: 'indep', delayMs: 20 }).named('indep');
      step({ label: 'indep2', upstream: indep.outputs.value }).named('indep2');
    });
    const summary = await run(p);
    expect(summary.status).toBe('failed');
    expect(statuses(summary)).toEqual({
      bad: 'failed',
      down: 'skipped',
      down2: 'skipped',
      indep: 'succeeded',
      indep2: 'succeeded',
    });
    expect(taskOf(summary, 'bad').error).toContain('boom');
    expect(taskOf(summary, 'down').reason).toBe("upstream 'bad' failed");
    expect(taskOf(summary, 'down2').reason).toBe("upstream 'down' was skipped");
    expect(summary.error).toContain("task 'bad'");
    expect(summary.error).toContain('boom');
    expect(summary.counts).toMatchObject({ failed: 1, skipped: 2, succeeded: 2 });
    const record = await harness.store.getRun(summary.runId);
    expect(record?.status).toBe('failed');
    const stored = await harness.store.getTask(`${summary.runId}/down`);
    expect(stored?.status).toBe('skipped');
    expect(stored?.reason).toBe("upstream 'bad' failed");
  });

  it('a failed loop iteration fails the loop and skips the fan-in', async () => {
    const p = pipeline({ name: 'loop-failure' }, () => {
      const loop = parallelFor(['ok', 'bad', 'ok2'], (m) => {
        when(m.eq('bad'), () => {
          explode({ message: 'iteration failed' }).named('x');
        });
        return step({ label: m }).named('s');
      });
      gather({ values: collect(loop.outputs.value) }).named('all');
    });
    const summary = await run(p);
    expect(summary.status).toBe('failed');
    expect(statuses(summary)).toMatchObject({
      'x[0]': 'skipped',
      'x[1]': 'failed',
      'x[2]': 'skipped',
      's[0]': 'succeeded',
      's[1]': 'succeeded',
      all: 'skipped',
    });
    expect(taskOf(summary, 'all').reason).toBe("upstream 'loop-1' failed");
  });

  it('runs the exit handler after a failure; it sees status failed', async () => {
    const p = pipeline({ name: 'exit-failed' }, () => {
      explode({}).named('bad');
      step({ label: 'slow', delayMs: 30 }).named('slow');
      onExit(notify({ status: '{{run.status}}', run: '{{run.id}}' }).named('notify'));
    });
    const summary = await run(p);
    expect(summary.status).toBe('failed');
    expect(taskOf(summary, 'notify').status).toBe('succeeded');
    expect(events.at(-1)).toBe('notify:failed');
    expect(events.indexOf('notify:failed')).toBeGreaterThan(events.indexOf('slow:end'));
    const stored = await harness.store.getTask(`${summary.runId}/notify`);
    expect(stored?.params).toEqual({ status: 'failed', run: summary.runId });
  });

  it('runs the exit handler after success; it sees status succeeded', async () => {
    const p = pipeline({ name: 'exit-ok' }, () => {
      step({ label: 'work', delayMs: 10 }).named('work');
      onExit(notify({ status: '{{run.status}}', run: '{{run.pipeline}}' }).named('notify'));
    });
    const summary = await run(p);
    expect(summary.status).toBe('succeeded');
    expect(events).toEqual(['work:start', 'work:end', 'notify:succeeded']);
  });

  it('retries, then succeeds, and records every attempt', async () => {
    const retrying: Array<[number, number]> = [];
    const reporter: RunReporter = {
      taskRetrying: (_task, attempt, delay) => retrying.push([attempt, delay]),
    };
    const p = pipeline({ name: 'retry' }, () => {
      flaky({ failTimes: 2 }).named('flaky').retry({ attempts: 4, backoff: 5, factor: 2 });
    });
    const summary = await run(p, {}, { reporter });
    expect(summary.status).toBe('succeeded');
    const task = taskOf(summary, 'flaky');
    expect(task.attempts).toBe(3);
    expect(task.outputs).toEqual({ attempt: 3 });
    expect(retrying).toEqual([
      [2, 5],
      [3, 10],
    ]);
    const attempts = await harness.store.listAttempts(`${summary.runId}/flaky`);
    expect(attempts.map((a) => [a.attempt, a.status])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, 'succeeded'],
    ]);
    expect(attempts[0]?.error).toContain('attempt 1 fails');
    expect((await harness.store.getTask(`${summary.runId}/flaky`))?.attempts).toBe(3);
  });

  it('fails after the last attempt', async () => {
    const p = pipeline({ name: 'retry-exhausted' }, () => {
      flaky({ failTimes: 5 }).named('flaky').retry({ attempts: 2, backoff: 1 });
    });
    const summary = await run(p);
    expect(summary.status).toBe('failed');
    expect(taskOf(summary, 'flaky').attempts).toBe(2);
    expect(taskOf(summary, 'flaky').error).toContain('attempt 2 fails');
  });

  it('times out a slow task', async () => {
    const p = pipeline({ name: 'timeout' }, () => {
      sleepy({ ms: 3000 }).named('slow').timeout(50);
    });
    const started = Date.now();
    const summary = await run(p);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(summary.status).toBe('failed');
    expect(taskOf(summary, 'slow').error).toContain("task 'slow' timed out after 50 ms");
  });
});

describe('cache', () => {
  const cachedPipeline = pipeline({ name: 'cache', params: { n: z.number() } }, ({ params }) => {
    const c = counted({ n: params.n }).named('c');
    readOne({ data: c.outputs.data }).named('r');
  });

  it('hits on the second run and misses after a param changes', async () => {
    const spec = compilePipeline(cachedPipeline);
    const first = await startRun(harness.options(spec), { n: 2 });
    expect(statuses(first)).toEqual({ c: 'succeeded', r: 'succeeded' });
    expect(executions.counted).toBe(1);

    const second = await startRun(harness.options(spec), { n: 2 });
    expect(second.status).toBe('succeeded');
    expect(statuses(second)).toEqual({ c: 'cached', r: 'cached' });
    expect(executions.counted).toBe(1);
    expect(taskOf(second, 'c').outputs).toEqual(taskOf(first, 'c').outputs);
    expect(taskOf(second, 'r').outputs).toEqual({ text: 'n=2', length: null });
    const record = await harness.store.getTask(`${second.runId}/c`);
    expect(record?.cachedFrom).toBe(`${first.runId}/c`);
    expect(record?.cacheKey).toBe((await harness.store.getTask(`${first.runId}/c`))?.cacheKey);

    const third = await startRun(harness.options(spec), { n: 3 });
    expect(statuses(third)).toEqual({ c: 'succeeded', r: 'succeeded' });
    expect(executions.counted).toBe(2);
    expect(taskOf(third, 'r').outputs).toMatchObject({ text: 'n=3' });
  });

  it('hits across a recompile of the same pipeline', async () => {
    await run(cachedPipeline, { n: 4 });
    const again = await run(cachedPipeline, { n: 4 });
    expect(statuses(again)).toEqual({ c: 'cached', r: 'cached' });
    expect(executions.counted).toBe(1);
  });

  it('is not read with cache: false, nor for tasks with .cache(false)', async () => {
    await run(cachedPipeline, { n: 5 });
    const noCache = await run(cachedPipeline, { n: 5 }, { cache: false });
    expect(statuses(noCache)).toEqual({ c: 'succeeded', r: 'succeeded' });
    expect(executions.counted).toBe(2);

    const p = pipeline({ name: 'cache-off' }, () => {
      counted({ n: 1 }).named('c').cache(false);
    });
    await run(p);
    const again = await run(p);
    expect(statuses(again)).toEqual({ c: 'succeeded' });
    expect(executions.counted).toBe(4);
  });
});

describe('resume', () => {
  it('re-runs only the failed and skipped tasks, under the same run id', async () => {
    const flag = join(harness.dir, 'flag');
    const p = pipeline({ name: 'resume' }, () => {
      step({ label: 'a' }).named('a');
      const f = failOnce({ flag }).named('f');
      step({ label: 'c', upstream: f.outputs.value }).named('c');
      step({ label: 'd', delayMs: 10 }).named('d');
    });
    const spec = compilePipeline(p);
    const first = await startRun(harness.options(spec, { cache: false }), {});
    expect(first.status).toBe('failed');
    expect(statuses(first)).toEqual({ a: 'succeeded', f: 'failed', c: 'skipped', d: 'succeeded' });
    expect(executions).toEqual({ a: 1, failOnce: 1, d: 1 });

    const resumed = await resumeRun(harness.options(spec, { cache: false }), first.runId);
    expect(resumed.runId).toBe(first.runId);
    expect(resumed.status).toBe('succeeded');
    expect(statuses(resumed)).toEqual({ a: 'succeeded', f: 'succeeded', c: 'succeeded', d: 'succeeded' });
    // a and d were not run again; f ran a second time, c for the first time.
    expect(executions).toEqual({ a: 1, failOnce: 2, d: 1, c: 1 });
    expect(taskOf(resumed, 'a').outputs).toEqual({ value: 'a' });
    expect(taskOf(resumed, 'c').outputs).toEqual({ value: 'c' });
    expect(taskOf(resumed, 'f').attempts).toBe(2);
    const record = await harness.store.getRun(first.runId);
    expect(record?.status).toBe('succeeded');
    expect(record?.error).toBeNull();
    const tasks = await harness.store.listTasks(first.runId);
    expect(tasks.map((t) => [t.name, t.status]).sort()).toEqual([
      ['a', 'succeeded'],
      ['c', 'succeeded'],
      ['d', 'succeeded'],
      ['f', 'succeeded'],
    ]);
    const attempts = await harness.store.listAttempts(`${first.runId}/f`);
    expect(attempts.map((a) => [a.attempt, a.status])).toEqual([
      [1, 'failed'],
      [2, 'succeeded'],
    ]);
  });

  it('passes the outputs of already-succeeded tasks to re-run tasks', async () => {
    const flag = join(harness.dir, 'flag');
    const p = pipeline({ name: 'resume-outputs' }, () => {
      const w = writeText({ text: 'kept' }).named('w');
      const f = failOnce({ flag }).named('f');
      readOne({ data: w.outputs.data }).named('r').after(f);
    });
    const spec = compilePipeline(p);
    const first = await startRun(harness.options(spec, { cache: false }), {});
    expect(statuses(first)).toEqual({ w: 'succeeded', f: 'failed', r: 'skipped' });
    const resumed = await resumeRun(harness.options(spec, { cache: false }), first.runId);
    expect(resumed.status).toBe('succeeded');
    expect(taskOf(resumed, 'r').outputs).toEqual({ text: 'kept', length: 4 });
  });

  // Regression: createScope() (src/engine/run-engine.ts) wires every node, then dispatches each
  // node whose `waiting` is 0. A resumed task completes synchronously inside that loop and
  // notifies its dependents, which reach waiting 0 and start; the loop must not start them again.
  it('runs a task downstream of a resumed task exactly once', async () => {
    const flag = join(harness.dir, 'flag');
    const p = pipeline({ name: 'resume-downstream' }, () => {
      const a = step({ label: 'a' }).named('a');
      failOnce({ flag, upstream: a.outputs.value }).named('f');
    });
    const spec = compilePipeline(p);
    const first = await startRun(harness.options(spec, { cache: false }), {});
    expect(statuses(first)).toEqual({ a: 'succeeded', f: 'failed' });
    const resumed = await resumeRun(harness.options(spec, { cache: false }), first.runId);
    expect(resumed.status).toBe('succeeded');
    expect(executions.failOnce).toBe(2);
    expect(taskOf(resumed, 'f').attempts).toBe(2);
    expect(await harness.store.listAttempts(`${first.runId}/f`)).toHaveLength(2);
  });

  // BUG (src/engine/run-engine.ts, createScope + onDependenciesDone): same double dispatch while the
  // concurrency cap is full. Resuming `a` enqueues `f`, which stays 'pending' in the ready queue
  // because `busy` holds the only slot; the createScope loop then reaches `f` (waiting 0, status
  // still 'pending', so the `status !== 'pending'` guard does not stop it) and enqueues it again:
  // `f` runs twice (attempts 2 and 3). Fix: collect the nodes with waiting 0 *before* dispatching
  // any of them in createScope.
  it('runs a queued task downstream of a resumed task exactly once', async () => {
    const flag = join(harness.dir, 'flag');
    const busyFlag = join(harness.dir, 'busy-flag');
    const p = pipeline({ name: 'resume-downstream-queued' }, () => {
      failOnceSlow({ flag: busyFlag, delayMs: 30 }).named('busy');
      const a = step({ label: 'a' }).named('a');
      failOnce({ flag, upstream: a.outputs.value }).named('f');
    });
    const spec = compilePipeline(p);
    const first = await startRun(harness.options(spec, { cache: false, concurrency: 1 }), {});
    expect(statuses(first)).toEqual({ busy: 'failed', a: 'succeeded', f: 'failed' });
    const resumed = await resumeRun(harness.options(spec, { cache: false, concurrency: 1 }), first.runId);
    expect(resumed.status).toBe('succeeded');
    expect(executions).toEqual({ failOnceSlow: 2, a: 1, failOnce: 2 });
    expect(taskOf(resumed, 'f').attempts).toBe(2);
    expect(await harness.store.listAttempts(`${first.runId}/f`)).toHaveLength(2);
  });

  it('resumes inside loops: only failed iterations run again', async () => {
    const flag = join(harness.dir, 'loop-flag');
    const p = pipeline({ name: 'resume-loop' }, () => {
      const loop = parallelFor(['x', 'y', 'z'], (m) => {
        when(m.eq('y'), () => {
          failOnce({ flag }).named('f');
        });
        return step({ label: m }).named('s');
      });
      gather({ values: collect(loop.outputs.value) }).named('all');
    });
    const spec = compilePipeline(p);
    const first = await startRun(harness.options(spec, { cache: false }), {});
    expect(first.status).toBe('failed');
    expect(executions).toMatchObject({ x: 1, y: 1, z: 1, failOnce: 1 });
    const resumed = await resumeRun(harness.options(spec, { cache: false }), first.runId);
    expect(resumed.status).toBe('succeeded');
    expect(executions).toMatchObject({ x: 1, y: 1, z: 1, failOnce: 2 });
    expect(taskOf(resumed, 'all').outputs).toEqual({ values: ['x', 'y', 'z'] });
  });

  it('refuses to resume a run another runner has claimed since the caller checked it', async () => {
    const flag = join(harness.dir, 'claim-flag');
    const p = pipeline({ name: 'resume-claim' }, () => {
      failOnce({ flag }).named('f');
    });
    const spec = compilePipeline(p);
    const first = await startRun(harness.options(spec, { cache: false }), {});
    const checked = (await harness.store.getRun(first.runId))!;
    // Another resume got there first.
    await harness.store.commit([
      {
        op: 'claimRun',
        id: first.runId,
        expected: { pid: checked.runnerPid, host: checked.runnerHost },
        runner: { pid: 999_999, host: 'elsewhere' },
      },
    ]);
    await expect(
      resumeRun(harness.options(spec, { cache: false }), first.runId, checked),
    ).rejects.toMatchObject({
      code: 'RUN_CLAIMED',
    });
    expect(executions.failOnce).toBe(1);
  });

  it('rejects an unknown run id', async () => {
    const spec = compilePipeline(pipeline({ name: 'nothing' }, () => step({ label: 'n' }) && undefined));
    await expect(resumeRun(harness.options(spec), 'nope')).rejects.toThrow("no run matches 'nope'");
  });
});

describe('params', () => {
  it('validates pipeline params before starting', async () => {
    const p = pipeline({ name: 'run-params', params: { n: z.number().int() } }, ({ params }) => {
      counted({ n: params.n }).named('c');
    });
    await expect(run(p, { n: 1.5 })).rejects.toThrow("pipeline param 'n': 1.5 is invalid");
    await expect(run(p, {})).rejects.toThrow("pipeline param 'n': required");
    await expect(run(p, { n: 1, m: 2 })).rejects.toThrow("pipeline param 'm': no such param");
  });

  it('fails a task whose param, resolved from an upstream output, is invalid', async () => {
    const p = pipeline({ name: 'bad-upstream-value' }, () => {
      const s = step({ label: 'text' }).named('s');
      counted({ n: s.outputs.value as never }).named('c');
    });
    const summary = await run(p);
    expect(summary.status).toBe('failed');
    expect(taskOf(summary, 'c').error).toContain(`task 'c', param 'n': "text" is invalid`);
  });
});

describe('cancel, backoff and upstream failures (review findings)', () => {
  it('a cancel with tasks parked by a loop cap still finishes the run and runs the exit handler', async () => {
    const p = pipeline({ name: 'cancel-parked' }, () => {
      parallelFor([1, 2, 3, 4], (i) => gauged({ i, delayMs: 300 }).named('slow'), { parallelism: 1 });
      onExit(notify({ status: '{{run.status}}', run: '{{run.id}}' }).named('notify'));
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const summary = await run(p, {}, { signal: controller.signal });
    expect(summary.status).toBe('canceled');
    expect(statuses(summary)).toMatchObject({
      'slow[1]': 'skipped',
      'slow[2]': 'skipped',
      'slow[3]': 'skipped',
    });
    expect(taskOf(summary, 'slow[1]').reason).toBe('run canceled');
    expect(events).toContain('notify:canceled');
  });

  it('a cancel during a retry backoff fails the task without another attempt', async () => {
    const p = pipeline({ name: 'cancel-backoff' }, () => {
      flaky({ failTimes: 5 }).named('f').retry({ attempts: 3, backoff: '5s' });
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);
    const started = Date.now();
    const summary = await run(p, {}, { signal: controller.signal });
    expect(Date.now() - started).toBeLessThan(4000);
    expect(summary.status).toBe('canceled');
    expect(taskOf(summary, 'f')).toMatchObject({ status: 'failed', attempts: 1 });
    expect(taskOf(summary, 'f').error).toMatch(/attempt 1 fails; run canceled/);
  });

  it('a task waiting out its backoff does not hold a concurrency slot', async () => {
    const p = pipeline({ name: 'backoff-slot' }, () => {
      flaky({ failTimes: 1 }).named('f').retry({ attempts: 2, backoff: '600ms' });
      step({ label: 'g', delayMs: 10 }).named('g');
    });
    const started = Date.now();
    let gEnded = 0;
    const reporter: RunReporter = {
      taskEnded: (task) => {
        if (task === 'g') gEnded = Date.now() - started;
      },
    };
    const summary = await run(p, {}, { concurrency: 1, reporter });
    expect(statuses(summary)).toEqual({ f: 'succeeded', g: 'succeeded' });
    expect(taskOf(summary, 'f').attempts).toBe(2);
    // g ran during f's backoff, not after it.
    expect(gEnded).toBeLessThan(550);
  });

  it('a collect after a loop whose iterations were skipped by an upstream failure is skipped', async () => {
    const p = pipeline({ name: 'collect-after-failure' }, () => {
      const prep = explode({}).named('prep');
      const loop = parallelFor([1, 2, 3], (i) => gauged({ i, delayMs: 0 }).named('g').after(prep));
      gather({ values: collect(loop.outputs.i) }).named('all');
    });
    const summary = await run(p);
    expect(summary.status).toBe('failed');
    expect(statuses(summary)).toMatchObject({ prep: 'failed', 'g[0]': 'skipped', all: 'skipped' });
    expect(taskOf(summary, 'all').reason).toBe("upstream 'loop-1' failed");
  });

  it('a collect after iterations skipped by a false condition still runs on the rest', async () => {
    const p = pipeline({ name: 'collect-after-condition' }, () => {
      const loop = parallelFor([1, 2, 3], (i) => {
        when(i.gt(1), () => {
          gauged({ i, delayMs: 0 }).named('g');
        });
        return {};
      });
      void loop;
      const inner = parallelFor([1, 2, 3], (i) => {
        const s = step({ label: 'x', upstream: i }).named('s');
        return { value: s.outputs.value };
      });
      gather({ values: collect(inner.outputs.value) }).named('all');
    });
    const summary = await run(p);
    expect(summary.status).toBe('succeeded');
    expect(statuses(summary)).toMatchObject({ 'g[0]': 'skipped', 'g[1]': 'succeeded', all: 'succeeded' });
  });
});

describe('stored inputs', () => {
  it('fails a task that writes to its input, without retrying it', async () => {
    const p = pipeline({ name: 'tamper-input' }, () => {
      const w = writeText({ text: 'original' }).named('w');
      tamperInput({ data: w.outputs.data }).named('t').retry(3);
    });
    const summary = await run(p);
    expect(summary.status).toBe('failed');
    expect(taskOf(summary, 't')).toMatchObject({ status: 'failed', attempts: 1 });
    expect(taskOf(summary, 't').error).toMatch(/task 't' modified its input 'data'/);
  });
});
