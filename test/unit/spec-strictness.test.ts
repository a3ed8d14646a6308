/**
 * The spec is strict on the way in: unknown fields, unsafe names and incomplete components are
 * errors naming the field and the line; a digest written in a file is never trusted; compile
 * only writes what load accepts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpecLoadError } from '../../src/errors.js';
import { component, pipeline, z } from '../../src/index.js';
import { refreshComponents } from '../../src/runtime/load-target.js';
import { compilePipeline, componentSpec } from '../../src/spec/compile.js';
import { parseSpec } from '../../src/spec/load.js';

const SPEC = `apiVersion: lathe/v1
kind: Pipeline
name: strict
components:
  c:
    name: c
    kind: command
    digest: sha256:whatever
    command: [echo, hi]
tasks:
  - name: first
    component: c
`;

function loadError(text: string): SpecLoadError {
  try {
    parseSpec(text, 'spec.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(SpecLoadError);
    return error as SpecLoadError;
  }
  throw new Error('expected an error');
}

describe('strict specs', () => {
  it('rejects a misspelt field with its path and line', () => {
    const error = loadError(
      SPEC.replace('    component: c\n', '    component: c\n    retyr: { attempts: 2 }\n'),
    );
    expect(error.message).toMatch(/tasks\.0/);
    expect(error.message).toMatch(/retyr/);
    // The line of the misspelt key itself.
    expect(error.line).toBe(13);
  });

  it('rejects names that could escape a directory or collide with loop iterations', () => {
    const output = loadError(
      SPEC.replace(
        '    command: [echo, hi]\n',
        '    command: [echo, hi]\n    outputs:\n      ../../x: { artifact: Model }\n',
      ),
    );
    expect(output.message).toMatch(/components\.c\.outputs/);
    const task = loadError(SPEC.replace('  - name: first', '  - name: "first[0]"'));
    expect(task.message).toMatch(/tasks\.0\.name/);
  });

  it('rejects a command component without a command', () => {
    const error = loadError(SPEC.replace('    command: [echo, hi]\n', ''));
    expect(error.message).toMatch(/components\.c\.command: a command component needs a non-empty command/);
  });

  it('recomputes command digests on load: an edited command re-keys the cache', async () => {
    const a = parseSpec(SPEC, 'a.yaml');
    const b = parseSpec(SPEC.replace('[echo, hi]', '[echo, bye]'), 'b.yaml');
    await refreshComponents(a, process.cwd());
    await refreshComponents(b, process.cwd());
    expect(a.components.c?.digest).not.toBe('sha256:whatever');
    expect(a.components.c?.digest).not.toBe(b.components.c?.digest);
  });
});

const documented = (description: string) =>
  component.command({
    name: 'documented',
    params: { n: z.number().describe(description).default(1) },
    command: ['echo', '{{params.n}}'],
  });

describe('compile', () => {
  it('does not re-key a component when only a description changes', () => {
    const spec = (text: string) =>
      compilePipeline(
        pipeline({ name: `doc-${text.length}` }, () => {
          documented(text)({});
        }),
      );
    expect(spec('how many').components.documented?.digest).toBe(
      spec('how many rows, at most').components.documented?.digest,
    );
  });

  it('reports DSL misuse inside a body as a compile error naming the pipeline', () => {
    const echo = component({ name: 'strict-echo', run: () => undefined });
    for (const [body, message] of [
      [() => echo({}).retry({ attempts: 0 }), /retry\.attempts/],
      [() => echo({}).timeout('1.5ms'), /whole number of milliseconds/],
      [() => echo({}).timeout(0), /whole number of milliseconds/],
      [() => echo({}).named('t[0]'), /task name 't\[0\]'/],
      [() => echo({}).resources({ cpu: 0 }), /resources\.cpu/],
    ] as const) {
      const p = pipeline({ name: 'misuse' }, () => {
        body();
      });
      expect(() => compilePipeline(p)).toThrow(message);
      try {
        compilePipeline(p);
      } catch (error) {
        expect((error as { code?: string }).code).toBe('PIPELINE_BODY');
        expect((error as Error).message).toMatch(/^pipeline 'misuse': /);
      }
    }
  });

  it('rejects unsafe param, input and output names when the component is defined', () => {
    expect(() =>
      component({ name: 'bad-output', outputs: { '../x': z.number() }, run: () => ({}) as never }),
    ).toThrow(/output name '\.\.\/x'/);
  });
});

describe('command placeholders', () => {
  it('are checked at compile time against the component', () => {
    const bad = component.command({
      name: 'bad-placeholder',
      params: { a: z.number().default(1) },
      command: ['/bin/echo', '{{params.a}}', '{{params.b}}'],
    });
    const p = pipeline({ name: 'bad-placeholder' }, () => {
      bad({});
    });
    expect(() => compilePipeline(p)).toThrow(
      /field 'components\.bad-placeholder\.command\.2': component 'bad-placeholder': \{\{params\.b\}\} names no param/,
    );
  });
});

describe('local files in digests', () => {
  const reader = component({
    name: 'reads-config',
    files: ['config.json'],
    outputs: { n: z.number() },
    run: () => ({ n: 1 }),
  });
  const script = component.command({
    name: 'runs-script',
    command: ['sh', 'step.sh', '{{outputs.n}}'],
    outputs: { n: z.number() },
  });

  it('re-keys a TS component when a declared file changes, and a command when its script does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lathe-files-'));
    try {
      writeFileSync(join(dir, 'config.json'), '{"a":1}');
      writeFileSync(join(dir, 'step.sh'), 'echo 1 > "$1"');
      const before = [componentSpec(reader, dir).digest, componentSpec(script, dir).digest];
      expect(componentSpec(reader, dir).files).toEqual({ 'config.json': expect.stringMatching(/^sha256:/) });
      expect(componentSpec(script, dir).files).toEqual({ 'step.sh': expect.stringMatching(/^sha256:/) });
      writeFileSync(join(dir, 'config.json'), '{"a":2}');
      writeFileSync(join(dir, 'step.sh'), 'echo 2 > "$1"');
      const after = [componentSpec(reader, dir).digest, componentSpec(script, dir).digest];
      expect(after[0]).not.toBe(before[0]);
      expect(after[1]).not.toBe(before[1]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a declared file that does not exist', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lathe-files-'));
    try {
      expect(() => componentSpec(reader, dir)).toThrow(/declared file 'config.json' does not exist/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
