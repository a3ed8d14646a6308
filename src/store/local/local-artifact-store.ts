/**
 * ArtifactStore on a local directory (default `.lathe/artifacts`).
 *
 * Layout: `<root>/sha256/<first 2 hex>/<remaining hex>` is the file or directory tree itself, and
 * the URI is its `file://` URL. Content is staged in `<root>/tmp/` (same filesystem, so the final
 * step is an atomic rename or link) and made read-only before it appears at its final path (a
 * directory's top level right after: it must be writable to be renamed), so readers never see a
 * partial artifact. Several processes may share one root; the first to place content wins.
 */
import { chmod, link, lstat, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LatheError } from '../../errors.js';
import type { ArtifactStore, StoredArtifact } from '../artifact-store.js';
import { copyAndHashPath, hashPath } from '../hash-path.js';

const HASH_RE = /^sha256:([0-9a-f]{64})$/;

export class LocalArtifactStore implements ArtifactStore {
  readonly root: string;
  private readonly tmpDir: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.tmpDir = join(this.root, 'tmp');
  }

  async put(localPath: string, options: { move?: boolean } = {}): Promise<StoredArtifact> {
    const src = resolve(localPath);
    const { hash, size, kind } = await hashPath(src);
    const dest = this.pathForHash(hash);
    const result = { uri: pathToFileURL(dest).href, hash, size };

    // Write-once: intact stored content is never touched again. Content that no longer matches
    // its hash (tampered, damaged) is moved aside to <root>/quarantine/ and stored afresh, so the
    // hash path always holds the bytes it names and nothing that was there is deleted.
    if (await pathExists(dest)) {
      if (await this.verify(result.uri, hash)) {
        if (options.move) await rm(src, { recursive: true, force: true });
        return result;
      }
      await this.quarantine(dest);
    }

    // Created up front so that nothing can fail between moving the source away and placing it.
    await mkdir(dirname(dest), { recursive: true });
    await mkdir(this.tmpDir, { recursive: true });
    const staging = await mkdtemp(join(this.tmpDir, 'put-'));
    const tmp = join(staging, 'content');
    let movedSource = false;
    let placed = false;
    try {
      if (options.move) {
        try {
          await rename(src, tmp);
          movedSource = true;
        } catch (err) {
          if (errnoCode(err) !== 'EXDEV') throw err;
        }
      }
      if (!movedSource) {
        const copied = await copyAndHashPath(src, tmp);
        if (copied.hash !== hash) {
          throw new LatheError('ARTIFACT_SOURCE_CHANGED', `${src} changed while it was being stored`);
        }
      }
      // The top directory stays writable until placed: renaming a directory to a new parent
      // needs write permission on it (its `..` entry changes).
      await makeReadOnly(tmp, false);
      // If not placed, another put stored the same content first: ours goes with the staging dir.
      placed = await place(tmp, dest, kind);
      if (placed && kind === 'directory') await chmod(dest, 0o555);
      if (options.move && !movedSource) await rm(src, { recursive: true, force: true });
      return result;
    } catch (err) {
      // Best effort: give a moved source back rather than lose it with the staging dir.
      if (movedSource && !placed) await rename(tmp, src).catch(() => {});
      throw err;
    } finally {
      await forceRemove(staging);
    }
  }

  private async quarantine(path: string): Promise<void> {
    const dir = join(this.root, 'quarantine');
    await mkdir(dir, { recursive: true });
    // A directory must be writable to be renamed to a new parent (its `..` entry changes).
    if ((await lstat(path)).isDirectory()) await chmod(path, 0o755);
    await rename(path, join(dir, `${path.split(sep).slice(-2).join('')}-${Date.now()}`));
  }

  async localPath(uri: string): Promise<string> {
    return this.pathForUri(uri);
  }

  async verify(uri: string, hash: string): Promise<boolean> {
    const path = this.pathForUri(uri);
    try {
      return (await hashPath(path)).hash === hash;
    } catch (err) {
      // Missing, or tampered into something that is not a valid artifact: not verified.
      const code = errnoCode(err);
      if (code === 'ARTIFACT_SOURCE_MISSING' || code === 'ARTIFACT_UNSUPPORTED_ENTRY' || code === 'ENOENT') {
        return false;
      }
      throw err;
    }
  }

  async exists(uri: string): Promise<boolean> {
    return pathExists(this.pathForUri(uri));
  }

  private pathForHash(hash: string): string {
    const hex = HASH_RE.exec(hash)?.[1];
    if (!hex) throw new LatheError('ARTIFACT_HASH_INVALID', `not a sha256 content hash: ${hash}`);
    return join(this.root, 'sha256', hex.slice(0, 2), hex.slice(2));
  }

  /** Maps a URI back to its path; only locations this store could have produced are accepted. */
  private pathForUri(uri: string): string {
    let path: string;
    try {
      const url = new URL(uri);
      if (url.protocol !== 'file:') throw new Error(`scheme is ${url.protocol}`);
      path = fileURLToPath(url);
    } catch (err) {
      throw new LatheError('ARTIFACT_URI_INVALID', `not a file:// artifact URI: ${uri}`, { cause: err });
    }
    const rel = relative(join(this.root, 'sha256'), path).split(sep);
    const canonical = pathToFileURL(path).href === uri;
    if (!canonical || rel.length !== 2 || !/^[0-9a-f]{2}$/.test(rel[0]!) || !/^[0-9a-f]{62}$/.test(rel[1]!)) {
      throw new LatheError(
        'ARTIFACT_URI_INVALID',
        `URI is not an artifact of the store at ${this.root}: ${uri}`,
      );
    }
    return path;
  }
}

/** Moves staged content to its final path; false if that content was already there. */
async function place(tmp: string, dest: string, kind: 'file' | 'directory'): Promise<boolean> {
  if (kind === 'file') {
    // link() never replaces an existing file, unlike rename(): the first stored copy stays put.
    try {
      await link(tmp, dest);
      return true;
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EEXIST') return false;
      // Filesystems without hard links: fall back to rename (same bytes either way).
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
    }
  }
  try {
    await rename(tmp, dest);
    return true;
  } catch (err) {
    // rename() onto a non-empty directory fails: a concurrent put won.
    const code = errnoCode(err);
    if (code === 'EEXIST' || code === 'ENOTEMPTY') return false;
    throw err;
  }
}

/** chmod 0o444 files and 0o555 directories below `path` (and `path` itself if `includeTop`). */
async function makeReadOnly(path: string, includeTop: boolean): Promise<void> {
  const stat = await lstat(path);
  if (stat.isDirectory()) {
    for (const d of await readdir(path, { withFileTypes: true })) {
      await makeReadOnly(join(path, d.name), true);
    }
    if (includeTop) await chmod(path, 0o555);
  } else if (stat.isFile()) {
    await chmod(path, 0o444);
  }
}

/** rm -rf that also works on read-only directories (needed when not running as root). */
async function forceRemove(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (err) {
    const code = errnoCode(err);
    if (code !== 'EACCES' && code !== 'EPERM') throw err;
    await makeDirsWritable(path);
    await rm(path, { recursive: true, force: true });
  }
}

async function makeDirsWritable(path: string): Promise<void> {
  const stat = await lstat(path).catch(() => undefined);
  if (!stat?.isDirectory()) return;
  await chmod(path, 0o755);
  for (const d of await readdir(path, { withFileTypes: true })) {
    if (d.isDirectory()) await makeDirsWritable(join(path, d.name));
  }
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}

function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
