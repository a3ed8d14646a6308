/**
 * Stored artifacts are read-only (mode 0444), but a component running as root can still write to
 * its inputs, which would corrupt the store for every later reader. This takes a cheap
 * fingerprint (size, mtime, inode) of each input before the attempt and fails the attempt if one
 * changed. A directory's fingerprint covers its own entry list, not files deep inside it.
 */
import { stat } from 'node:fs/promises';
import { LatheError } from '../errors.js';

type Fingerprints = Map<string, { name: string; signature: string }>;

async function signature(path: string): Promise<string> {
  const info = await stat(path, { bigint: true });
  return `${info.size}:${info.mtimeNs}:${info.ino}`;
}

export async function fingerprintInputs(inputs: Record<string, string[]>): Promise<Fingerprints> {
  const prints: Fingerprints = new Map();
  for (const [name, paths] of Object.entries(inputs)) {
    for (const path of paths) prints.set(path, { name, signature: await signature(path) });
  }
  return prints;
}

export async function checkInputsUnchanged(prints: Fingerprints, task: string): Promise<void> {
  for (const [path, { name, signature: before }] of prints) {
    let after: string;
    try {
      after = await signature(path);
    } catch {
      after = 'missing';
    }
    if (after !== before) {
      throw new LatheError(
        'INPUT_MODIFIED',
        `task '${task}' modified its input '${name}' (${path}); inputs are stored artifacts and must not be written to`,
      );
    }
  }
}
