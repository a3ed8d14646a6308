import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  collect,
  component,
  Dataset,
  Metrics,
  Model,
  onExit,
  PipelineCompileError,
  parallelFor,
  pipeline,
  SpecLoadError,
  when,
  z,
} from '../../src/index.js';
import { compilePipeline, specDigest } from '../../src/spec/compile.js';
import { loadSpecFile, parseSpec, specToJson, specToYaml } from '../../src/spec/load.js';
import { PipelineSpec } from '../../src/spec/schema.js';

const makeData = component({
  name: 'sl-make-data',
  description: 'rows of data',
  params: { rows: z.number().int().positive().default(100), seed: z.number().int().default(1) },
  outputs: { data: Dataset },
  run: () => {},
});

const train = component({
  name: 'sl-train',
  inputs: { data: Dataset },
  params: { lr: z.number().positive(), tags: z.array(z.string()).default([]) },
  outputs: { model: Model, score: z.number() },
  retry: { attempts: 2, backoff: '10ms' },
  timeout: '5m',
  resources: { cpu: 2, memory: '1Gi' },
  run: () => ({ score: 1 }),
});

const pick = component({
  name: 'sl-pick',
  inputs: { models: Model.list() },
  params: { scores: z.array(z.number()) },
  outputs: { best: Model, metrics: Metrics },
  run: () => {},
});

const notify = component.command({
  name: 'sl-notify',
  params: { status: z.string(), note: z.string().optional() },
  command: ['echo', '{{params.status}}'],
  env: { LEVEL: 'info' },
});

function buildPipeline(defaultRows: number) {
  return pipeline(
    {
      name: 'spec-load',
      description: 'round trip',
      params: {
        rows: z.number().int().default(defaultRows),
        rates: z.array(z.number()).default([0.1, 0.2]),
        publish: z.boolean().default(false),
      },
    },
    ({ params }) => {
      const data = makeData({ rows: params.rows });
      const trials = parallelFor(
        params.rates,
        (lr) => train({ data: data.outputs.data, lr, tags: ['a', 'b'] }).cache(false),
        { parallelism: 2 },
      );
      const best = pick({ models: collect(trials.outputs.model), scores: collect(trials.outputs.score) })
        .retry({ attempts: 3, backoff: '1s', factor: 3, maxBackoff: '1m' })
        .timeout('10s');
      when(params.publish, () => {
        notify({ status: 'publishing {{params.rows}} in {{run.id}}' }).named('announce').after(best);
      })
        .elif(params.rows.gt(1000), () => {
          notify({ status: 'big' }).named('big');
        })
        .otherwise(() => {
          notify({ status: 'skipped', note: 'n' }).named('quiet');
        });
      onExit(notify({ status: '{{run.status}}' }).named('on-exit'));
    },
  );
}

const tmp = mkdtempSync(join(tmpdir(), 'lathe-spec-load-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function loadError(text: string, path = 'pipeline.yaml'): SpecLoadError {
  try {
    parseSpec(text, path);
  } catch (error) {
    expect(error).toBeInstanceOf(SpecLoadError);
    return error as SpecLoadError;
  }
  throw new Error('expected parseSpec to throw');
}

/** 1-based number of the first line of `text` that contains `needle` (after line `after`). */
function lineOf(text: string, needle: string, after = 0): number {
  const lines = text.split('\n');
  for (let i = after; i < lines.length; i++) if (lines[i]!.includes(needle)) return i + 1;
  throw new Error(`'${needle}' not found`);
}

describe('round trips', () => {
  const spec = compilePipeline(buildPipeline(100));

  it('compile -> YAML -> parseSpec gives a deep-equal spec with the same digest', () => {
    const yaml = specToYaml(spec);
    expect(yaml.startsWith('# Lathe PipelineSpec (lathe/v1)')).toBe(true);
    const loaded = parseSpec(yaml, 'spec.yaml');
    expect(loaded).toEqual(spec);
    expect(specDigest(loaded)).toBe(specDigest(spec));
  });

  it('compile -> JSON -> parseSpec gives a deep-equal spec with the same digest', () => {
    const json = specToJson(spec);
    expect(JSON.parse(json)).toEqual(spec);
    const loaded = parseSpec(json, 'spec.json');
    expect(loaded).toEqual(spec);
    expect(specDigest(loaded)).toBe(specDigest(spec));
  });

  it('a compiled spec is already in its parsed (defaults-applied) form', () => {
    expect(PipelineSpec.parse(spec)).toEqual(spec);
  });

  it('loadSpecFile resolves a relative source against the file, and writing makes it relative again', () => {
    const source = join(tmp, 'src', 'pipeline.ts');
    const withSource = compilePipeline(buildPipeline(100), { source });
    const file = join(tmp, 'out', 'spec.yaml');
    const yaml = specToYaml(withSource, file);
    expect(yaml).toContain('source: ../src/pipeline.ts');
    const json = specToJson(withSource, join(tmp, 'spec.json'));
    expect(JSON.parse(json).source).toBe('./src/pipeline.ts');
    rmSync(join(tmp, 'out'), { recursive: true, force: true });
    writeFileSync(join(tmp, 'spec.yaml'), specToYaml(withSource, join(tmp, 'spec.yaml')));
    const loaded = loadSpecFile(join(tmp, 'spec.yaml'));
    expect(loaded.source).toBe(source);
    expect(loaded).toEqual(withSource);
  });

  it('loadSpecFile reports a missing file', () => {
    const missing = join(tmp, 'nope.yaml');
    expect(() => loadSpecFile(missing)).toThrow(SpecLoadError);
    expect(() => loadSpecFile(missing)).toThrow(`${missing}: cannot read the file (ENOENT)`);
  });
});

describe('specDigest', () => {
  it('is stable across two compiles', () => {
    const a = compilePipeline(buildPipeline(100));
    const b = compilePipeline(buildPipeline(100));
    expect(a).toEqual(b);
    expect(specDigest(a)).toBe(specDigest(b));
    expect(specDigest(a)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('changes when a param default changes', () => {
    expect(specDigest(compilePipeline(buildPipeline(100)))).not.toBe(
      specDigest(compilePipeline(buildPipeline(101))),
    );
  });

  it('does not change when only source changes', () => {
    const a = compilePipeline(buildPipeline(100), { source: '/a/pipeline.ts' });
    const b = compilePipeline(buildPipeline(100), { source: '/b/other.ts' });
    const none = compilePipeline(buildPipeline(100));
    expect(a.source).toBe('/a/pipeline.ts');
    expect(specDigest(a)).toBe(specDigest(b));
    expect(specDigest(a)).toBe(specDigest(none));
  });

  it('does not depend on object key order', () => {
    const spec = compilePipeline(buildPipeline(100));
    const reversed = Object.fromEntries(Object.entries(spec).reverse()) as PipelineSpec;
    expect(specDigest(reversed)).toBe(specDigest(spec));
  });
});

const MINIMAL = `apiVersion: lathe/v1
kind: Pipeline
name: minimal
components:
  c:
    name: c
    kind: command
    digest: sha256:abc
    command: [echo, hi]
    params:
      n:
        schema: { type: number }
        default: 1
tasks:
  - name: first
    component: c
  - name: second
    component: c
    after: [first]
    retry:
      attempts: 2
`;

describe('YAML errors', () => {
  it('parses a minimal hand-written spec and applies defaults', () => {
    const spec = parseSpec(MINIMAL, 'minimal.yaml');
    expect(spec.tasks[1]).toEqual({
      name: 'second',
      component: 'c',
      args: {},
      inputs: {},
      after: ['first'],
      retry: { attempts: 2, backoffMs: 1000, factor: 2, maxBackoffMs: 3_600_000 },
      cache: true,
      exitHandler: false,
    });
    expect(spec.loops).toEqual([]);
    expect(spec.components.c?.isolation).toBe('inline');
  });

  it('reports a YAML syntax error with its path', () => {
    const text = MINIMAL.replace('name: minimal', 'name: "minimal');
    const error = loadError(text);
    expect(error.code).toBe('SPEC_INVALID');
    expect(error.path).toBe('pipeline.yaml');
    expect(error.message).toMatch(/^pipeline\.yaml/);
  });

  // Regression: with prettyErrors: false, YAMLError.linePos is never filled in, so the line must be
  // computed from the error's offset (src/spec/load.ts, parseSpec).
  it('reports the line of a YAML syntax error', () => {
    const text = 'apiVersion: lathe/v1\nkind: Pipeline\nname: x\ncomponents: {}\ntasks: []\nloops: ]\n';
    const error = loadError(text);
    expect(error.line).toBe(6);
    expect(error.message).toMatch(/^pipeline\.yaml:6: /);
  });

  it('reports the line of a duplicate key', () => {
    const text = MINIMAL.replace('kind: Pipeline\n', 'kind: Pipeline\nkind: Pipeline\n');
    const error = loadError(text);
    expect(error.line).toBe(3);
  });

  it('reports a schema error with the field path and the line of that node', () => {
    const text = MINIMAL.replace('attempts: 2', 'attempts: 0');
    const error = loadError(text);
    expect(error.code).toBe('SPEC_INVALID');
    expect(error.message).toContain('tasks.1.retry.attempts:');
    expect(error.line).toBe(lineOf(text, 'attempts: 0'));
    expect(error.message).toMatch(
      new RegExp(`^pipeline\\.yaml:${error.line}: tasks\\.1\\.retry\\.attempts: `),
    );
  });

  it('reports an unknown component kind with its path and line', () => {
    const text = MINIMAL.replace('kind: command', 'kind: python');
    const error = loadError(text);
    expect(error.message).toContain('components.c.kind:');
    expect(error.line).toBe(lineOf(text, 'kind: python'));
  });

  it('reports an unknown ValueRef kind with its path and line', () => {
    const spec = compilePipeline(buildPipeline(100));
    const yaml = specToYaml(spec);
    const text = yaml.replace('kind: literal', 'kind: nope');
    const error = loadError(text);
    expect(error.message).toMatch(/tasks\.\d+\.args\.\w+\.kind: /);
    expect(error.line).toBe(lineOf(text, 'kind: nope'));
  });

  it('reports a wrong top-level kind and apiVersion', () => {
    const kind = loadError(MINIMAL.replace('kind: Pipeline', 'kind: Pipe'));
    expect(kind.message).toContain('kind:');
    expect(kind.line).toBe(2);
    const version = loadError(MINIMAL.replace('lathe/v1', 'lathe/v2'));
    expect(version.message).toContain('apiVersion:');
    expect(version.line).toBe(1);
  });

  it('points at the deepest existing node when a required field is missing', () => {
    const text = MINIMAL.replace('    component: c\n  - name: second', '  - name: second');
    const error = loadError(text);
    expect(error.message).toContain('tasks.0.component:');
    expect(error.line).toBe(lineOf(text, '- name: first'));
  });

  it('reports a semantic error naming the task, with the compile error as cause', () => {
    const text = MINIMAL.replace('after: [first]', 'after: [ghost]');
    const error = loadError(text);
    expect(error.code).toBe('SPEC_INVALID');
    expect(error.message).toContain("task 'second'");
    expect(error.message).toContain("after: unknown task 'ghost'");
    expect(error.cause).toBeInstanceOf(PipelineCompileError);
    const cause = error.cause as PipelineCompileError;
    expect(cause.code).toBe('UNKNOWN_TASK');
    expect(cause.task).toBe('second');
    expect(cause.field).toBe('after');
  });

  it('reports a data ref to an unknown task', () => {
    const text = MINIMAL.replace(
      '    after: [first]\n',
      '    args:\n      n: { kind: output, task: ghost, output: x }\n',
    );
    const error = loadError(text);
    expect(error.message).toContain("task 'second'");
    expect(error.message).toContain("refers to unknown task 'ghost'");
    expect((error.cause as PipelineCompileError).field).toBe('params.n');
  });

  it('reports a cycle in a hand-written spec', () => {
    const text = MINIMAL.replace(
      '    component: c\n  - name: second',
      '    component: c\n    after: [second]\n  - name: second',
    );
    const error = loadError(text);
    expect((error.cause as PipelineCompileError).code).toBe('CYCLE');
    expect(error.message).toContain('dependency cycle');
  });

  it('reports an empty document', () => {
    const error = loadError('');
    expect(error.code).toBe('SPEC_INVALID');
    expect(error.message).toContain('the file is empty');
  });
});

describe('JSON Schema file', () => {
  const schemaPath = fileURLToPath(new URL('../../schema/pipeline-spec.schema.json', import.meta.url));
  it.skipIf(!existsSync(schemaPath))('describes the PipelineSpec top level', () => {
    const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as {
      type?: string;
      properties?: Record<string, unknown>;
      required?: string[];
    };
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties ?? {}).sort()).toEqual(Object.keys(PipelineSpec.shape).sort());
    expect(schema.required).toEqual(
      expect.arrayContaining(['apiVersion', 'kind', 'name', 'components', 'tasks']),
    );
  });

  it.skipIf(!existsSync(schemaPath))('accepts a compiled spec', () => {
    const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
    const validator = z.fromJSONSchema(schema);
    const spec = compilePipeline(buildPipeline(100));
    expect(validator.safeParse(JSON.parse(specToJson(spec))).success).toBe(true);
  });
});
