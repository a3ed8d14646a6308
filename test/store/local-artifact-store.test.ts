import { execFile } from 'node:child_process';
import {
  appendFile,
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashBytes, hashPath } from '../../src/store/hash-path.js';
import { LocalArtifactStore } from '../../src/store/local/local-artifact-store.js';
import { artifactStoreCases } from './artifact-store.cases.js';

const execFileAsync = promisify(execFile);

// Stored artifacts are read-only; as a non-root user rm needs the directories writable again.
async function removeTree(path: string): Promise<void> {
  const walk = async (p: string): Promise<void> => {
    const s = await lstat(p).catch(() => undefined);
    if (!s?.isDirectory()) return;
    await chmod(p, 0o755);
    for (const name of await readdir(p)) await walk(join(p, name));
  };
  await walk(path);
  await rm(path, { recursive: true, force: true });
}

const suiteDirs: string[] = [];
afterAll(async () => {
  for (const dir of suiteDirs) await removeTree(dir);
});

artifactStoreCases(
  'local directory',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lathe-local-store-'));
    suiteDirs.push(dir);
    return new LocalArtifactStore(join(dir, '.lathe/artifacts'));
  },
  async (uri) => {
    const path = fileURLToPath(uri);
    await chmod(path, 0o644);
    await appendFile(path, Buffer.from([0]));
  },
);

describe('LocalArtifactStore', () => {
  // Store root and sources share one temp dir, so they are on the same filesystem.
  let base: string;
  let root: string;
  let store: LocalArtifactStore;

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'lathe-local-'));
    root = join(base, 'store');
    store = new LocalArtifactStore(root);
  });
  afterEach(async () => {
    await removeTree(base);
  });

  const writeSource = async (rel: string, data: string | Buffer): Promise<string> => {
    const path = join(base, 'src', rel);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, data);
    return path;
  };
  const tmpEntries = async (): Promise<string[]> => readdir(join(root, 'tmp')).catch(() => []);

  it('lays out content by hash and returns a file:// URI of that location', async () => {
    const stored = await store.put(await writeSource('f.txt', 'hello'));
    const hex = stored.hash.slice('sha256:'.length);
    const expected = join(root, 'sha256', hex.slice(0, 2), hex.slice(2));
    expect(stored.uri).toBe(pathToFileURL(expected).href);
    expect(await store.localPath(stored.uri)).toBe(expected);
  });

  it('rejects URIs of another scheme or outside the store, naming them', async () => {
    const stored = await store.put(await writeSource('f.txt', 'hello'));
    const other = new LocalArtifactStore(join(base, 'other-store'));
    const bad = [
      's3://bucket/sha256/ab/cd',
      'not a uri',
      pathToFileURL('/etc/passwd').href,
      pathToFileURL(join(root, 'tmp', 'put-x', 'content')).href,
      pathToFileURL(join(root, 'sha256', '..', '..', 'escape')).href,
      stored.uri.replace(/[0-9a-f]{62}$/, 'not-hex'),
    ];
    for (const uri of bad) {
      await expect(store.localPath(uri)).rejects.toThrow(uri);
      await expect(store.exists(uri)).rejects.toThrow(uri);
    }
    await expect(other.localPath(stored.uri)).rejects.toThrow(stored.uri);
  });

  it('makes stored files and directories read-only', async () => {
    const file = await store.put(await writeSource('f.bin', 'bytes'));
    expect((await stat(await store.localPath(file.uri))).mode & 0o777).toBe(0o444);

    await writeSource('d/a.txt', 'a');
    await writeSource('d/sub/b.txt', 'b');
    const dir = await store.put(join(base, 'src', 'd'));
    const path = await store.localPath(dir.uri);
    expect((await stat(path)).mode & 0o777).toBe(0o555);
    expect((await stat(join(path, 'sub'))).mode & 0o777).toBe(0o555);
    expect((await stat(join(path, 'a.txt'))).mode & 0o777).toBe(0o444);
    expect((await stat(join(path, 'sub/b.txt'))).mode & 0o777).toBe(0o444);
  });

  it('leaves nothing in <root>/tmp after puts', async () => {
    await store.put(await writeSource('a.txt', 'a'));
    await store.put(await writeSource('a-again.txt', 'a'));
    await store.put(await writeSource('b.txt', 'b'), { move: true });
    await writeSource('d/x.txt', 'x');
    await store.put(join(base, 'src', 'd'), { move: true });
    await expect(store.put(join(base, 'src', 'missing'))).rejects.toThrow();
    expect(await tmpEntries()).toEqual([]);
  });

  it('moves by rename on the same filesystem (no copy)', async () => {
    const src = await writeSource('big.bin', Buffer.alloc(1 << 16, 7));
    const { ino } = await stat(src);
    const stored = await store.put(src, { move: true });
    expect((await stat(await store.localPath(stored.uri))).ino).toBe(ino);
  });

  it('concurrent puts of the same content all succeed with the same URI', async () => {
    const payload = Buffer.alloc(1 << 20, 42);
    const sources = await Promise.all(Array.from({ length: 6 }, (_, i) => writeSource(`c${i}.bin`, payload)));
    const results = await Promise.all(sources.map((s) => store.put(s)));
    expect(new Set(results.map((r) => r.uri)).size).toBe(1);
    expect(await store.verify(results[0]!.uri, hashBytes(payload))).toBe(true);
    expect(await tmpEntries()).toEqual([]);
  });

  it('two store instances on one root race on a directory without corrupting it', async () => {
    const other = new LocalArtifactStore(root);
    for (const name of ['one', 'two']) {
      await writeSource(`${name}/train.csv`, 'x,y\n'.repeat(10_000));
      await writeSource(`${name}/meta/info.json`, '{}');
      await mkdir(join(base, 'src', name, 'empty'));
    }
    const [a, b] = await Promise.all([
      store.put(join(base, 'src', 'one')),
      other.put(join(base, 'src', 'two'), { move: true }),
    ]);
    expect(b).toEqual(a);
    expect(await store.verify(a.uri, a.hash)).toBe(true);
    expect(await readdir(await store.localPath(a.uri))).toEqual(expect.arrayContaining(['empty', 'meta']));
    await expect(stat(join(base, 'src', 'two'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await tmpEntries()).toEqual([]);
  });

  it('separate processes racing on one root all get the same URI', async () => {
    const modulePath = fileURLToPath(
      new URL('../../src/store/local/local-artifact-store.ts', import.meta.url),
    );
    const script = [
      'const { LocalArtifactStore } = await import(process.argv[1]);',
      'const stored = await new LocalArtifactStore(process.argv[2]).put(process.argv[3]);',
      'process.stdout.write(JSON.stringify(stored));',
    ].join('\n');
    const sources: string[] = [];
    for (let i = 0; i < 3; i++) {
      await writeSource(`p${i}/weights.bin`, Buffer.alloc(1 << 20, 3));
      await writeSource(`p${i}/config.json`, '{"layers":2}');
      sources.push(join(base, 'src', `p${i}`));
    }
    // tsx loads the TypeScript module in the children, as the CLI does.
    const outputs = await Promise.all(
      sources.map((src) =>
        execFileAsync(
          process.execPath,
          ['--import', 'tsx', '--input-type=module', '-e', script, modulePath, root, src],
          { cwd: fileURLToPath(new URL('../..', import.meta.url)) },
        ),
      ),
    );
    const results = outputs.map((o) => JSON.parse(o.stdout) as { uri: string; hash: string });
    expect(new Set(results.map((r) => r.uri)).size).toBe(1);
    expect(await store.verify(results[0]!.uri, results[0]!.hash)).toBe(true);
    expect(await tmpEntries()).toEqual([]);
  });

  it('verify is false when a stored directory gains a file or a symlink', async () => {
    await writeSource('d/a.txt', 'a');
    const dir = await store.put(join(base, 'src', 'd'));
    const path = await store.localPath(dir.uri);
    await chmod(path, 0o755);
    await symlink('/etc/hostname', join(path, 'link'));
    expect(await store.verify(dir.uri, dir.hash)).toBe(false);
    await rm(join(path, 'link'));
    expect(await store.verify(dir.uri, dir.hash)).toBe(true);
    await writeFile(join(path, 'extra.txt'), '');
    expect(await store.verify(dir.uri, dir.hash)).toBe(false);
  });

  it('rejects a directory containing a symlink, naming the link', async () => {
    await writeSource('d/real.txt', 'real');
    const link = join(base, 'src', 'd', 'nested', 'link.txt');
    await mkdir(join(link, '..'));
    await symlink(join(base, 'src', 'd', 'real.txt'), link);
    await expect(hashPath(join(base, 'src', 'd'))).rejects.toThrow(link);
    await expect(store.put(join(base, 'src', 'd'))).rejects.toThrow(link);
    // A symlink given as the source itself is rejected too.
    const top = join(base, 'src', 'top-link');
    await symlink(join(base, 'src', 'd', 'real.txt'), top);
    await expect(store.put(top)).rejects.toThrow(top);
    expect(await tmpEntries()).toEqual([]);
  });
});

describe('hashPath', () => {
  let base: string;
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'lathe-hash-'));
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  const write = async (path: string, data: string | Buffer): Promise<void> => {
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, data);
  };

  it('matches sha256sum for files and hashBytes', async () => {
    const samples: Buffer[] = [
      Buffer.alloc(0),
      Buffer.from('abc'),
      Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      // Larger than one read chunk, to exercise streaming.
      Buffer.from(Array.from({ length: 3 << 20 }, (_, i) => (i * 31 + 7) % 251)),
    ];
    const files = samples.map((_, i) => join(base, `sample-${i}.bin`));
    await Promise.all(samples.map((buf, i) => writeFile(files[i]!, buf)));
    const { stdout } = await execFileAsync('sha256sum', files);
    const expected = stdout
      .trim()
      .split('\n')
      .map((line) => `sha256:${line.split(/\s+/)[0]}`);
    expect(expected).toHaveLength(samples.length);
    for (const [i, buf] of samples.entries()) {
      expect(hashBytes(buf)).toBe(expected[i]);
      expect(await hashPath(files[i]!)).toEqual({ hash: expected[i], size: buf.length, kind: 'file' });
    }
    expect(hashBytes('abc')).toBe(expected[1]);
  });

  it('hashes a directory independently of file creation order', async () => {
    const files: [string, string][] = [
      ['b.txt', 'bee'],
      ['a.txt', 'ay'],
      ['sub/z.txt', 'zed'],
      ['sub/inner/c.txt', 'see'],
      ['a-b.txt', 'dash'],
    ];
    for (const [rel, data] of files) await write(join(base, 'one', rel), data);
    await mkdir(join(base, 'one', 'empty'));
    await mkdir(join(base, 'two', 'empty'), { recursive: true });
    for (const [rel, data] of [...files].reverse()) await write(join(base, 'two', rel), data);

    const one = await hashPath(join(base, 'one'));
    const two = await hashPath(join(base, 'two'));
    expect(two).toEqual(one);
    expect(one.kind).toBe('directory');
    expect(one.size).toBe(files.reduce((n, [, d]) => n + d.length, 0));

    // Pin the canonical listing so other stores (S3) can reproduce it byte for byte.
    const line = (rel: string, data: string) =>
      `${rel}\0${hashBytes(data).slice('sha256:'.length)}\0${Buffer.byteLength(data)}\n`;
    const listing = [
      line('a-b.txt', 'dash'),
      line('a.txt', 'ay'),
      line('b.txt', 'bee'),
      'empty/\0dir\n',
      line('sub/inner/c.txt', 'see'),
      line('sub/z.txt', 'zed'),
    ].join('');
    expect(one.hash).toBe(hashBytes(listing));
  });

  it('counts names, contents and empty directories', async () => {
    await write(join(base, 'd/x.txt'), 'x');
    const before = await hashPath(join(base, 'd'));
    await mkdir(join(base, 'd/empty'));
    const withEmpty = await hashPath(join(base, 'd'));
    expect(withEmpty.hash).not.toBe(before.hash);
    await rm(join(base, 'd/empty'), { recursive: true });
    await write(join(base, 'd/x.txt'), 'y');
    expect((await hashPath(join(base, 'd'))).hash).not.toBe(before.hash);
    await write(join(base, 'd/x.txt'), 'x');
    expect(await hashPath(join(base, 'd'))).toEqual(before);
  });

  it('fails on a missing path with an error naming it', async () => {
    const missing = join(base, 'nope');
    await expect(hashPath(missing)).rejects.toThrow(missing);
  });
});
