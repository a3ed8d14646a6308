/** Opening the workspace's metadata store for read-only CLI commands. */
import { openWorkspace } from '../runtime/workspace.js';
import type { MetadataStore } from '../store/metadata-store.js';

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
