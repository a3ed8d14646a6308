/**
 * The artifact store contract: bytes, content-addressed and write-once. A local directory
 * (`.lathe/artifacts/`) implements it now, S3 later; both must pass test/store/artifact-store.cases.ts.
 *
 * An artifact is a file or a directory. Its hash is `sha256:<hex>` of the file's bytes, or of a
 * directory's canonical listing (see hashPath). `put` never overwrites: if the content is already
 * stored it is left as it is, so a re-run can never change an earlier run's outputs.
 */
export interface StoredArtifact {
  uri: string;
  hash: string;
  size: number;
}

export interface ArtifactStore {
  /** Copies (or moves, when `move` is set and possible) a local file or directory into the store. */
  put(localPath: string, options?: { move?: boolean }): Promise<StoredArtifact>;
  /** A local path from which the artifact can be read. Read-only: never write to it. */
  localPath(uri: string): Promise<string>;
  /** Re-hashes the stored content: true only if it is present and its hash matches. */
  verify(uri: string, hash: string): Promise<boolean>;
  exists(uri: string): Promise<boolean>;
}
