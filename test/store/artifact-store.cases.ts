/**
 * Conformance suite for ArtifactStore implementations. Each implementation's test file calls
 * `artifactStoreCases` with a factory for a fresh, empty store and a way to corrupt a stored file.
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../../src/store/artifact-store.js';
import { hashBytes } from '../../src/store/hash-path.js';

export function artifactStoreCases(
  name: string,
  open: () => Promise<ArtifactStore>,
  /** Changes the bytes of the stored file at `uri` (the file was put as a single file). */
  tamper: (uri: string) => Promise<void>,
): void {
  describe(`ArtifactStore conformance: ${name}`, () => {
    let store: ArtifactStore;
    // Sources live outside the store, in a scratch dir per test.
    let scratch: string;

    beforeEach(async () => {
      store = await open();
      scratch = await mkdtemp(join(tmpdir(), 'lathe-artifact-src-'));
    });
    afterEach(async () => {
      await rm(scratch, { recursive: true, force: true });
    });

    const writeSource = async (rel: string, data: string | Buffer): Promise<string> => {
      const path = join(scratch, rel);
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, data);
      return path;
    };

    it('puts a file and reads the same bytes back', async () => {
      const bytes = Buffer.from([0, 1, 2, 255, 10, 13, 65]);
      const src = await writeSource('model.bin', bytes);
      const stored = await store.put(src);
      expect(stored.hash).toBe(hashBytes(bytes));
      expect(stored.size).toBe(bytes.length);
      expect(await store.exists(stored.uri)).toBe(true);
      expect(await readFile(await store.localPath(stored.uri))).toEqual(bytes);
      // A copy leaves the source alone.
      expect(await readFile(src)).toEqual(bytes);
    });

    it('puts a directory tree and reads it back', async () => {
      await writeSource('ds/train.csv', 'a,b\n1,2\n');
      await writeSource('ds/nested/deeper/val.csv', 'a,b\n3,4\n');
      await mkdir(join(scratch, 'ds/empty'), { recursive: true });
      const stored = await store.put(join(scratch, 'ds'));
      expect(stored.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(stored.size).toBe(16);
      const root = await store.localPath(stored.uri);
      expect(await readFile(join(root, 'train.csv'), 'utf8')).toBe('a,b\n1,2\n');
      expect(await readFile(join(root, 'nested/deeper/val.csv'), 'utf8')).toBe('a,b\n3,4\n');
      expect((await stat(join(root, 'empty'))).isDirectory()).toBe(true);
      expect(await store.verify(stored.uri, stored.hash)).toBe(true);
    });

    it('stores the same content once and never rewrites it', async () => {
      const first = await store.put(await writeSource('a/out.txt', 'same bytes'));
      const path = await store.localPath(first.uri);
      const before = await stat(path);
      // Long enough for a rewrite to show up in mtime on coarse-grained filesystems.
      await new Promise((r) => setTimeout(r, 50));
      const second = await store.put(await writeSource('b/out.txt', 'same bytes'));
      expect(second).toEqual(first);
      const after = await stat(path);
      expect(after.mtimeMs).toBe(before.mtimeMs);
      expect(await readFile(path, 'utf8')).toBe('same bytes');
    });

    it('hashes content only, not the file name', async () => {
      const a = await store.put(await writeSource('weights-v1.bin', 'payload'));
      const b = await store.put(await writeSource('other-name.dat', 'payload'));
      expect(b.hash).toBe(a.hash);
      expect(b.uri).toBe(a.uri);
      const c = await store.put(await writeSource('weights-v2.bin', 'payload!'));
      expect(c.hash).not.toBe(a.hash);
      expect(c.uri).not.toBe(a.uri);
    });

    it('distinguishes an empty file from an empty directory', async () => {
      const file = await store.put(await writeSource('empty.txt', ''));
      await mkdir(join(scratch, 'empty-dir'));
      const dir = await store.put(join(scratch, 'empty-dir'));
      expect(file.hash).toBe(hashBytes(''));
      expect(dir.hash).not.toBe(file.hash);
      expect(dir.size).toBe(0);
      expect((await stat(await store.localPath(dir.uri))).isDirectory()).toBe(true);
    });

    it('verifies intact content and detects tampering', async () => {
      const stored = await store.put(await writeSource('metrics.json', '{"acc":0.9}'));
      expect(await store.verify(stored.uri, stored.hash)).toBe(true);
      expect(await store.verify(stored.uri, hashBytes('something else'))).toBe(false);
      await tamper(stored.uri);
      expect(await store.verify(stored.uri, stored.hash)).toBe(false);
    });

    it('verify of a URI that was never stored is false, not an error', async () => {
      const stored = await store.put(await writeSource('x.txt', 'x'));
      // A well-formed URI of this store for content that was never put (URIs end in the hex).
      const missingHash = hashBytes('never stored');
      const uri = stored.uri.replace(/[0-9a-f]{62}$/, missingHash.slice(-62));
      expect(uri).not.toBe(stored.uri);
      expect(await store.exists(uri)).toBe(false);
      expect(await store.verify(uri, missingHash)).toBe(false);
    });

    it('put of a missing path fails with an error naming it', async () => {
      const missing = join(scratch, 'does-not-exist.bin');
      await expect(store.put(missing)).rejects.toThrow(missing);
    });

    it('put with move removes the source file', async () => {
      const src = await writeSource('moved.txt', 'move me');
      const stored = await store.put(src, { move: true });
      await expect(stat(src)).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await readFile(await store.localPath(stored.uri), 'utf8')).toBe('move me');
      expect(await store.verify(stored.uri, stored.hash)).toBe(true);
    });

    it('put with move removes a source directory', async () => {
      await writeSource('outdir/a.txt', 'a');
      await writeSource('outdir/sub/b.txt', 'b');
      const stored = await store.put(join(scratch, 'outdir'), { move: true });
      await expect(stat(join(scratch, 'outdir'))).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await readFile(join(await store.localPath(stored.uri), 'sub/b.txt'), 'utf8')).toBe('b');
      expect(await store.verify(stored.uri, stored.hash)).toBe(true);
    });

    it('put with move of already stored content still removes the source', async () => {
      const first = await store.put(await writeSource('one.txt', 'dup'));
      const src = await writeSource('two.txt', 'dup');
      const second = await store.put(src, { move: true });
      expect(second.uri).toBe(first.uri);
      await expect(stat(src)).rejects.toMatchObject({ code: 'ENOENT' });
    });
  });
}
