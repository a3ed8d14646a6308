/**
 * The model registry on the metadata store's SQLite file (migration 4): registered models,
 * immutable versions, one row per alias, and an append-only log of alias moves.
 *
 * Every write is one IMMEDIATE transaction: the write lock is taken before anything is read, so
 * a version number (max + 1), a compare-and-set on an alias, or the rollback target is decided
 * on data no other writer can change before the commit. Concurrent promotions from any number of
 * processes therefore serialize: one alias row, and a history in which each move starts where the
 * previous one ended.
 */
import type Database from 'better-sqlite3';
import {
  AliasConflictError,
  type AliasEvent,
  checkRegistryName,
  type ModelRegistry,
  type ModelVersion,
  type RegisteredModel,
  type RegisterVersionInput,
  RegistryError,
  type SetAliasInput,
} from '../registry.js';

interface ModelRow {
  name: string;
  description: string | null;
  tags: string;
  created_at: number;
  updated_at: number;
}

interface VersionRow {
  name: string;
  version: number;
  artifact_id: string;
  artifact_uri: string;
  artifact_hash: string;
  run_id: string | null;
  task_id: string | null;
  description: string | null;
  tags: string;
  created_at: number;
}

interface AliasRow {
  name: string;
  alias: string;
  version: number;
}

interface AliasEventRow {
  seq: number;
  name: string;
  alias: string;
  from_version: number | null;
  to_version: number | null;
  kind: string;
  reason: string | null;
  at: number;
}

type Patch = { description?: string | null; tags?: Record<string, string | null> };

const MAX_TAG_KEY = 250;
const MAX_TAG_VALUE = 5000;

const toVersion = (r: VersionRow): ModelVersion => ({
  name: r.name,
  version: r.version,
  artifactId: r.artifact_id,
  artifactUri: r.artifact_uri,
  artifactHash: r.artifact_hash,
  runId: r.run_id,
  taskId: r.task_id,
  description: r.description,
  tags: JSON.parse(r.tags) as Record<string, string>,
  createdAt: r.created_at,
});

const toEvent = (r: AliasEventRow): AliasEvent => ({
  name: r.name,
  alias: r.alias,
  fromVersion: r.from_version,
  toVersion: r.to_version,
  kind: r.kind as AliasEvent['kind'],
  reason: r.reason,
  at: r.at,
});

function checkVersionNumber(version: unknown): number {
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new RegistryError(`version ${JSON.stringify(version)} is not valid: use a whole number >= 1`);
  }
  return version;
}

function checkOptionalText(what: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string')
    throw new RegistryError(`${what} must be a string or null, not ${typeof value}`);
  return value;
}

function checkTagKey(key: string): void {
  if (key.length === 0 || key.length > MAX_TAG_KEY) {
    throw new RegistryError(`tag name ${JSON.stringify(key)} is not valid: use 1-${MAX_TAG_KEY} characters`);
  }
}

function checkTagValue(key: string, value: unknown): string {
  if (typeof value !== 'string') {
    throw new RegistryError(`tag '${key}': the value must be a string, not ${JSON.stringify(value)}`);
  }
  if (value.length > MAX_TAG_VALUE) {
    throw new RegistryError(`tag '${key}': the value is longer than ${MAX_TAG_VALUE} characters`);
  }
  return value;
}

function checkTags(tags: unknown): Record<string, string> {
  if (tags === undefined) return {};
  if (tags === null || typeof tags !== 'object' || Array.isArray(tags)) {
    throw new RegistryError('tags must be an object of string values');
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags)) {
    checkTagKey(key);
    out[key] = checkTagValue(key, value);
  }
  return out;
}

/** Validates a patch up front, so a bad one fails before the transaction starts. */
function checkPatch(patch: unknown): Patch {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
    throw new RegistryError('a patch must be an object with description and/or tags');
  }
  for (const key of Object.keys(patch)) {
    if (key !== 'description' && key !== 'tags') {
      throw new RegistryError(`unknown field '${key}' in patch (allowed: description, tags)`);
    }
  }
  const { description, tags } = patch as Patch;
  if (description !== undefined) checkOptionalText('description', description);
  if (tags !== undefined) {
    if (tags === null || typeof tags !== 'object' || Array.isArray(tags)) {
      throw new RegistryError('tags in a patch must be an object of string values (null removes a tag)');
    }
    for (const [key, value] of Object.entries(tags)) {
      checkTagKey(key);
      if (value !== null) checkTagValue(key, value);
    }
  }
  return patch as Patch;
}

/** Applies a tag patch: a string sets the tag, null removes it. Keys come out sorted. */
function mergeTags(stored: string, patch: Record<string, string | null> | undefined): string {
  const tags = JSON.parse(stored) as Record<string, string>;
  if (patch) {
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete tags[key];
      else tags[key] = value;
    }
  }
  return encodeTags(tags);
}

function encodeTags(tags: Record<string, string>): string {
  return JSON.stringify(
    Object.fromEntries(Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  );
}

/**
 * Where an alias can roll back to: its promotions form a stack that rollbacks pop, so repeated
 * rollbacks walk back through the versions in the order they were promoted (promote 1, 2, 3,
 * then roll back to 2, then to 1), a later promotion pushes again, and a deletion clears it.
 * Re-promoting the version the alias already has is recorded but moves nothing.
 */
function rollbackStack(events: AliasEventRow[]): number[] {
  let stack: number[] = [];
  for (const e of events) {
    if (e.kind === 'promote') {
      if (e.to_version === null) continue;
      if (e.from_version === null) stack = [e.to_version];
      else if (stack.at(-1) !== e.to_version) stack.push(e.to_version);
    } else if (e.kind === 'rollback') {
      stack.pop();
    } else if (e.kind === 'delete') {
      stack = [];
    }
  }
  return stack;
}

export class SqliteModelRegistry implements ModelRegistry {
  private readonly selectModel: Database.Statement<[string], ModelRow>;
  private readonly selectModels: Database.Statement<[], ModelRow>;
  private readonly selectModelNames: Database.Statement<[], string>;
  private readonly upsertModel: Database.Statement<[string, string, number, number]>;
  private readonly touchModel: Database.Statement<[number, string]>;
  private readonly updateModel: Database.Statement<[string | null, string, number, string]>;
  private readonly selectLatestVersion: Database.Statement<[string], number>;
  private readonly selectAllLatestVersions: Database.Statement<[], { name: string; latest: number }>;
  private readonly selectVersion: Database.Statement<[string, number], VersionRow>;
  private readonly selectVersions: Database.Statement<[string], VersionRow>;
  private readonly insertVersion: Database.Statement<
    [string, number, string, string | null, string | null, string | null, string, number]
  >;
  private readonly updateVersion: Database.Statement<[string | null, string, string, number]>;
  private readonly selectArtifactExists: Database.Statement<[string], number>;
  private readonly selectRunExists: Database.Statement<[string], number>;
  private readonly selectTaskRun: Database.Statement<[string], string>;
  private readonly selectAlias: Database.Statement<[string, string], number>;
  private readonly selectAliases: Database.Statement<[string], AliasRow>;
  private readonly selectAllAliases: Database.Statement<[], AliasRow>;
  private readonly upsertAlias: Database.Statement<[string, string, number]>;
  private readonly deleteAliasRow: Database.Statement<[string, string]>;
  private readonly insertEvent: Database.Statement<
    [string, string, number | null, number | null, string, string | null, number]
  >;
  private readonly selectEvents: Database.Statement<[string], AliasEventRow>;
  private readonly selectAliasEvents: Database.Statement<[string, string], AliasEventRow>;

  private readonly registerTx: Database.Transaction<(input: RegisterVersionInput) => ModelVersion>;
  private readonly setAliasTx: Database.Transaction<(input: SetAliasInput) => AliasEvent>;
  private readonly rollbackTx: Database.Transaction<
    (name: string, alias: string, reason: string | null) => AliasEvent
  >;
  private readonly deleteAliasTx: Database.Transaction<
    (name: string, alias: string, reason: string | null) => AliasEvent
  >;
  private readonly updateModelTx: Database.Transaction<(name: string, patch: Patch) => RegisteredModel>;
  private readonly updateVersionTx: Database.Transaction<
    (name: string, version: number, patch: Patch) => ModelVersion
  >;
  private readonly readModel: Database.Transaction<(name: string) => RegisteredModel | undefined>;
  private readonly readModels: Database.Transaction<() => RegisteredModel[]>;

  /** `db` is the metadata store's connection: migrated, with foreign keys on and a busy timeout. */
  constructor(db: Database.Database) {
    this.selectModel = db.prepare('SELECT * FROM registered_models WHERE name = ?');
    this.selectModels = db.prepare('SELECT * FROM registered_models ORDER BY name');
    this.selectModelNames = db
      .prepare('SELECT name FROM registered_models ORDER BY name')
      .pluck() as Database.Statement<[], string>;
    this.upsertModel = db.prepare(
      'INSERT INTO registered_models (name, description, tags, created_at, updated_at) VALUES (?, NULL, ?, ?, ?) ' +
        'ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at',
    );
    this.touchModel = db.prepare('UPDATE registered_models SET updated_at = ? WHERE name = ?');
    this.updateModel = db.prepare(
      'UPDATE registered_models SET description = ?, tags = ?, updated_at = ? WHERE name = ?',
    );
    this.selectLatestVersion = db
      .prepare('SELECT COALESCE(MAX(version), 0) FROM model_versions WHERE name = ?')
      .pluck() as Database.Statement<[string], number>;
    this.selectAllLatestVersions = db.prepare(
      'SELECT name, MAX(version) AS latest FROM model_versions GROUP BY name',
    );
    // Versions with their artifact's URI and hash, for readers that load the model.
    const versionColumns =
      'SELECT v.*, a.uri AS artifact_uri, a.hash AS artifact_hash FROM model_versions v JOIN artifacts a ON a.id = v.artifact_id';
    this.selectVersion = db.prepare(`${versionColumns} WHERE v.name = ? AND v.version = ?`);
    this.selectVersions = db.prepare(`${versionColumns} WHERE v.name = ? ORDER BY v.version`);
    this.insertVersion = db.prepare(
      'INSERT INTO model_versions (name, version, artifact_id, run_id, task_id, description, tags, created_at) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.updateVersion = db.prepare(
      'UPDATE model_versions SET description = ?, tags = ? WHERE name = ? AND version = ?',
    );
    this.selectArtifactExists = db
      .prepare('SELECT 1 FROM artifacts WHERE id = ?')
      .pluck() as Database.Statement<[string], number>;
    this.selectRunExists = db.prepare('SELECT 1 FROM runs WHERE id = ?').pluck() as Database.Statement<
      [string],
      number
    >;
    this.selectTaskRun = db.prepare('SELECT run_id FROM tasks WHERE id = ?').pluck() as Database.Statement<
      [string],
      string
    >;
    this.selectAlias = db
      .prepare('SELECT version FROM model_aliases WHERE name = ? AND alias = ?')
      .pluck() as Database.Statement<[string, string], number>;
    this.selectAliases = db.prepare('SELECT * FROM model_aliases WHERE name = ? ORDER BY alias');
    this.selectAllAliases = db.prepare('SELECT * FROM model_aliases ORDER BY name, alias');
    this.upsertAlias = db.prepare(
      'INSERT INTO model_aliases (name, alias, version) VALUES (?, ?, ?) ' +
        'ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version',
    );
    this.deleteAliasRow = db.prepare('DELETE FROM model_aliases WHERE name = ? AND alias = ?');
    this.insertEvent = db.prepare(
      'INSERT INTO model_alias_events (name, alias, from_version, to_version, kind, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.selectEvents = db.prepare('SELECT * FROM model_alias_events WHERE name = ? ORDER BY seq');
    this.selectAliasEvents = db.prepare(
      'SELECT * FROM model_alias_events WHERE name = ? AND alias = ? ORDER BY seq',
    );

    this.registerTx = db.transaction((input: RegisterVersionInput): ModelVersion => {
      const { name, artifactId } = input;
      if (this.selectArtifactExists.get(artifactId) === undefined) {
        throw new RegistryError(
          `cannot register model '${name}': no artifact '${artifactId}' in the metadata store`,
        );
      }
      let runId = input.runId ?? null;
      const taskId = input.taskId ?? null;
      if (taskId !== null) {
        const taskRun = this.selectTaskRun.get(taskId);
        if (taskRun === undefined) {
          throw new RegistryError(
            `cannot register model '${name}': no task '${taskId}' in the metadata store`,
          );
        }
        if (runId !== null && runId !== taskRun) {
          throw new RegistryError(
            `cannot register model '${name}': task '${taskId}' belongs to run '${taskRun}', not '${runId}'`,
          );
        }
        runId = taskRun;
      } else if (runId !== null && this.selectRunExists.get(runId) === undefined) {
        throw new RegistryError(`cannot register model '${name}': no run '${runId}' in the metadata store`);
      }
      const existing = this.selectModel.get(name);
      const now = this.clock(existing);
      this.upsertModel.run(name, '{}', now, now);
      const version = this.selectLatestVersion.get(name)! + 1;
      const description = input.description ?? null;
      const tags = encodeTags(input.tags ?? {});
      this.insertVersion.run(name, version, artifactId, runId, taskId, description, tags, now);
      // Read back: the row joined with its artifact's URI and hash.
      return toVersion(this.selectVersion.get(name, version)!);
    });

    this.setAliasTx = db.transaction((input: SetAliasInput): AliasEvent => {
      const { name, alias, version } = input;
      const model = this.requireModel(name);
      this.requireVersion(name, version);
      const current = this.selectAlias.get(name, alias) ?? null;
      if (input.expectedVersion !== undefined && input.expectedVersion !== current) {
        throw new AliasConflictError(name, alias, input.expectedVersion, current);
      }
      this.upsertAlias.run(name, alias, version);
      return this.record(model, alias, current, version, 'promote', input.reason ?? null);
    });

    this.rollbackTx = db.transaction((name: string, alias: string, reason: string | null): AliasEvent => {
      const model = this.requireModel(name);
      const current = this.requireAlias(name, alias);
      const stack = rollbackStack(this.selectAliasEvents.all(name, alias));
      // The stack's top is the alias's version; should they ever disagree, the row wins and there
      // is nothing known to go back to.
      const target = stack.at(-1) === current ? stack.at(-2) : undefined;
      if (target === undefined) {
        throw new RegistryError(
          `model '${name}': alias '${alias}' has no earlier version to roll back to (it points to version ${current}, its first)`,
        );
      }
      this.upsertAlias.run(name, alias, target);
      return this.record(model, alias, current, target, 'rollback', reason);
    });

    this.deleteAliasTx = db.transaction((name: string, alias: string, reason: string | null): AliasEvent => {
      const model = this.requireModel(name);
      const current = this.requireAlias(name, alias);
      this.deleteAliasRow.run(name, alias);
      return this.record(model, alias, current, null, 'delete', reason);
    });

    this.updateModelTx = db.transaction((name: string, patch: Patch): RegisteredModel => {
      const model = this.requireModel(name);
      const description = patch.description !== undefined ? patch.description : model.description;
      this.updateModel.run(description, mergeTags(model.tags, patch.tags), this.clock(model), name);
      return this.assemble(this.selectModel.get(name)!);
    });

    this.updateVersionTx = db.transaction((name: string, version: number, patch: Patch): ModelVersion => {
      const model = this.requireModel(name);
      const row = this.requireVersion(name, version);
      const description = patch.description !== undefined ? patch.description : row.description;
      this.updateVersion.run(description, mergeTags(row.tags, patch.tags), name, version);
      this.touchModel.run(this.clock(model), name);
      return toVersion(this.selectVersion.get(name, version)!);
    });

    // Reads that span several statements run in one (deferred) transaction: one snapshot.
    this.readModel = db.transaction((name: string): RegisteredModel | undefined => {
      const row = this.selectModel.get(name);
      return row && this.assemble(row);
    });
    this.readModels = db.transaction((): RegisteredModel[] => {
      const latest = new Map(this.selectAllLatestVersions.all().map((r) => [r.name, r.latest]));
      const aliases = new Map<string, Record<string, number>>();
      for (const a of this.selectAllAliases.all()) {
        const forModel = aliases.get(a.name) ?? {};
        forModel[a.alias] = a.version;
        aliases.set(a.name, forModel);
      }
      return this.selectModels
        .all()
        .map((row) => this.toModel(row, latest.get(row.name) ?? 0, aliases.get(row.name) ?? {}));
    });
  }

  async registerModelVersion(input: RegisterVersionInput): Promise<ModelVersion> {
    if (input === null || typeof input !== 'object')
      throw new RegistryError('registerModelVersion needs an input object');
    checkRegistryName('model', input.name);
    if (typeof input.artifactId !== 'string' || input.artifactId === '') {
      throw new RegistryError(`cannot register model '${input.name}': artifactId must be a non-empty string`);
    }
    return this.registerTx.immediate({
      name: input.name,
      artifactId: input.artifactId,
      runId: checkOptionalText('runId', input.runId),
      taskId: checkOptionalText('taskId', input.taskId),
      description: checkOptionalText('description', input.description),
      tags: checkTags(input.tags),
    });
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel | undefined> {
    return this.readModel(name);
  }

  async listRegisteredModels(): Promise<RegisteredModel[]> {
    return this.readModels();
  }

  async listModelVersions(name: string): Promise<ModelVersion[]> {
    const rows = this.selectVersions.all(name);
    if (rows.length === 0) this.requireModel(name);
    return rows.map(toVersion);
  }

  async getModelVersion(name: string, version: number): Promise<ModelVersion | undefined> {
    const row = this.selectVersion.get(name, version);
    return row && toVersion(row);
  }

  async resolveModelVersion(
    name: string,
    versionOrAlias: number | string,
  ): Promise<ModelVersion | undefined> {
    let version: number | undefined;
    if (typeof versionOrAlias === 'number') version = versionOrAlias;
    else if (/^\d+$/.test(versionOrAlias)) version = Number(versionOrAlias);
    else version = this.selectAlias.get(name, versionOrAlias);
    return version === undefined ? undefined : this.getModelVersion(name, version);
  }

  async setAlias(input: SetAliasInput): Promise<AliasEvent> {
    checkRegistryName('model', input.name);
    checkRegistryName('alias', input.alias);
    checkVersionNumber(input.version);
    const expected = input.expectedVersion;
    if (expected !== undefined && expected !== null) checkVersionNumber(expected);
    return this.setAliasTx.immediate({ ...input, reason: checkOptionalText('reason', input.reason) });
  }

  async rollbackAlias(input: { name: string; alias: string; reason?: string | null }): Promise<AliasEvent> {
    checkRegistryName('model', input.name);
    checkRegistryName('alias', input.alias);
    return this.rollbackTx.immediate(input.name, input.alias, checkOptionalText('reason', input.reason));
  }

  async deleteAlias(input: { name: string; alias: string; reason?: string | null }): Promise<AliasEvent> {
    checkRegistryName('model', input.name);
    checkRegistryName('alias', input.alias);
    return this.deleteAliasTx.immediate(input.name, input.alias, checkOptionalText('reason', input.reason));
  }

  async aliasHistory(name: string, alias?: string): Promise<AliasEvent[]> {
    const rows = alias === undefined ? this.selectEvents.all(name) : this.selectAliasEvents.all(name, alias);
    if (rows.length === 0) this.requireModel(name);
    return rows.map(toEvent);
  }

  async updateRegisteredModel(name: string, patch: Patch): Promise<RegisteredModel> {
    return this.updateModelTx.immediate(name, checkPatch(patch));
  }

  async updateModelVersion(name: string, version: number, patch: Patch): Promise<ModelVersion> {
    checkVersionNumber(version);
    return this.updateVersionTx.immediate(name, version, checkPatch(patch));
  }

  /**
   * The time of a change to a model: now, but always after its previous change, so that
   * `updatedAt` moves on every change even when two land in the same millisecond.
   */
  private clock(model: ModelRow | undefined): number {
    const now = Date.now();
    return model && now <= model.updated_at ? model.updated_at + 1 : now;
  }

  /** Appends an alias move to the history and marks the model changed. */
  private record(
    model: ModelRow,
    alias: string,
    from: number | null,
    to: number | null,
    kind: AliasEvent['kind'],
    reason: string | null,
  ): AliasEvent {
    const at = this.clock(model);
    this.insertEvent.run(model.name, alias, from, to, kind, reason, at);
    this.touchModel.run(at, model.name);
    return { name: model.name, alias, fromVersion: from, toVersion: to, kind, reason, at };
  }

  private requireModel(name: string): ModelRow {
    const row = this.selectModel.get(name);
    if (row) return row;
    const names = this.selectModelNames.all();
    const known = names.length
      ? ` (registered: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', ...' : ''})`
      : ' (none are registered yet)';
    throw new RegistryError(`no registered model '${name}'${known}`);
  }

  private requireVersion(name: string, version: number): VersionRow {
    const row = this.selectVersion.get(name, version);
    if (row) return row;
    const latest = this.selectLatestVersion.get(name)!;
    throw new RegistryError(
      `model '${name}' has no version ${version} (${latest === 0 ? 'it has no versions' : `versions are 1 to ${latest}`})`,
    );
  }

  private requireAlias(name: string, alias: string): number {
    const version = this.selectAlias.get(name, alias);
    if (version !== undefined) return version;
    const aliases = this.selectAliases.all(name).map((a) => a.alias);
    throw new RegistryError(
      `model '${name}' has no alias '${alias}' (${aliases.length ? `aliases: ${aliases.join(', ')}` : 'it has no aliases'})`,
    );
  }

  private assemble(row: ModelRow): RegisteredModel {
    const aliases: Record<string, number> = {};
    for (const a of this.selectAliases.all(row.name)) aliases[a.alias] = a.version;
    return this.toModel(row, this.selectLatestVersion.get(row.name)!, aliases);
  }

  private toModel(row: ModelRow, latestVersion: number, aliases: Record<string, number>): RegisteredModel {
    return {
      name: row.name,
      description: row.description,
      tags: JSON.parse(row.tags) as Record<string, string>,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      latestVersion,
      aliases,
    };
  }
}
