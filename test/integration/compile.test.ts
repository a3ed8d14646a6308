import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixture, makeTempDir, type RunSummary, removeDir, runCli, runJson, statuses } from './cli.js';

let dir: string;
beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => removeDir(dir));

/** Task name -> outputs, with artifacts reduced to what must match across runs (type and content hash). */
function comparableOutputs(summary: RunSummary): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const t of summary.tasks) {
    out[t.name] = Object.fromEntries(
      Object.entries(t.outputs ?? {}).map(([name, value]) => [
        name,
        value && typeof value === 'object' && 'hash' in value
          ? { type: value.type, hash: value.hash }
          : value,
      ]),
    );
  }
  return out;
}

describe('lathe compile + lathe run spec.yaml', () => {
  it('running the compiled spec gives the same statuses and outputs as running the module', async () => {
    const compiled = await runCli(['compile', fixture('mixed.ts'), '-o', 'spec.yaml'], { cwd: dir });
    expect(compiled.code).toBe(0);
    expect(compiled.stderr).toMatch(/wrote spec\.yaml \(sha256:[0-9a-f]{64}\)/);
    const yaml = readFileSync(join(dir, 'spec.yaml'), 'utf8');
    expect(yaml).toMatch(/^name: mixed$/m);
    expect(yaml).toMatch(/^source: /m);

    // Separate workspaces, so that neither run is served from the other's cache.
    const fromModule = await runJson<RunSummary>(['run', fixture('mixed.ts'), '--home', 'ws-module'], {
      cwd: dir,
    });
    const fromSpec = await runJson<RunSummary>(['run', 'spec.yaml', '--home', 'ws-spec'], { cwd: dir });
    expect(fromModule.status).toBe('succeeded');
    expect(fromSpec.status).toBe('succeeded');
    expect(statuses(fromSpec)).toEqual(statuses(fromModule));
    expect(statuses(fromModule)).toMatchObject({
      'make-data': 'succeeded',
      'count-lines': 'succeeded',
      big: 'succeeded',
      small: 'skipped',
      total: 'succeeded',
    });
    expect(comparableOutputs(fromSpec)).toEqual(comparableOutputs(fromModule));
    const total = fromModule.tasks.find((t) => t.name === 'total');
    expect(total?.outputs).toEqual({ ys: [12, 24, 36], sum: 72 });

    // Params work the same way through the spec.
    const small = await runJson<RunSummary>(['run', 'spec.yaml', '--home', 'ws-spec', '-p', 'rows=3'], {
      cwd: dir,
    });
    expect(statuses(small)).toMatchObject({ big: 'skipped', small: 'succeeded' });

    // Both runs record the same pipeline digest as the compiler printed.
    const digest = /\((sha256:[0-9a-f]{64})\)/.exec(compiled.stderr)![1];
    const [moduleRun] = await runJson(['runs', 'list', '--home', 'ws-module'], { cwd: dir });
    const specRuns = await runJson(['runs', 'list', '--home', 'ws-spec'], { cwd: dir });
    expect(moduleRun.pipelineDigest).toBe(digest);
    expect(specRuns.at(-1).pipelineDigest).toBe(digest);
    expect(specRuns.at(-1).source).toBe(join(dir, 'spec.yaml'));
  });

  it('compiles to JSON with --json and runs it', async () => {
    const compiled = await runCli(['compile', fixture('conditions.ts'), '--json'], { cwd: dir });
    expect(compiled.code).toBe(0);
    const spec = JSON.parse(compiled.stdout);
    expect(spec.name).toBe('conditions');
    expect(spec.tasks.map((t: any) => t.name).sort()).toEqual([
      'high',
      'low',
      'measure',
      'medium',
      'report-high',
    ]);
    writeFileSync(join(dir, 'spec.json'), compiled.stdout);
    // stdout has an absolute source, so the copy runs from anywhere.
    const summary = await runJson<RunSummary>(['run', 'spec.json'], { cwd: dir });
    expect(statuses(summary)).toMatchObject({ medium: 'succeeded', high: 'skipped', low: 'skipped' });
  });

  it('a spec that breaks the schema exits 2 naming the file, the line and the field', async () => {
    await runCli(['compile', fixture('mixed.ts'), '-o', 'spec.yaml'], { cwd: dir });
    const lines = readFileSync(join(dir, 'spec.yaml'), 'utf8').split('\n');
    const index = lines.findIndex((l) => l.trim() === 'kind: ts');
    expect(index).toBeGreaterThan(0);
    lines[index] = lines[index]!.replace('kind: ts', 'kind: tsx');
    writeFileSync(join(dir, 'bad.yaml'), lines.join('\n'));

    const result = await runCli(['run', 'bad.yaml'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${join(dir, 'bad.yaml')}:${index + 1}:`);
    expect(result.stderr).toMatch(/components\.make-data\.kind/);
    // Nothing was run: not even a workspace was made.
    const runs = await runCli(['runs', 'list'], { cwd: dir });
    expect(runs.code).toBe(2);
    expect(runs.stderr).toMatch(/no Lathe workspace at/);
  });

  // Regression (fixed in 718cdf0): with `prettyErrors: false` the yaml library never fills
  // `error.linePos`, so YAML syntax errors were reported without their line.
  it('malformed YAML exits 2 naming the file and the line', async () => {
    const text = [
      'apiVersion: lathe/v1',
      'kind: Pipeline',
      'name: broken',
      'tasks:',
      '  - name: a',
      '   component: b', // line 6: bad indentation
      '',
    ].join('\n');
    writeFileSync(join(dir, 'broken.yaml'), text);
    const result = await runCli(['run', 'broken.yaml'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(join(dir, 'broken.yaml'));
    expect(result.stderr).toContain(`${join(dir, 'broken.yaml')}:6`);
  });

  it('malformed YAML exits 2 naming the file', async () => {
    writeFileSync(join(dir, 'broken.yaml'), 'apiVersion: lathe/v1\nkind: [Pipeline\n');
    const result = await runCli(['run', 'broken.yaml'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/SPEC_INVALID/);
    expect(result.stderr).toContain(join(dir, 'broken.yaml'));
  });
});
