/**
 * The model registry contract: registered models, their immutable versions (linked to the run,
 * task and Model artifact that produced them), aliases such as `champion` and `challenger`, and
 * the history of every alias move. Implemented by the SQLite metadata store; alias moves are
 * transactions, so concurrent promotions never leave an alias in two places or lose a move.
 */
import { LatheError } from '../errors.js';

export interface RegisteredModel {
  name: string;
  description: string | null;
  tags: Record<string, string>;
  createdAt: number;
  updatedAt: number;
  /** Highest version number, 0 before the first. */
  latestVersion: number;
  /** Alias → version. */
  aliases: Record<string, number>;
}

export interface ModelVersion {
  name: string;
  version: number;
  /** The Model artifact, its URI (where to read it) and content hash. */
  artifactId: string;
  artifactUri: string;
  artifactHash: string;
  runId: string | null;
  taskId: string | null;
  description: string | null;
  tags: Record<string, string>;
  createdAt: number;
}

export interface AliasEvent {
  name: string;
  alias: string;
  /** Null when the alias was created. */
  fromVersion: number | null;
  /** Null when the alias was deleted. */
  toVersion: number | null;
  kind: 'promote' | 'rollback' | 'delete';
  reason: string | null;
  at: number;
}

export interface RegisterVersionInput {
  name: string;
  artifactId: string;
  runId?: string | null;
  taskId?: string | null;
  description?: string | null;
  tags?: Record<string, string>;
}

export interface SetAliasInput {
  name: string;
  alias: string;
  version: number;
  reason?: string | null;
  /**
   * Compare-and-set: the version the alias must point to now (null: must not exist), or the move
   * fails with AliasConflictError. Without it the move is unconditional (still atomic).
   */
  expectedVersion?: number | null;
}

export interface ModelRegistry {
  /** Creates the registered model on first use; the version is the next number. */
  registerModelVersion(input: RegisterVersionInput): Promise<ModelVersion>;
  getRegisteredModel(name: string): Promise<RegisteredModel | undefined>;
  listRegisteredModels(): Promise<RegisteredModel[]>;
  listModelVersions(name: string): Promise<ModelVersion[]>;
  getModelVersion(name: string, version: number): Promise<ModelVersion | undefined>;
  /** A version by number, or by alias. */
  resolveModelVersion(name: string, versionOrAlias: number | string): Promise<ModelVersion | undefined>;
  setAlias(input: SetAliasInput): Promise<AliasEvent>;
  /**
   * Moves the alias back to the version it pointed to before its current version was promoted
   * (repeated rollbacks walk further back). Fails when there is no earlier version.
   */
  rollbackAlias(input: { name: string; alias: string; reason?: string | null }): Promise<AliasEvent>;
  deleteAlias(input: { name: string; alias: string; reason?: string | null }): Promise<AliasEvent>;
  /** Every move of the model's aliases (or of one), oldest first. */
  aliasHistory(name: string, alias?: string): Promise<AliasEvent[]>;
  updateRegisteredModel(
    name: string,
    patch: { description?: string | null; tags?: Record<string, string | null> },
  ): Promise<RegisteredModel>;
  updateModelVersion(
    name: string,
    version: number,
    patch: { description?: string | null; tags?: Record<string, string | null> },
  ): Promise<ModelVersion>;
}

/** A compare-and-set alias move lost: the alias had moved meanwhile. */
export class AliasConflictError extends LatheError {
  constructor(name: string, alias: string, expected: number | null, actual: number | null) {
    super(
      'ALIAS_CONFLICT',
      `model '${name}': alias '${alias}' points to ${actual === null ? 'nothing' : `version ${actual}`}, not ${expected === null ? 'nothing' : `version ${expected}`} (moved by someone else meanwhile?)`,
    );
  }
}

/** A registry request about something that is not there, or not allowed. */
export class RegistryError extends LatheError {
  constructor(message: string) {
    super('REGISTRY', message);
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Model names and aliases: a letter or digit, then letters, digits, `_ . -`; at most 128. */
export function checkRegistryName(kind: 'model' | 'alias', name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new RegistryError(
      `${kind} name ${JSON.stringify(name)} is not valid: use a letter or digit, then letters, digits, _ . - (at most 128)`,
    );
  }
  if (kind === 'alias' && /^\d+$/.test(name)) {
    throw new RegistryError(`alias ${JSON.stringify(name)} is a number: it would be read as a version`);
  }
  return name;
}
