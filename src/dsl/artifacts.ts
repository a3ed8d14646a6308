/**
 * Artifact types for component inputs and outputs, and the objects a component sees at run time.
 */
import type { ArtifactTypeName } from './vocabulary.js';

export interface ArtifactType<T extends ArtifactTypeName = ArtifactTypeName> {
  readonly kind: 'artifact';
  readonly type: T;
  readonly isList: false;
  readonly isOptional: boolean;
  /** An input that takes a list of artifacts, e.g. `collect(trials.outputs.model)`. */
  list(): ArtifactListType<T>;
  /** An input the caller may leave out: `run` sees it as undefined. */
  optional(): OptionalArtifactType<T>;
}

export interface OptionalArtifactType<T extends ArtifactTypeName = ArtifactTypeName> extends ArtifactType<T> {
  readonly isOptional: true;
}

export interface ArtifactListType<T extends ArtifactTypeName = ArtifactTypeName> {
  readonly kind: 'artifact';
  readonly type: T;
  readonly isList: true;
  readonly isOptional: boolean;
}

function artifactType<T extends ArtifactTypeName>(type: T, isOptional = false): ArtifactType<T> {
  return {
    kind: 'artifact',
    type,
    isList: false,
    isOptional,
    list: () => ({ kind: 'artifact', type, isList: true, isOptional: false }),
    optional: () => artifactType(type, true) as OptionalArtifactType<T>,
  };
}

/** Any file or directory. An `Artifact` input accepts every artifact type. */
export const Artifact = artifactType('Artifact');
/** Tabular data (CSV, Parquet, JSON lines...). */
export const Dataset = artifactType('Dataset');
/** A trained model: a file or a directory. */
export const Model = artifactType('Model');
/** A JSON object of named numbers. */
export const Metrics = artifactType('Metrics');
/** Per-column dataset statistics (JSON, `lathe.statistics`), from `lathe/data`. */
export const Statistics = artifactType('Statistics');
/** A dataset schema (YAML, `lathe.schema`): types, nullability, domains, ranges. */
export const Schema = artifactType('Schema');
/** The checks of a data validation with their results (JSON, `lathe.validation`). */
export const ValidationReport = artifactType('ValidationReport');
/** Per-column drift between two datasets (JSON, `lathe.drift`). */
export const DriftReport = artifactType('DriftReport');

export function isArtifactType(value: unknown): value is ArtifactType | ArtifactListType {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'artifact';
}

/** An input artifact as a component sees it: stored, hashed, read-only. */
export interface InputArtifact {
  readonly name: string;
  readonly type: ArtifactTypeName;
  readonly id: string;
  readonly uri: string;
  readonly hash: string;
  readonly size: number;
  /** A local path to read from. Never write to it: stored artifacts are immutable. */
  readonly path: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readText(): Promise<string>;
  readJson<T = unknown>(): Promise<T>;
}

/** An output artifact: write a file or a directory at `path`; Lathe stores and hashes it. */
export interface OutputArtifact {
  readonly name: string;
  readonly type: ArtifactTypeName;
  readonly path: string;
  setMetadata(metadata: Record<string, unknown>): void;
  writeText(text: string): Promise<void>;
  writeJson(value: unknown): Promise<void>;
}
