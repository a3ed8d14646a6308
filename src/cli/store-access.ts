/** Opening the workspace's metadata store for read-only CLI commands. */

import { ArtifactNotFoundError, LatheError } from '../errors.js';
import { openWorkspace } from '../runtime/workspace.js';
import type { ArtifactRecord, MetadataStore } from '../store/metadata-store.js';

export async function withStore<T>(
  home: string | undefined,
  body: (store: MetadataStore) => Promise<T>,
): Promise<T> {
  const workspace = openWorkspace({ home, existing: true });
  try {
    return await body(workspace.store);
  } finally {
    await workspace.close();
  }
}

/** An artifact by id, or by a unique id or hash prefix (as `lathe lineage` takes it). */
export async function resolveArtifact(store: MetadataStore, query: string): Promise<ArtifactRecord> {
  const exact = await store.getArtifact(query);
  if (exact) return exact;
  const matches = await store.findArtifacts(query);
  if (matches.length === 0) throw new ArtifactNotFoundError(query);
  const ids = new Set(matches.map((m) => m.id));
  // Several records of the same bytes (one per run that produced them) are one model: the newest
  // record is taken. Different bytes are ambiguous.
  if (ids.size > 1 && new Set(matches.map((m) => m.hash)).size > 1) {
    throw new LatheError(
      'ARTIFACT_AMBIGUOUS',
      `'${query}' matches several artifacts (${[...ids].slice(0, 5).join(', ')}${ids.size > 5 ? ', ...' : ''}); give more of the id or hash`,
    );
  }
  return matches[0]!;
}
