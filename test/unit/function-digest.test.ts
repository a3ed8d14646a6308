import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { digestMode, functionDigest, libraryOrigin, scanIdentifiers } from '../../src/dsl/function-digest.js';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const fixtureDir = join(repoRoot, 'test/fixtures/function-digest');
const digestModuleUrl = pathToFileURL(join(repoRoot, 'src/dsl/function-digest.ts')).href;

interface FixtureOutput {
  mode: string;
  digests: Record<string, string>;
}

/** Runs a fixture module in a fresh `node --import tsx/esm` process and parses its JSON output. */
async function runFixture(file: string, extraArgs: string[] = []): Promise<FixtureOutput> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx/esm', ...extraArgs, file], {
    cwd: repoRoot,
    timeout: 30_000,
  });
  return JSON.parse(stdout) as FixtureOutput;
}

/** Keys whose digest differs between two fixture runs. */
function changedKeys(a: FixtureOutput, b: FixtureOutput): string[] {
  return Object.keys(a.digests)
    .filter((k) => a.digests[k] !== b.digests[k])
    .sort();
}

describe('functionDigest (in-process)', () => {
  it('uses closure introspection', () => {
    expect(digestMode()).toBe('closure');
    expect(functionDigest(async () => 1)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('distinguishes factory-built functions by captured values', () => {
    const scaler = (factor: number) => async () => ({ y: 2 * factor });
    const [a, b, c] = [scaler(2), scaler(2), scaler(3)];
    expect(a.toString()).toBe(c.toString());
    expect(functionDigest(a)).toBe(functionDigest(b));
    expect(functionDigest(a)).not.toBe(functionDigest(c));
  });

  it('does not cache a digest taken while a captured const was in its temporal dead zone', () => {
    const run = async () => helper();
    const early = functionDigest(run); // `helper` is uninitialized here; V8 reports it as undefined
    const helper = () => 1;
    expect(functionDigest(run)).not.toBe(early);
    expect(functionDigest(run)).toBe(functionDigest(run));
  });

  it('caches by identity', () => {
    const fn = async () => 1;
    expect(functionDigest(fn)).toBe(functionDigest(fn));
  });

  it('ignores variables that only a sibling closure captures', () => {
    // V8 context-allocates `secret` because `keep` uses it, so `run` "sees" it; `run` must not depend on it.
    const make = (secret: number) => {
      const keep = () => secret;
      // mentions secret only in a comment and a string: /* secret */
      const run = async () => 'secret';
      return { keep, run };
    };
    expect(functionDigest(make(1).run)).toBe(functionDigest(make(2).run));
    expect(functionDigest(make(1).keep)).not.toBe(functionDigest(make(2).keep));
  });

  it('distinguishes primitive values precisely', () => {
    const capture = (v: unknown) => async () => v;
    const values: unknown[] = [
      0,
      -0,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      '0',
      0n,
      undefined,
      null,
      false,
      '',
    ];
    const digests = values.map((v) => functionDigest(capture(v)));
    expect(new Set(digests).size).toBe(values.length);
    expect(functionDigest(capture(Number.NaN))).toBe(digests[2]);
  });

  it('hashes objects, arrays, Maps, Sets, Dates, RegExps and bytes by content', () => {
    const capture = (v: unknown) => async () => v;
    const d = (v: unknown) => functionDigest(capture(v));
    expect(d({ a: 1, b: [1, 2] })).toBe(d({ b: [1, 2], a: 1 })); // key order is irrelevant
    expect(d({ a: 1, b: [1, 2] })).not.toBe(d({ a: 1, b: [2, 1] })); // element order is not
    expect(d({ a: { b: { c: 1 } } })).not.toBe(d({ a: { b: { c: 2 } } }));
    expect(d(new Map([['k', 1]]))).toBe(d(new Map([['k', 1]])));
    expect(d(new Map([['k', 1]]))).not.toBe(d(new Map([['k', 2]])));
    expect(d(new Set([1, 2]))).not.toBe(d(new Set([1, 3])));
    expect(d(new Date(0))).not.toBe(d(new Date(1)));
    expect(d(/a/g)).not.toBe(d(/a/i));
    expect(d(Buffer.from('abc'))).toBe(d(Buffer.from('abc')));
    expect(d(Buffer.from('abc'))).not.toBe(d(Buffer.from('abd')));
    expect(d(new Float64Array([1.5]))).not.toBe(d(new Float64Array([2.5])));
    const sparse = [1, 2, 3];
    delete sparse[1];
    expect(d(sparse)).not.toBe(d([1, undefined, 3]));
  });

  it('terminates on cycles and still sees values inside them', () => {
    const make = (n: number) => {
      const a: Record<string, unknown> = { n };
      const b: Record<string, unknown> = { a };
      a.b = b;
      a.self = a;
      const m = new Map<unknown, unknown>();
      m.set(m, a);
      return async () => [a, m];
    };
    expect(functionDigest(make(1))).toBe(functionDigest(make(1)));
    expect(functionDigest(make(1))).not.toBe(functionDigest(make(2)));
  });

  it('recurses into helper functions, including mutually recursive ones', () => {
    const make = (base: number) => {
      const isEven = (n: number): boolean => (n === 0 ? base > 0 : isOdd(n - 1));
      const isOdd = (n: number): boolean => (n === 0 ? false : isEven(n - 1));
      return async () => isOdd(3);
    };
    expect(functionDigest(make(1))).toBe(functionDigest(make(1)));
    expect(functionDigest(make(1))).not.toBe(functionDigest(make(-1)));
  });

  it('walks instances of classes defined in user code', () => {
    class Config {
      constructor(readonly lr: number) {}
    }
    const make = (lr: number) => {
      const cfg = new Config(lr);
      return async () => cfg.lr;
    };
    expect(functionDigest(make(0.1))).toBe(functionDigest(make(0.1)));
    expect(functionDigest(make(0.1))).not.toBe(functionDigest(make(0.2)));
  });

  it('hashes captured zod schemas by their shape', () => {
    const make = (schema: z.ZodType) => () => schema.parse(1);
    const a = make(z.object({ x: z.number() }));
    const sameShape = make(z.object({ x: z.number() }));
    const edited = make(z.object({ x: z.number(), y: z.string() }));
    expect(functionDigest(a)).toBe(functionDigest(sameShape));
    expect(functionDigest(a)).not.toBe(functionDigest(edited));
  });

  it('treats Lathe components as markers named by the component', () => {
    // Same shape as `component()` builds: a callable with the definition fields as own properties.
    const make = (name: string, body: number) => {
      const upstream = () => undefined;
      Object.defineProperty(upstream, '__latheComponent', { value: true, enumerable: true });
      Object.defineProperty(upstream, 'name', { value: name, enumerable: true });
      Object.defineProperty(upstream, 'run', { value: async () => body, enumerable: true });
      return async () => upstream;
    };
    expect(functionDigest(make('a', 1))).toBe(functionDigest(make('a', 2)));
    expect(functionDigest(make('a', 1))).not.toBe(functionDigest(make('b', 1)));
  });
});

describe('libraryOrigin', () => {
  it('names a library function by package, version and file, so an upgrade re-keys its users', () => {
    const zodVersion = JSON.parse(
      readFileSync(new URL('../../node_modules/zod/package.json', import.meta.url), 'utf8'),
    ).version;
    const url = new URL('../../node_modules/zod/v4/classic/schemas.js', import.meta.url).href;
    expect(libraryOrigin(url)).toBe(`zod@${zodVersion}/v4/classic/schemas.js`);
    expect(libraryOrigin('node:fs')).toBe('node:fs');
    expect(libraryOrigin('file:///home/me/project/pipeline.ts')).toBeUndefined();
  });
});

describe('scanIdentifiers', () => {
  it('skips comments, string contents and property names but keeps template expressions', () => {
    const { refs } = scanIdentifiers(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: this string is JS source text under test
      "async () => { /* A */ // B\n const s = 'C' + \"D\" + `E ${F + `${G}`} H`; return obj.I + (J / 2) + /K'/.test(L) + ...M; }",
    );
    for (const name of ['F', 'G', 'J', 'L', 'M', 'obj']) expect(refs).toContain(name);
    for (const name of ['A', 'B', 'C', 'D', 'E', 'H', 'I', 'K']) expect(refs).not.toContain(name);
  });

  it('falls back to every identifier-like token when it loses track', () => {
    // An unterminated quote would swallow code; the fallback over-includes instead.
    const { refs } = scanIdentifiers("x => 'oops\n + HIDDEN");
    expect(refs).toContain('HIDDEN');
  });
});

describe('functionDigest (child processes)', () => {
  let work: string;
  let baseline: FixtureOutput;
  const variantFiles = new Map<string, string>();

  /** Copies the fixture directory into a temp dir with one line replaced; returns the module path. */
  function variant(label: string, file: 'module.ts' | 'helpers.ts', from: string, to: string): string {
    const dir = join(work, label);
    cpSync(fixtureDir, dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const modulePath = join(dir, 'module.ts');
    const moduleText = readFileSync(modulePath, 'utf8').replace(
      "'../../../src/dsl/function-digest.js'",
      JSON.stringify(digestModuleUrl).replace(/"/g, "'"),
    );
    writeFileSync(modulePath, moduleText);
    const target = join(dir, file);
    const text = readFileSync(target, 'utf8');
    if (from !== to) {
      if (!text.includes(from)) throw new Error(`fixture ${file} has no line ${from}`);
      writeFileSync(target, text.replace(from, to));
    }
    variantFiles.set(label, modulePath);
    return modulePath;
  }

  const edits = {
    threshold: ['module.ts', 'const THRESHOLD = 0.5;', 'const THRESHOLD = 0.7;', ['threshold']],
    otherLimit: ['module.ts', 'const OTHER_LIMIT = 10;', 'const OTHER_LIMIT = 20;', ['otherLimit']],
    cleanBody: ['module.ts', 'return x.trim();', 'return x.trim().toUpperCase();', ['clean']],
    normalizeBody: ['module.ts', 'return x.toLowerCase();', 'return x.toLowerCase().trim();', ['normalize']],
    weight: ['module.ts', 'const WEIGHT = 3;', 'const WEIGHT = 4;', ['transitive']],
    config: ['module.ts', 'nested: { dropout: 0.1 }', 'nested: { dropout: 0.2 }', ['data']],
    importedConst: [
      'helpers.ts',
      'export const FACTOR = 2;',
      'export const FACTOR = 5;',
      ['imported', 'importedNs'],
    ],
    unusedImported: ['helpers.ts', 'return x * UNUSED_FACTOR;', 'return x * UNUSED_FACTOR + 1;', []],
  } as const;
  const results = new Map<string, FixtureOutput>();

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'lathe-function-digest-'));
    const copy = variant('copy', 'module.ts', '', '');
    for (const [label, [file, from, to]] of Object.entries(edits)) variant(label, file, from, to);
    const inPlace = join(fixtureDir, 'module.ts');
    const runs: Array<[string, Promise<FixtureOutput>]> = [
      ['baseline', runFixture(inPlace)],
      ['baseline-again', runFixture(inPlace)],
      ['copy', runFixture(copy)],
      ['no-inspector', runFixture(inPlace, ['--import', './test/fixtures/function-digest/no-inspector.ts'])],
      ...[...variantFiles]
        .filter(([l]) => l !== 'copy')
        .map(([l, f]): [string, Promise<FixtureOutput>] => [l, runFixture(f)]),
    ];
    for (const [label, pending] of runs) results.set(label, await pending);
    baseline = results.get('baseline')!;
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('is deterministic across processes and module locations', () => {
    expect(baseline.mode).toBe('closure');
    expect(results.get('baseline-again')).toEqual(baseline);
    expect(results.get('copy')).toEqual(baseline);
  });

  it('separates factory instances by captured value', () => {
    expect(baseline.digests.scale2a).toBe(baseline.digests.scale2b);
    expect(baseline.digests.scale2a).not.toBe(baseline.digests.scale3);
  });

  it('survives an imported zod namespace and zod schema instances', () => {
    expect(baseline.digests.zod).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(results.get('baseline-again')!.digests.zod).toBe(baseline.digests.zod);
  });

  for (const [label, [, , , expected]] of Object.entries(edits)) {
    it(`edit "${label}" changes exactly ${JSON.stringify(expected)}`, () => {
      expect(changedKeys(baseline, results.get(label)!)).toEqual([...expected].sort());
    });
  }

  it('falls back to source-only digests when the inspector cannot connect', () => {
    const fallback = results.get('no-inspector')!;
    expect(fallback.mode).toBe('source-only');
    // Same source text, so the factory instances collide: this is what callers must warn about.
    expect(fallback.digests.scale2a).toBe(fallback.digests.scale3);
    expect(fallback.digests.scale2a).not.toBe(baseline.digests.scale2a);
  });
});
