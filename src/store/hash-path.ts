/**
 * Content hashes of artifacts. Any ArtifactStore (local now, S3 later) must compute exactly these.
 *
 * File: `sha256:<hex>` of its bytes.
 * Directory: `sha256:<hex>` of its canonical listing, one line per entry, entries sorted by their
 * relative POSIX path (no leading `./`, compared as UTF-8 bytes):
 *   - regular file: `<relpath>\0<sha256 hex of its bytes>\0<size in bytes>\n`
 *   - empty directory: `<relpath>/\0dir\n`; an empty top-level directory is listed as `./\0dir\n`,
 *     so that it does not hash like an empty file.
 * Non-empty directories have no line of their own (their files imply them). Names, contents and
 * emptiness count; timestamps, modes and owners do not. Symlinks and special files are rejected:
 * an artifact must be self-contained.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LatheError } from '../errors.js';

export interface PathHash {
  hash: string;
  size: number;
  kind: 'file' | 'directory';
}

export function hashBytes(data: Buffer | Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Hashes a file or directory (see the module comment for the format). */
export function hashPath(path: string): Promise<PathHash> {
  return hashTree(path, undefined);
}

/**
 * Copies `src` to `dest` (which must not exist) while hashing what it copies, in one read of the
 * source. Stores use it so that the returned hash describes the bytes actually written, even if
 * the source changes mid-copy.
 */
export function copyAndHashPath(src: string, dest: string): Promise<PathHash> {
  return hashTree(src, dest);
}

async function hashTree(path: string, copyTo: string | undefined): Promise<PathHash> {
  const stat = await lstatOrMissing(path);
  if (stat.isFile()) {
    const { hex, size } = await hashFile(path, copyTo);
    return { hash: `sha256:${hex}`, size, kind: 'file' };
  }
  if (!stat.isDirectory()) throw unsupportedEntry(path, stat.isSymbolicLink());

  const entries = await listTree(path);
  if (copyTo !== undefined) await mkdir(copyTo);
  const listing = createHash('sha256');
  let total = 0;
  if (entries.length === 0) listing.update('./\0dir\n');
  for (const entry of entries) {
    if (entry.kind === 'dir') {
      if (copyTo !== undefined) await mkdir(join(copyTo, entry.rel), { recursive: true });
      listing.update(`${entry.rel}/\0dir\n`);
      continue;
    }
    let target: string | undefined;
    if (copyTo !== undefined) {
      target = join(copyTo, entry.rel);
      await mkdir(join(target, '..'), { recursive: true });
    }
    const { hex, size } = await hashFile(join(path, entry.rel), target);
    listing.update(`${entry.rel}\0${hex}\0${size}\n`);
    total += size;
  }
  return { hash: `sha256:${listing.digest('hex')}`, size: total, kind: 'directory' };
}

interface TreeEntry {
  /** Relative POSIX path. */
  rel: string;
  kind: 'file' | 'dir';
}

/** Regular files and empty directories under `root`, in canonical order. */
async function listTree(root: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    const abs = rel === '' ? root : join(root, rel);
    const dirents = await readdir(abs, { withFileTypes: true });
    if (dirents.length === 0 && rel !== '') out.push({ rel, kind: 'dir' });
    for (const d of dirents) {
      const childRel = rel === '' ? d.name : `${rel}/${d.name}`;
      if (d.isFile()) out.push({ rel: childRel, kind: 'file' });
      else if (d.isDirectory()) await walk(childRel);
      else throw unsupportedEntry(join(abs, d.name), d.isSymbolicLink());
    }
  };
  await walk('');
  // Byte order of UTF-8, not locale order, so every implementation sorts identically.
  const keys = new Map(out.map((e) => [e, Buffer.from(e.rel, 'utf8')]));
  return out.sort((a, b) => Buffer.compare(keys.get(a)!, keys.get(b)!));
}

async function hashFile(path: string, copyTo: string | undefined): Promise<{ hex: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const input = createReadStream(path);
  if (copyTo === undefined) {
    for await (const chunk of input) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  } else {
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    // 'wx': the destination is always a fresh temp path; never write through an existing file.
    await pipeline(input, tap, createWriteStream(copyTo, { flags: 'wx' }));
  }
  return { hex: hash.digest('hex'), size };
}

async function lstatOrMissing(path: string) {
  try {
    return await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new LatheError('ARTIFACT_SOURCE_MISSING', `no such file or directory: ${path}`, { cause: err });
    }
    throw err;
  }
}

function unsupportedEntry(path: string, symlink: boolean): LatheError {
  return new LatheError(
    'ARTIFACT_UNSUPPORTED_ENTRY',
    symlink
      ? `artifact contains a symlink, which is not allowed (artifacts must be self-contained): ${path}`
      : `artifact contains a special file (not a regular file or directory): ${path}`,
  );
}
