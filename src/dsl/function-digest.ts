/**
 * Content digest of a function's code *and* of the values it closes over.
 *
 * Hashing `fn.toString()` alone is wrong for cache keys: factory-built components share source text but
 * capture different values, and editing a module-level constant or helper that `run` uses must invalidate
 * the cached result. V8 knows exactly which outer variables a closure can see (its `[[Scopes]]`), so we ask it
 * through the in-process inspector, which shares our isolate: values come back as real JS objects.
 *
 * What goes into the digest of a function (recursively, for helpers):
 *  - its source text (`Function.prototype.toString`), and
 *  - for every variable of an enclosing closure/module/script/block scope whose name occurs as an identifier
 *    in that source text: the name plus a canonical serialization of the value (see `Walker`).
 *
 * In-process `session.post` callbacks run synchronously (checked on connect), so the API is synchronous.
 * If the inspector can't be used, digests fall back to the source text only; `digestMode()` reports it.
 */
import { createHash, type Hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type * as inspector from 'node:inspector';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { types } from 'node:util';
import { z } from 'zod';

export type DigestMode = 'closure' | 'source-only';

// Bump when the serialization changes, so old cache entries stop matching.
const FORMAT = 'lathe-function-digest/1';

// Limits. All are deterministic (the walk order is), so hitting one yields the same digest in every process.
// Max nesting of objects/functions below the root; deeper values hash as a 'depth' marker.
const MAX_DEPTH = 64;
// Max values visited per root digest; past it, everything hashes as a 'truncated' marker.
const MAX_NODES = 100_000;
// Plain objects with more keys than this that also hold functions are API surfaces (a CJS `module.exports`,
// `import fs from 'node:fs'`), not data: they hash as a marker. Pure-data objects of any size are walked.
const MAX_API_KEYS = 64;

const SLOT_KEY = 'lathe.functionDigest.slot';
const SLOT = Symbol.for(SLOT_KEY);
const SLOT_EXPR = `globalThis[Symbol.for(${JSON.stringify(SLOT_KEY)})]`;
const STASH_THIS = `function () { ${SLOT_EXPR} = this; }`;
const GROUP = 'lathe-function-digest';
const COMPONENT_BRAND = '__latheComponent';
const PIPELINE_BRAND = '__lathePipeline';

const fnToString = Function.prototype.toString;
const NATIVE_SOURCE = /\{\s*\[native code\]\s*\}\s*$/;

// ---------------------------------------------------------------------------------------------------------
// Inspector access

interface RemoteObject {
  type: string;
  subtype?: string;
  value?: unknown;
  unserializableValue?: string;
  objectId?: string;
}
interface InternalProperty {
  name: string;
  value?: RemoteObject;
}

interface Inspector {
  post<T>(method: string, params?: object): T;
  session: inspector.Session;
}

let inspectorState: Inspector | null | undefined; // undefined: not tried yet; null: unavailable
let fallbackReason: string | undefined;

function getInspector(): Inspector | null {
  if (inspectorState !== undefined) return inspectorState;
  let session: inspector.Session | undefined;
  try {
    // Required lazily: `node:inspector` throws on import in Node builds without inspector support.
    const { Session } = createRequire(import.meta.url)('node:inspector') as typeof inspector;
    session = new Session();
    session.connect();
    const connected = session;
    const post = <T>(method: string, params: object = {}): T => {
      const box: { done: boolean; error: Error | null; result: unknown } = {
        done: false,
        error: null,
        result: undefined,
      };
      connected.post(method, params, (error, result) => {
        box.done = true;
        box.error = error;
        box.result = result;
      });
      // The whole design (sync API, real values through a global slot) relies on this.
      if (!box.done) throw new Error(`inspector did not answer ${method} synchronously`);
      if (box.error) throw box.error;
      return box.result as T;
    };
    post('Runtime.evaluate', { expression: '0' });
    inspectorState = { post, session: connected };
  } catch (err) {
    try {
      session?.disconnect();
    } catch {}
    inspectorState = null;
    fallbackReason = err instanceof Error ? err.message : String(err);
  }
  return inspectorState;
}

/**
 * 'closure' when captured values are part of digests; 'source-only' when the inspector is unavailable and
 * digests only cover source text (edits to helpers/constants then go unnoticed: callers should warn).
 */
export function digestMode(): DigestMode {
  return getInspector() ? 'closure' : 'source-only';
}

/** Why `digestMode()` is 'source-only', if it is. */
export function digestFallbackReason(): string | undefined {
  getInspector();
  return fallbackReason;
}

/** Moves a remote value into this realm through a global slot (same isolate, so identity is preserved). */
function materialize(ins: Inspector, remote: RemoteObject | undefined): unknown {
  if (!remote) return undefined;
  if (remote.objectId === undefined) {
    const u = remote.unserializableValue;
    if (u === undefined) return remote.type === 'undefined' ? undefined : remote.value;
    if (u === '-0') return -0;
    if (u.endsWith('n')) return BigInt(u.slice(0, -1));
    return Number(u); // NaN, Infinity, -Infinity
  }
  const g = globalThis as Record<symbol, unknown>;
  try {
    ins.post('Runtime.callFunctionOn', { objectId: remote.objectId, functionDeclaration: STASH_THIS });
    return g[SLOT];
  } finally {
    delete g[SLOT];
  }
}

// Script URLs, used to tell user code from node builtins and node_modules. There is no inspector call that
// maps one scriptId to its URL; enabling the Debugger domain replays `scriptParsed` for every loaded script
// (synchronously, in-process). We enable it only to refresh this map, then disable it again right away.
const scriptUrls = new Map<string, string>();
const unresolvedScripts = new Set<string>();
const trustedScripts = new Set<string>();

function scriptUrl(ins: Inspector, scriptId: string): string | undefined {
  const known = scriptUrls.get(scriptId);
  if (known !== undefined || unresolvedScripts.has(scriptId)) return known;
  const onParsed = (msg: { params: { scriptId: string; url: string } }) => {
    scriptUrls.set(msg.params.scriptId, msg.params.url);
  };
  ins.session.on('Debugger.scriptParsed', onParsed);
  try {
    ins.post('Debugger.enable');
  } catch {
    // Unknown origin: treated as user code below, which over-includes rather than under-includes.
  } finally {
    try {
      ins.post('Debugger.disable');
    } catch {}
    ins.session.off('Debugger.scriptParsed', onParsed);
  }
  const url = scriptUrls.get(scriptId);
  if (url === undefined) unresolvedScripts.add(scriptId);
  return url;
}

/** `node:fs` → 'node:fs'; '.../node_modules/zod/v4/core/api.js' → 'zod/v4/core/api.js'; user code → undefined. */
export function libraryOrigin(url: string): string | undefined {
  if (url.startsWith('node:')) return url;
  const path = url.replace(/[?#].*$/, '').replace(/\\/g, '/');
  const at = path.lastIndexOf('/node_modules/');
  if (at === -1) return undefined;
  const inside = path.slice(at + '/node_modules/'.length);
  // The package's version is part of the marker: upgrading a library re-keys what uses it.
  const parts = inside.split('/');
  const name = parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  const version = name ? packageVersion(path.slice(0, at + '/node_modules/'.length) + name) : undefined;
  return version ? `${name}@${version}${inside.slice(name!.length)}` : inside;
}

const packageVersions = new Map<string, string | undefined>();

function packageVersion(packageDir: string): string | undefined {
  if (!packageVersions.has(packageDir)) {
    let version: string | undefined;
    try {
      const dir = packageDir.startsWith('file:') ? fileURLToPath(packageDir) : packageDir;
      version = (JSON.parse(readFileSync(`${dir}/package.json`, 'utf8')) as { version?: string }).version;
    } catch {
      version = undefined;
    }
    packageVersions.set(packageDir, version);
  }
  return packageVersions.get(packageDir);
}

// ---------------------------------------------------------------------------------------------------------
// Per-function facts from the inspector, cached by identity.

interface FunctionFacts {
  source: string;
  name: string;
  /** Set for plain JS functions. */
  scriptId?: string;
  /** Captured variables named in `source`, sorted by name; undefined until fetched. */
  captured?: Array<[string, unknown]>;
  /** Every identifier-like token in `source`, incl. property names; used to filter namespace objects. */
  members?: Set<string>;
  bound?: { target: unknown; boundThis: unknown; boundArgs: unknown };
  /** Inspector calls failed: only the source text counts. */
  degraded?: boolean;
  /**
   * Some captured value is `undefined`, which is also how V8 reports a `const`/`let` still in its temporal
   * dead zone (declared below the code that asked for the digest). Such snapshots are not cached, so a later
   * call sees the initialized value.
   */
  provisional?: boolean;
}

const factsCache = new WeakMap<Function, FunctionFacts>();

function ownDataValue(obj: object, key: PropertyKey): unknown {
  const desc = Object.getOwnPropertyDescriptor(obj, key);
  return desc && 'value' in desc ? desc.value : undefined;
}

function functionName(fn: Function): string {
  const name = ownDataValue(fn, 'name');
  return typeof name === 'string' ? name : '';
}

function internalProperties(ins: Inspector, fn: Function): InternalProperty[] {
  const g = globalThis as Record<symbol, unknown>;
  g[SLOT] = fn;
  try {
    const { result } = ins.post<{ result: RemoteObject }>('Runtime.evaluate', {
      expression: SLOT_EXPR,
      objectGroup: GROUP,
    });
    if (result.objectId === undefined) return [];
    const props = ins.post<{ internalProperties?: InternalProperty[] }>('Runtime.getProperties', {
      objectId: result.objectId,
      ownProperties: true,
      objectGroup: GROUP,
    });
    return props.internalProperties ?? [];
  } finally {
    delete g[SLOT];
  }
}

// Scope kinds as V8 describes them ('Closure (outer)', 'Module', 'Block', ...). Global is skipped: globals are
// environment, not code. 'With Block' is skipped too: reading its object could run arbitrary getters.
const SKIPPED_SCOPES = new Set(['global', 'with']);

/**
 * Inspects `fn`. Captured values are fetched only when `wantCaptured(scriptId)` says so, so library functions
 * (which hash as markers) cost one round trip less.
 */
function functionFacts(
  ins: Inspector,
  fn: Function,
  wantCaptured: (scriptId: string) => boolean,
): FunctionFacts {
  let facts = factsCache.get(fn);
  if (facts && !facts.provisional) {
    if (facts.captured || facts.bound || facts.degraded || facts.scriptId === undefined) return facts;
    if (!wantCaptured(facts.scriptId)) return facts;
  }
  const source = fnToString.call(fn);
  facts = { source, name: functionName(fn) };
  factsCache.set(fn, facts);
  try {
    const internals = internalProperties(ins, fn);
    const find = (name: string) => internals.find((p) => p.name === name)?.value;
    if (NATIVE_SOURCE.test(source)) {
      const target = find('[[TargetFunction]]');
      if (target) {
        facts.bound = {
          target: materialize(ins, target),
          boundThis: materialize(ins, find('[[BoundThis]]')),
          boundArgs: materialize(ins, find('[[BoundArgs]]')),
        };
      }
      return facts; // builtin: hashed by name
    }
    const location = find('[[FunctionLocation]]')?.value as { scriptId?: string } | undefined;
    facts.scriptId = location?.scriptId ?? '';
    if (!wantCaptured(facts.scriptId)) return facts;
    const { refs, members } = scanIdentifiers(source);
    facts.members = members;
    const scopes = materialize(ins, find('[[Scopes]]')) as ArrayLike<{ description: string; object: object }>;
    const captured = new Map<string, unknown>();
    // Innermost scope first, so a shadowing variable wins over the outer one of the same name.
    for (let i = 0; i < (scopes?.length ?? 0); i++) {
      const scope = scopes[i];
      if (!scope) continue;
      const kind = String(scope.description).split(' ')[0]?.toLowerCase() ?? '';
      if (SKIPPED_SCOPES.has(kind)) continue;
      for (const name of Object.keys(scope.object)) {
        // V8 context-allocates every variable that *any* inner closure uses; only those `fn` names count.
        if (refs.has(name) && !captured.has(name)) captured.set(name, ownDataValue(scope.object, name));
      }
    }
    facts.captured = [...captured].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    facts.provisional = facts.captured.some(([, v]) => v === undefined);
  } catch {
    facts.degraded = true;
    degradedFunctions++;
  } finally {
    try {
      ins.post('Runtime.releaseObjectGroup', { objectGroup: GROUP });
    } catch {}
  }
  return facts;
}

let degradedFunctions = 0;

/** Number of functions whose captured values could not be read (hashed by source text only). */
export function degradedFunctionCount(): number {
  return degradedFunctions;
}

// ---------------------------------------------------------------------------------------------------------
// Identifier scan

const IDENT = /[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*/uy;
const IDENT_GLOBAL = /[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*/gu;
const IDENT_START = /[\p{ID_Start}$_]/u;
const WHOLE_IDENT = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*$/u;
// After these, a '/' starts a regex literal rather than a division.
const REGEX_AFTER_PUNCT = new Set([...'(,=:[!&|?{};+-*%<>~^}']);
const REGEX_AFTER_WORD = new Set([
  'return',
  'typeof',
  'instanceof',
  'in',
  'of',
  'new',
  'delete',
  'void',
  'throw',
  'case',
  'do',
  'else',
  'yield',
  'await',
]);

interface Identifiers {
  /** Identifiers that may reference a variable (not after `.`). */
  refs: Set<string>;
  /** All identifier tokens plus identifier-like string literals (for `ns.member` / `ns['member']`). */
  members: Set<string>;
}

/**
 * Identifier tokens of `src`, skipping comments and the literal parts of strings, templates and regexes.
 * A small lexer, not a parser: if it gets confused (a newline inside a quoted string or regex, unterminated
 * literal), it falls back to every identifier-like run in the raw text, which can only over-include.
 */
export function scanIdentifiers(src: string): Identifiers {
  return scanTokens(src) ?? rawIdentifiers(src);
}

function rawIdentifiers(src: string): Identifiers {
  const all = new Set(src.match(IDENT_GLOBAL) ?? []);
  return { refs: all, members: all };
}

function scanTokens(src: string): Identifiers | undefined {
  const refs = new Set<string>();
  const members = new Set<string>();
  const n = src.length;
  const templateBraces: number[] = []; // brace depth at which each open `${` resumes its template
  let braces = 0;
  let prev = '('; // last significant token class, for the regex-vs-division decision
  let i = 0;

  // Scans template text from `i` (just after '`' or '}'); returns the index after '`' or after '${'.
  const template = (): number | undefined => {
    while (i < n) {
      const c = src[i];
      if (c === '\\') i += 2;
      else if (c === '`') return i + 1;
      else if (c === '$' && src[i + 1] === '{') {
        templateBraces.push(braces);
        braces++;
        prev = '(';
        return i + 2;
      } else i++;
    }
    return undefined;
  };

  while (i < n) {
    const c = src[i] as string;
    const next = src[i + 1];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '/' && next === '/') {
      const end = src.indexOf('\n', i);
      i = end === -1 ? n : end;
    } else if (c === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      if (end === -1) return undefined;
      i = end + 2;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < n && src[j] !== c) {
        if (src[j] === '\n' || src[j] === '\r') return undefined;
        j += src[j] === '\\' ? 2 : 1;
      }
      if (j >= n) return undefined;
      const text = src.slice(i + 1, j);
      if (WHOLE_IDENT.test(text)) members.add(text);
      i = j + 1;
      prev = 'v';
    } else if (c === '`') {
      i++;
      const end = template();
      if (end === undefined) return undefined;
      i = end;
      if (src[i - 1] === '`') prev = 'v';
    } else if (c === '/' && REGEX_AFTER_PUNCT.has(prev)) {
      let j = i + 1;
      let inClass = false;
      while (j < n && (inClass || src[j] !== '/')) {
        const d = src[j];
        if (d === '\n' || d === '\r') return undefined;
        if (d === '[') inClass = true;
        else if (d === ']') inClass = false;
        j += d === '\\' ? 2 : 1;
      }
      if (j >= n) return undefined;
      i = j + 1;
      IDENT.lastIndex = i;
      if (IDENT.exec(src)) i = IDENT.lastIndex; // flags
      prev = 'v';
    } else if (c >= '0' && c <= '9') {
      i++;
      while (i < n && /[\w.]/.test(src[i] as string)) i++;
      prev = 'v';
    } else if (IDENT_START.test(c) || c === '\\') {
      IDENT.lastIndex = i;
      const m = IDENT.exec(src);
      if (!m) {
        i++;
        continue;
      }
      const word = m[0];
      const start = i;
      i = IDENT.lastIndex;
      members.add(word);
      let k = start - 1;
      while (k >= 0 && /\s/.test(src[k] as string)) k--;
      const before = src[k];
      // `.x` / `?.x` is a property, `#x` a private name; `...x` (spread) is a reference.
      const isProperty = (before === '.' && src[k - 1] !== '.') || before === '#';
      if (!isProperty) refs.add(word);
      prev = REGEX_AFTER_WORD.has(word) ? '(' : 'v';
    } else if (c === '{') {
      braces++;
      prev = c;
      i++;
    } else if (c === '}') {
      if (templateBraces.length > 0 && templateBraces[templateBraces.length - 1] === braces - 1) {
        templateBraces.pop();
        braces--;
        i++;
        const end = template();
        if (end === undefined) return undefined;
        i = end;
        if (src[i - 1] === '`') prev = 'v';
      } else {
        braces--;
        prev = c;
        i++;
      }
    } else {
      prev = c === ')' || c === ']' ? 'v' : c;
      i++;
    }
  }
  return { refs, members };
}

// ---------------------------------------------------------------------------------------------------------
// Canonical serialization into the hash

/**
 * Serializes one root function and everything reachable from it into a SHA-256 stream.
 *
 * Each token is `<tag><length>:<text>` so the stream is unambiguous. Objects and functions get an index on
 * first visit; later visits (shared references, cycles) hash as `r<index>`, so the result depends only on
 * the root and the values, never on what was digested earlier in the process.
 *
 * Rules for objects:
 *  - plain objects (prototype Object.prototype or null): own enumerable string keys, sorted; getters/setters
 *    hash as their functions and are never invoked;
 *  - arrays, Date, RegExp, Map, Set (insertion order), ArrayBuffer, typed arrays, DataView, Buffer,
 *    boxed primitives: by content;
 *  - instances of classes defined in user code: the class (code + captures) plus own enumerable properties;
 *  - module namespace objects captured directly by a function: only the members that function's text names;
 *  - Lathe components and pipelines (own `__latheComponent` / `__lathePipeline`, usually functions): a marker
 *    with their name, not walked (their code has its own digest; their internals are DSL state);
 *  - everything else (instances of builtin or node_modules classes, proxies, API objects with more than
 *    MAX_API_KEYS keys and functions, namespaces reached indirectly): a marker with the constructor name.
 * Functions from node builtins and node_modules hash as `origin#name` markers, and native functions by name.
 */
/** zod v4 schemas carry their definition under `_zod`; their internals are library objects. */
function isZodSchema(v: object): boolean {
  const internals = (v as { _zod?: { def?: unknown } })._zod;
  return typeof internals === 'object' && internals !== null && 'def' in internals;
}

/**
 * A schema captured by a component (e.g. `const Row = z.object(...)` used inside run) hashes as its
 * JSON Schema, so editing it re-keys the component. Refinements and transforms have no JSON form:
 * only the shape is covered.
 */
function zodSchemaText(schema: object): string {
  try {
    return JSON.stringify(z.toJSONSchema(schema as z.ZodType, { unrepresentable: 'any', io: 'input' }));
  } catch {
    return `zod:${(schema as { _zod: { def: { type?: string } } })._zod.def.type ?? 'unknown'}`;
  }
}

class Walker {
  private readonly hash: Hash = createHash('sha256');
  private readonly seen = new Map<object, number>();
  private nodes = 0;
  /** Some function's snapshot was provisional: the result must not be cached. */
  provisional = false;

  constructor(private readonly ins: Inspector) {}

  digest(root: Function): string {
    this.put('V', FORMAT);
    // The root is user code by definition, and so are the other functions of its script: trusting it spares
    // the script-URL lookup for same-module helpers, the common case.
    functionFacts(this.ins, root, (scriptId) => {
      trustedScripts.add(scriptId);
      return true;
    });
    this.value(root, 0);
    return `sha256:${this.hash.digest('hex')}`;
  }

  private put(tag: string, text = ''): void {
    this.hash.update(`${tag}${text.length}:${text}`);
  }

  private wantCaptured = (scriptId: string): boolean => {
    if (scriptId === '' || trustedScripts.has(scriptId)) return true; // no location: assume user code
    const url = scriptUrl(this.ins, scriptId);
    return url === undefined || libraryOrigin(url) === undefined;
  };

  private code(facts: FunctionFacts, depth: number): void {
    if (facts.provisional) this.provisional = true;
    this.put('F', facts.source);
    if (facts.degraded) {
      this.put('!');
      return;
    }
    const captured = facts.captured ?? [];
    this.put('c', String(captured.length));
    for (const [name, value] of captured) {
      this.put('k', name);
      this.value(value, depth + 1, facts.members);
    }
  }

  private value(v: unknown, depth: number, members?: Set<string>): void {
    if (++this.nodes > MAX_NODES) this.put('T');
    else if (typeof v !== 'object' && typeof v !== 'function') this.primitive(v);
    else if (v === null) this.put('z');
    else if (this.seen.has(v)) this.put('r', String(this.seen.get(v)));
    else {
      this.seen.set(v, this.seen.size);
      if (depth > MAX_DEPTH) this.put('D');
      else if (types.isProxy(v)) this.put('X', 'Proxy');
      else if (Object.hasOwn(v, COMPONENT_BRAND)) this.put('C', componentName(v));
      else if (Object.hasOwn(v, PIPELINE_BRAND)) this.put('Q', componentName(v));
      else if (isZodSchema(v)) this.put('S', zodSchemaText(v));
      else if (typeof v === 'function') this.func(v, depth);
      else this.object(v, depth, members);
    }
  }

  private primitive(v: unknown): void {
    switch (typeof v) {
      case 'undefined':
        this.put('u');
        break;
      case 'boolean':
        this.put('b', v ? '1' : '0');
        break;
      case 'number':
        // String() distinguishes NaN/Infinity and is the shortest round-trip form; -0 needs Object.is.
        this.put('n', Object.is(v, -0) ? '-0' : String(v));
        break;
      case 'string':
        this.put('s', v);
        break;
      case 'bigint':
        this.put('i', v.toString());
        break;
      case 'symbol': {
        const key = Symbol.keyFor(v);
        if (key === undefined) this.put('y', v.description ?? '');
        else this.put('Y', key);
        break;
      }
    }
  }

  private func(fn: Function, depth: number): void {
    const facts = functionFacts(this.ins, fn, this.wantCaptured);
    if (facts.bound) {
      this.put('B');
      this.value(facts.bound.target, depth + 1);
      this.value(facts.bound.boundThis, depth + 1);
      this.value(facts.bound.boundArgs, depth + 1);
    } else if (facts.scriptId === undefined) {
      this.put('N', facts.name); // builtin implemented natively
    } else if (facts.captured || facts.degraded) {
      this.code(facts, depth);
    } else {
      const url = scriptUrls.get(facts.scriptId) ?? '';
      this.put('L', `${libraryOrigin(url) ?? url}#${facts.name}`);
    }
  }

  private object(obj: object, depth: number, members: Set<string> | undefined): void {
    const d = depth + 1;
    if (Array.isArray(obj)) {
      this.put('a', String(obj.length));
      for (let i = 0; i < obj.length; i++) {
        if (i in obj) this.value(obj[i], d);
        else this.put('h');
      }
      return;
    }
    if (ArrayBuffer.isView(obj)) {
      const tag = Buffer.isBuffer(obj) ? 'Buffer' : Object.prototype.toString.call(obj);
      this.bytes(tag, new Uint8Array(obj.buffer, obj.byteOffset, obj.byteLength));
      return;
    }
    if (types.isAnyArrayBuffer(obj)) {
      this.bytes('ArrayBuffer', new Uint8Array(obj));
      return;
    }
    if (types.isDate(obj)) {
      this.put('d', String(obj.getTime()));
      return;
    }
    if (types.isRegExp(obj)) {
      this.put('x', `/${obj.source}/${obj.flags}`);
      return;
    }
    if (types.isMap(obj)) {
      this.put('M', String(obj.size));
      for (const [k, val] of Map.prototype.entries.call(obj)) {
        this.value(k, d);
        this.value(val, d);
      }
      return;
    }
    if (types.isSet(obj)) {
      this.put('S', String(obj.size));
      for (const k of Set.prototype.values.call(obj)) this.value(k, d);
      return;
    }
    if (types.isBoxedPrimitive(obj)) {
      this.put('P');
      this.value(unbox(obj), d);
      return;
    }
    if (types.isModuleNamespaceObject(obj)) {
      this.namespace(obj, d, members);
      return;
    }
    const proto = Object.getPrototypeOf(obj) as object | null;
    if (proto === null || proto === Object.prototype) {
      const keys = Object.keys(obj);
      if (keys.length > MAX_API_KEYS && keys.some((k) => typeof ownDataValue(obj, k) === 'function')) {
        this.put('O', `api-object:${keys.length}`);
        return;
      }
      this.put('o');
      this.props(obj, keys, d);
      return;
    }
    const ctor = ownDataValue(proto, 'constructor');
    if (typeof ctor === 'function' && !types.isProxy(ctor) && this.isUserCode(ctor)) {
      this.put('I');
      this.value(ctor, d);
      this.props(obj, Object.keys(obj), d);
      return;
    }
    const name = typeof ctor === 'function' ? functionName(ctor) : '';
    this.put('O', name || Object.prototype.toString.call(obj));
  }

  private props(obj: object, keys: string[], depth: number): void {
    keys.sort();
    this.put('p', String(keys.length));
    for (const key of keys) {
      this.put('k', key);
      const desc = Object.getOwnPropertyDescriptor(obj, key);
      if (!desc || 'value' in desc) this.value(desc?.value, depth);
      else {
        this.put('g');
        this.value(desc.get, depth);
        this.value(desc.set, depth);
      }
    }
  }

  private namespace(ns: object, depth: number, members: Set<string> | undefined): void {
    // Reflect.ownKeys, not Object.keys: the latter throws on bindings still in their temporal dead zone.
    const all = Reflect.ownKeys(ns).filter((k): k is string => typeof k === 'string');
    if (!members) {
      this.put('O', `namespace:${all.length}`);
      return;
    }
    const keys = all.filter((k) => members.has(k)).sort();
    this.put('m', String(keys.length));
    for (const key of keys) {
      this.put('k', key);
      let val: unknown;
      try {
        val = (ns as Record<string, unknown>)[key];
      } catch {
        this.put('t'); // binding still in its temporal dead zone (circular import)
        this.provisional = true;
        continue;
      }
      this.value(val, depth);
    }
  }

  private bytes(tag: string, data: Uint8Array): void {
    this.put('v', tag);
    this.put('l', String(data.byteLength));
    this.hash.update(data);
  }

  private isUserCode(fn: Function): boolean {
    const facts = functionFacts(this.ins, fn, this.wantCaptured);
    return facts.captured !== undefined || facts.degraded === true;
  }
}

function unbox(obj: object): unknown {
  if (types.isNumberObject(obj)) return Number.prototype.valueOf.call(obj);
  if (types.isStringObject(obj)) return String.prototype.valueOf.call(obj);
  if (types.isBooleanObject(obj)) return Boolean.prototype.valueOf.call(obj);
  if (types.isBigIntObject(obj)) return BigInt.prototype.valueOf.call(obj);
  if (types.isSymbolObject(obj)) return Symbol.prototype.valueOf.call(obj);
  return undefined;
}

function componentName(obj: object): string {
  const brand = ownDataValue(obj, COMPONENT_BRAND);
  const fromBrand = brand !== null && typeof brand === 'object' ? ownDataValue(brand, 'name') : undefined;
  const name = typeof fromBrand === 'string' ? fromBrand : ownDataValue(obj, 'name');
  return typeof name === 'string' ? name : '';
}

// ---------------------------------------------------------------------------------------------------------

const digestCache = new WeakMap<Function, string>();

/**
 * `sha256:<hex>` over `fn`'s source text and the values of the outer variables it names, recursively through
 * helper functions. Deterministic across processes for the same source and values. Cached per function
 * identity: values are read once, at the first call.
 *
 * Call it after the defining module has finished evaluating (e.g. when the pipeline is compiled, not inside
 * `component()`): a `const`/`let` declared *below* the call site is still in its temporal dead zone and V8
 * reports it as `undefined`, so an early digest misses it. Digests that saw an `undefined` capture are not
 * cached, so a later call is correct.
 */
export function functionDigest(fn: Function): string {
  const cached = digestCache.get(fn);
  if (cached !== undefined) return cached;
  const ins = getInspector();
  let digest: string;
  if (ins) {
    const walker = new Walker(ins);
    digest = walker.digest(fn);
    if (walker.provisional) return digest;
  } else {
    const hash = createHash('sha256').update(`${FORMAT}/source-only\0`).update(fnToString.call(fn));
    digest = `sha256:${hash.digest('hex')}`;
  }
  digestCache.set(fn, digest);
  return digest;
}
