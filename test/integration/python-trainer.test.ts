/**
 * pythonTrainer (lathe/ml) and its Python side, lathe_step: real /usr/bin/python3 processes run
 * scripts written here. The convention (typed params, inputs, outputs, metrics to a Metrics
 * artifact and scalars), failures (a Python exception, a missing output), cache invalidation when
 * the script changes, and Parquet inputs (toCsv, or a clear error without pyarrow).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Artifact, Dataset, Model } from '../../src/dsl/artifacts.js';
import { component } from '../../src/dsl/component.js';
import { pipeline } from '../../src/dsl/pipeline.js';
import { when, z } from '../../src/index.js';
import { PYTHON_HELPER_DIR, pythonTrainer, toCsv } from '../../src/ml/python.js';
import { runComponent, runPipeline } from '../../src/testing/index.js';

const python = '/usr/bin/python3';
const can = (module: string) => spawnSync(python, ['-c', `import ${module}`]).status === 0;
const hasPython = spawnSync(python, ['-c', 'pass']).status === 0;
const hasPandas = can('pandas');
const hasParquetReader = can('pyarrow') || can('fastparquet');
if (!hasPython) console.warn(`[python-trainer tests skipped: ${python} cannot run]`);

const dir = mkdtempSync(join(tmpdir(), 'lathe-python-trainer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const csvPath = write('data.csv', 'x,y\n1,0\n2,1\n3,1\n');
const partA = write('part-a.txt', 'a');
const partB = write('part-b.txt', 'bb');

const echoScript = write(
  'echo.py',
  `import json, os, lathe_step
ctx = lathe_step.context()
with open(ctx.inputs["data"]) as f:
    rows = len(f.read().strip().splitlines()) - 1
with open(ctx.outputs["model"], "w") as f:
    json.dump({"params": ctx.params, "parts": [os.path.getsize(p) for p in ctx.inputs["parts"]],
               "extra": ctx.inputs["extra"], "task": ctx.task, "attempt": ctx.attempt}, f)
os.mkdir(ctx.outputs["report"])
with open(os.path.join(ctx.outputs["report"], "index.txt"), "w") as f:
    f.write("a directory artifact")
ctx.set_scalar("rows", rows)
ctx.write_metrics({"accuracy": 0.75, "loss": float("nan"), "n": rows})
print("done", flush=True)
`,
);

const echo = pythonTrainer({
  name: 'pytest.echo',
  script: echoScript,
  inputs: { data: Dataset, parts: Artifact.list(), extra: Artifact.optional() },
  params: {
    depth: z.number().int().default(3),
    rate: z.number().default(0.5),
    flag: z.boolean().default(true),
    code: z.string().default('42'),
    kind: z.enum(['a', 'b']).default('b'),
    tags: z.array(z.string()).default(['x', 'y z']),
    options: z.object({ k: z.number() }).default({ k: 1 }),
    note: z.string().optional(),
    limit: z.number().optional(),
  },
  outputs: { report: Artifact },
  scalars: { accuracy: z.number(), rows: z.number().int() },
});

describe.skipIf(!hasPython)('pythonTrainer', () => {
  it('passes typed params, input paths and output paths; metrics become a Metrics artifact and scalars', async () => {
    await using run = await runComponent(echo, {
      inputs: { data: csvPath, parts: [partA, partB] },
      params: { depth: 7, code: '007' },
    });
    const task = run.tasks['pytest.echo']!;
    expect(task.status, task.error).toBe('succeeded');
    expect(task.logs).toContain('done');
    expect(task.outputs.accuracy).toBe(0.75);
    expect(task.outputs.rows).toBe(3);
    expect(await run.artifactJson('pytest.echo', 'model')).toEqual({
      params: {
        depth: 7,
        rate: 0.5,
        flag: true,
        code: '007',
        kind: 'b',
        tags: ['x', 'y z'],
        options: { k: 1 },
        note: null,
        limit: null,
      },
      parts: [1, 2],
      extra: null,
      task: 'pytest.echo',
      attempt: 1,
    });
    // NaN has no JSON form: written as null, with a warning in the log.
    expect(await run.artifactJson('pytest.echo', 'metrics')).toEqual({ accuracy: 0.75, loss: null, n: 3 });
    expect(task.logs.some((line) => line.includes("metrics['loss'] is nan"))).toBe(true);
    expect(task.outputs.metrics).toMatchObject({ type: 'Metrics' });
    expect(task.outputs.report).toMatchObject({ type: 'Artifact' });
  });

  it('feeds a scalar to `when` and the model to the next step', async () => {
    const script = write(
      'gate.py',
      `import lathe_step
ctx = lathe_step.context()
open(ctx.outputs["model"], "w").write("m")
ctx.write_metrics({"accuracy": ctx.params["accuracy"]})
`,
    );
    const train = pythonTrainer({
      name: 'pytest.gate-train',
      script,
      inputs: {},
      params: { accuracy: z.number() },
      scalars: { accuracy: z.number().min(0).max(1) },
    });
    const use = component({
      name: 'pytest.gate-use',
      inputs: { model: Model },
      outputs: { text: z.string() },
      async run({ inputs }) {
        return { text: await inputs.model.readText() };
      },
    });
    const gated = pipeline({ name: 'pytest-gate', params: { accuracy: z.number() } }, ({ params }) => {
      const trained = train({ accuracy: params.accuracy });
      when(trained.outputs.accuracy.gte(0.9), () => use({ model: trained.outputs.model }));
    });
    await using pass = await runPipeline(gated, { params: { accuracy: 0.95 } });
    expect(pass.tasks['pytest.gate-use']?.outputs.text).toBe('m');
    await using fail = await runPipeline(gated, { params: { accuracy: 0.5 } });
    expect(fail.tasks['pytest.gate-use']?.status).toBe('skipped');
  });

  it("fails the task with the last line of a Python exception's traceback", async () => {
    const raising = pythonTrainer({
      name: 'pytest.raises',
      script: write(
        'raises.py',
        `import lathe_step
ctx = lathe_step.context()
def fit(label):
    raise ValueError(f"label column {label!r} has 1 class")
fit(ctx.params["label"])
`,
      ),
      inputs: {},
      params: { label: z.string().default('y') },
    });
    await using run = await runComponent(raising);
    const task = run.tasks['pytest.raises']!;
    expect(task.status).toBe('failed');
    expect(task.error).toContain('exited with code 1');
    expect(task.error).toContain("ValueError: label column 'y' has 1 class");
    expect(task.logs.some((line) => line.startsWith('Traceback'))).toBe(true);
  });

  it('names a missing output: the model file, or a scalar absent from the metrics', async () => {
    const noModel = pythonTrainer({
      name: 'pytest.no-model',
      script: write(
        'no-model.py',
        'import lathe_step\nlathe_step.context().write_metrics({"accuracy": 1})\n',
      ),
      inputs: {},
    });
    await using first = await runComponent(noModel);
    expect(first.tasks['pytest.no-model']?.status).toBe('failed');
    expect(first.tasks['pytest.no-model']?.error).toMatch(/did not write its output 'model'/);

    const noScalar = pythonTrainer({
      name: 'pytest.no-scalar',
      script: write(
        'no-scalar.py',
        'import lathe_step\nctx = lathe_step.context()\nopen(ctx.outputs["model"], "w").write("m")\nctx.write_metrics({"acc": 1})\n',
      ),
      inputs: {},
      scalars: { accuracy: z.number() },
    });
    await using second = await runComponent(noScalar);
    expect(second.tasks['pytest.no-scalar']?.status).toBe('failed');
    expect(second.tasks['pytest.no-scalar']?.error).toMatch(/did not write its output 'accuracy'/);
  });

  it('explains a name the step does not have', async () => {
    const typo = pythonTrainer({
      name: 'pytest.typo',
      script: write('typo.py', 'import lathe_step\nlathe_step.context().inputs["train"]\n'),
    });
    await using run = await runComponent(typo, { inputs: { data: csvPath } });
    expect(run.tasks['pytest.typo']?.error).toContain(
      "LatheStepError: no input named 'train' (the step has: data)",
    );
  });

  it('re-runs the step when the script changes, and not otherwise', async () => {
    const home = join(dir, 'cache-home');
    const source = write('cache-pipeline.ts', '// the pipeline module: its directory is where steps run\n');
    const script = write('cached.py', scriptWriting(1));
    const cached = pythonTrainer({ name: 'pytest.cached', script: 'cached.py', inputs: {} });
    const absolute = pythonTrainer({ name: 'pytest.cached-abs', script, inputs: {} });
    const both = pipeline({ name: 'pytest-cache' }, () => {
      cached({});
      absolute({});
    });
    const statuses = async () => {
      await using run = await runPipeline(both, { home, source, cache: true });
      return [run.tasks['pytest.cached']?.status, run.tasks['pytest.cached-abs']?.status];
    };
    expect(await statuses()).toEqual(['succeeded', 'succeeded']);
    expect(await statuses()).toEqual(['cached', 'cached']);
    writeFileSync(script, scriptWriting(2));
    expect(await statuses()).toEqual(['succeeded', 'succeeded']);
    expect(await statuses()).toEqual(['cached', 'cached']);
  });

  it('reports a missing interpreter by its path', async () => {
    const step = pythonTrainer({
      name: 'pytest.no-python',
      script: echoScript,
      inputs: {},
      python: join(dir, 'no-python'),
    });
    await using run = await runComponent(step);
    expect(run.tasks['pytest.no-python']?.error).toContain(
      `command '${join(dir, 'no-python')}' was not found`,
    );
  });

  it('hands Parquet datasets to Python as CSV with toCsv, and says so when Python cannot read Parquet', async () => {
    if (!hasPandas) {
      console.warn('[skipped: pandas is not importable]');
      return;
    }
    const script = write(
      'frame.py',
      `import lathe_step
ctx = lathe_step.context()
frame = ctx.read_table("data")
open(ctx.outputs["model"], "w").write("m")
ctx.write_metrics({"rows": len(frame), "mean_x": frame["x"].mean(), "columns": list(frame.columns)})
`,
    );
    const read = pythonTrainer({ name: 'pytest.frame', script, scalars: { rows: z.number() } });
    const ingest = component({
      name: 'pytest.parquet',
      outputs: { data: Dataset },
      async run({ outputs }) {
        const { DataEngine } = await import('../../src/data/duckdb.js');
        const engine = await DataEngine.open();
        try {
          await engine.run(
            `COPY (SELECT range::DOUBLE AS x, 'r' || range AS name FROM range(5)) TO '${outputs.data.path}' (FORMAT parquet, COMPRESSION zstd)`,
          );
        } finally {
          engine.close();
        }
      },
    });
    const viaCsv = pipeline({ name: 'pytest-parquet-csv' }, () => {
      read({ data: toCsv({ dataset: ingest({}).outputs.data }).outputs.csv });
    });
    await using converted = await runPipeline(viaCsv);
    expect(converted.tasks['pytest.frame']?.status, converted.tasks['pytest.frame']?.error).toBe('succeeded');
    expect(await converted.artifactJson('pytest.frame', 'metrics')).toEqual({
      rows: 5,
      mean_x: 2,
      columns: ['x', 'name'],
    });
    expect(await converted.artifactText('ml.to-csv', 'csv')).toBe(
      'x,name\n0.0,r0\n1.0,r1\n2.0,r2\n3.0,r3\n4.0,r4\n',
    );

    if (hasParquetReader) return;
    const direct = pipeline({ name: 'pytest-parquet-direct' }, () => {
      read({ data: ingest({}).outputs.data });
    });
    await using failed = await runPipeline(direct);
    expect(failed.tasks['pytest.frame']?.error).toMatch(/input 'data' is a Parquet file .* toCsv/);
  });

  it('rejects reserved names when the component is defined', () => {
    expect(() =>
      pythonTrainer({ name: 'pytest.bad-1', script: 'x.py', params: { python: z.string() } }),
    ).toThrow(/param name 'python' is reserved/);
    expect(() =>
      pythonTrainer({ name: 'pytest.bad-2', script: 'x.py', scalars: { metrics: z.number() } }),
    ).toThrow(/output name 'metrics' is reserved/);
    expect(() =>
      pythonTrainer({ name: 'pytest.bad-3', script: new URL('https://example.com/x.py') }),
    ).toThrow(/must be a file: URL/);
  });
});

describe.skipIf(!hasPython)('lathe_step by hand', () => {
  it('takes a --param that is not JSON as a string, and keeps unknown arguments', () => {
    const out = spawnSync(
      python,
      [
        '-c',
        'import json, lathe_step; c = lathe_step.context(); print(json.dumps([c.params, c.args, c.run_id]))',
        '--param',
        'n=3',
        '--param',
        'label=diagnosis',
        '--param-str',
        'code=12',
        '--verbose',
      ],
      { encoding: 'utf8', env: { ...process.env, PYTHONPATH: PYTHON_HELPER_DIR, LATHE_RUN_ID: '' } },
    );
    expect(out.stderr).toBe('');
    expect(JSON.parse(out.stdout)).toEqual([{ n: 3, label: 'diagnosis', code: '12' }, ['--verbose'], '']);
  });
});

function scriptWriting(version: number): string {
  return `import lathe_step
ctx = lathe_step.context()
open(ctx.outputs["model"], "w").write("v${version}")
ctx.write_metrics({"version": ${version}})
`;
}
