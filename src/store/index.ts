/** Store contracts and the embedded implementations (SQLite metadata, local artifact directory). */

export type { ArtifactStore, StoredArtifact } from './artifact-store.js';
export { hashPath } from './hash-path.js';
export { LocalArtifactStore } from './local/local-artifact-store.js';
export * from './metadata-store.js';
export * from './registry.js';
export { SqliteMetadataStore } from './sqlite/sqlite-metadata-store.js';
export * from './tracking.js';
