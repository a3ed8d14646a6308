/** `lathe models list|show|register|promote|rollback`: the model registry on the command line. */
import { UsageError } from '../errors.js';
import type { MetadataStore } from '../store/metadata-store.js';
import {
  type AliasEvent,
  checkRegistryName,
  type ModelRegistry,
  type ModelVersion,
  RegistryError,
} from '../store/registry.js';
import type { CommandSpec, OptionSpec } from './args.js';
import { resolveArtifact, withStore } from './store-access.js';
import { table } from './table.js';

const JSON_OPTION = { json: { type: 'boolean', description: 'print JSON' } } as const;

const ALIAS_OPTION: Record<string, OptionSpec> = {
  alias: { type: 'string', description: 'the alias to move (default: champion)', placeholder: 'alias' },
  reason: { type: 'string', description: 'why, recorded in the alias history', placeholder: 'text' },
};

function when(ms: number | null): string {
  return ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '-';
}

async function withRegistry<T>(
  home: string | undefined,
  body: (registry: ModelRegistry, store: MetadataStore) => Promise<T>,
): Promise<T> {
  return withStore(home, (store) => body(store.registry, store));
}

function printJson(value: unknown): number {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  return 0;
}

/** `name` checked as a model name, as a usage error naming the argument. */
function modelName(name: string): string {
  try {
    return checkRegistryName('model', name);
  } catch (error) {
    throw new UsageError(`<name>: ${(error as Error).message}`);
  }
}

function aliasName(values: Record<string, any>): string {
  const alias = values.alias ?? 'champion';
  try {
    return checkRegistryName('alias', alias);
  } catch (error) {
    throw new UsageError(`--alias: ${(error as Error).message}`);
  }
}

function formatTags(tags: Record<string, string>): string {
  const entries = Object.entries(tags);
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(', ') : '-';
}

function formatAliases(aliases: Record<string, number>): string {
  const entries = Object.entries(aliases);
  return entries.length ? entries.map(([alias, version]) => `${alias}=${version}`).join(' ') : '-';
}

/** A task id (`run/task`) as its task name. */
function taskName(version: ModelVersion): string {
  if (!version.taskId) return '-';
  return version.runId && version.taskId.startsWith(`${version.runId}/`)
    ? version.taskId.slice(version.runId.length + 1)
    : version.taskId;
}

function describeMove(event: AliasEvent): string {
  const from = event.fromVersion === null ? 'nothing' : `version ${event.fromVersion}`;
  const to = event.toVersion === null ? 'nothing' : `version ${event.toVersion}`;
  switch (event.kind) {
    case 'rollback':
      return `${event.name}: ${event.alias} rolled back from ${from} to ${to}`;
    case 'delete':
      return `${event.name}: ${event.alias} deleted (was ${from})`;
    default:
      return event.fromVersion === null
        ? `${event.name}: ${event.alias} set to ${to}`
        : `${event.name}: ${event.alias} moved from ${from} to ${to}`;
  }
}

function parseTags(raw: string[] | undefined): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const entry of raw ?? []) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new UsageError(`--tag: '${entry}' must be key=value`);
    tags[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return tags;
}

export const modelsListCommand: CommandSpec = {
  name: 'models list',
  args: '',
  summary: 'List registered models with their latest version and aliases.',
  options: { ...JSON_OPTION },
  minArgs: 0,
  maxArgs: 0,
  async handler({ values }) {
    return withRegistry(values.home, async (registry) => {
      const models = await registry.listRegisteredModels();
      if (values.json) return printJson(models);
      if (models.length === 0) {
        process.stdout.write("no registered models yet ('lathe models register' adds one)\n");
        return 0;
      }
      const rows = [['MODEL', 'LATEST', 'ALIASES', 'UPDATED', 'DESCRIPTION']];
      for (const m of models) {
        rows.push([
          m.name,
          String(m.latestVersion),
          formatAliases(m.aliases),
          when(m.updatedAt),
          (m.description ?? '').split('\n')[0]!,
        ]);
      }
      process.stdout.write(table(rows, new Set([1])));
      return 0;
    });
  },
};

export const modelsShowCommand: CommandSpec = {
  name: 'models show',
  args: '<name>',
  summary:
    'Show a registered model: its versions (with the run, task and artifact each came from), its aliases, and the history of every alias move.',
  options: { ...JSON_OPTION },
  minArgs: 1,
  maxArgs: 1,
  async handler({ args, values }) {
    const name = modelName(args[0]!);
    return withRegistry(values.home, async (registry, store) => {
      const model = await registry.getRegisteredModel(name);
      if (!model) {
        await registry.listModelVersions(name); // throws the registry's error, which names the models there are
        throw new RegistryError(`no registered model '${name}'`);
      }
      const versions = await registry.listModelVersions(name);
      const history = await registry.aliasHistory(name);
      const aliasesOf = (version: number) =>
        Object.entries(model.aliases)
          .filter(([, v]) => v === version)
          .map(([alias]) => alias);
      const detailed = [];
      for (const v of versions) {
        const artifact = await store.getArtifact(v.artifactId);
        detailed.push({
          ...v,
          aliases: aliasesOf(v.version),
          artifact: artifact
            ? {
                id: artifact.id,
                type: artifact.type,
                hash: artifact.hash,
                size: artifact.size,
                uri: artifact.uri,
              }
            : null,
        });
      }
      if (values.json) return printJson({ model, versions: detailed, history });

      const lines = [
        `model        ${model.name}`,
        `description  ${model.description ?? '-'}`,
        `tags         ${formatTags(model.tags)}`,
        `aliases      ${formatAliases(model.aliases)}`,
        `created      ${when(model.createdAt)}   updated ${when(model.updatedAt)}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n\n`);
      const rows = [['VERSION', 'ALIASES', 'ARTIFACT', 'HASH', 'RUN', 'TASK', 'CREATED', 'DESCRIPTION']];
      for (const v of detailed) {
        const extra = [v.description ?? '', Object.keys(v.tags).length ? `[${formatTags(v.tags)}]` : '']
          .filter(Boolean)
          .join(' ');
        rows.push([
          String(v.version),
          v.aliases.join(' ') || '-',
          v.artifactId,
          v.artifact ? v.artifact.hash.slice(0, 19) : '(missing)',
          v.runId ?? '-',
          taskName(v),
          when(v.createdAt),
          extra,
        ]);
      }
      process.stdout.write(table(rows, new Set([0])));
      if (history.length) {
        const moves = [['AT', 'ALIAS', 'KIND', 'FROM', 'TO', 'REASON']];
        for (const e of history) {
          moves.push([
            when(e.at),
            e.alias,
            e.kind,
            e.fromVersion === null ? '-' : String(e.fromVersion),
            e.toVersion === null ? '-' : String(e.toVersion),
            e.reason ?? '',
          ]);
        }
        process.stdout.write(`\nalias history:\n${table(moves, new Set([3, 4]))}`);
      }
      return 0;
    });
  },
};

export const modelsRegisterCommand: CommandSpec = {
  name: 'models register',
  args: '<name>',
  summary:
    'Register a Model artifact as the next version of a model (created on first use), linked to the run and task that produced it.',
  details:
    "The artifact is named by id or hash prefix, as 'lathe lineage' and 'lathe runs show' print it. Versions are immutable; --description and --tag describe the version.",
  options: {
    artifact: {
      type: 'string',
      description: 'the Model artifact: id or hash prefix (required)',
      placeholder: 'id',
    },
    description: { type: 'string', description: "the version's description", placeholder: 'text' },
    tag: { type: 'string', multiple: true, description: 'a tag on the version', placeholder: 'key=value' },
    alias: { type: 'string', description: 'also point this alias at the new version', placeholder: 'alias' },
    ...JSON_OPTION,
  },
  minArgs: 1,
  maxArgs: 1,
  async handler({ args, values }) {
    const name = modelName(args[0]!);
    if (typeof values.artifact !== 'string' || values.artifact === '') {
      throw new UsageError(
        'lathe models register: --artifact <id> is required (an artifact id or hash prefix)',
      );
    }
    const tags = parseTags(values.tag);
    // Checked before registering, so a bad alias cannot leave a version registered without it.
    const alias = values.alias === undefined ? undefined : aliasName(values);
    return withRegistry(values.home, async (registry, store) => {
      const artifact = await resolveArtifact(store, values.artifact);
      if (artifact.type !== 'Model') {
        throw new RegistryError(
          `artifact ${artifact.id} is a ${artifact.type}, not a Model: only Model artifacts can be registered`,
        );
      }
      // The task execution that computed it (the first producer; later ones reused it from the cache).
      const producer = (await store.lineage(artifact.id))?.producers[0];
      const version = await registry.registerModelVersion({
        name,
        artifactId: artifact.id,
        runId: producer?.runId ?? null,
        taskId: producer?.id ?? null,
        description: values.description ?? null,
        tags,
      });
      const event = alias ? await registry.setAlias({ name, alias, version: version.version }) : null;
      if (values.json) {
        return printJson({
          version,
          artifact: {
            id: artifact.id,
            type: artifact.type,
            hash: artifact.hash,
            size: artifact.size,
            uri: artifact.uri,
          },
          alias: event,
        });
      }
      const from = producer ? `, from run ${producer.runId} task ${producer.name}` : '';
      process.stdout.write(
        `registered ${name} version ${version.version} (artifact ${artifact.id}, ${artifact.hash.slice(0, 19)}${from})\n`,
      );
      if (event) process.stdout.write(`${describeMove(event)}\n`);
      return 0;
    });
  },
};

export const modelsPromoteCommand: CommandSpec = {
  name: 'models promote',
  args: '<name> <version>',
  summary: 'Point an alias (default: champion) at a version, atomically, and record the move.',
  details:
    "<version> is a version number, or an alias whose version to promote (e.g. 'lathe models promote churn challenger'). Concurrent promotions are serialized: the alias is never in two places and every move is in the history.",
  options: { ...ALIAS_OPTION, ...JSON_OPTION },
  minArgs: 2,
  maxArgs: 2,
  async handler({ args, values }) {
    const name = modelName(args[0]!);
    const alias = aliasName(values);
    const target = args[1]!;
    if (!/^\d+$/.test(target)) {
      try {
        checkRegistryName('alias', target);
      } catch {
        throw new UsageError(`<version>: '${target}' is neither a version number nor an alias`);
      }
    }
    return withRegistry(values.home, async (registry) => {
      let version: number;
      if (/^\d+$/.test(target)) version = Number(target);
      else {
        const resolved = await registry.resolveModelVersion(name, target);
        if (!resolved) {
          await registry.listModelVersions(name); // an unknown model: the registry's error
          throw new RegistryError(
            `model '${name}' has no alias '${target}' (give a version number or an alias)`,
          );
        }
        version = resolved.version;
      }
      const event = await registry.setAlias({ name, alias, version, reason: values.reason ?? null });
      if (values.json) return printJson(event);
      process.stdout.write(`${describeMove(event)}\n`);
      return 0;
    });
  },
};

export const modelsRollbackCommand: CommandSpec = {
  name: 'models rollback',
  args: '<name>',
  summary:
    'Move an alias (default: champion) back to the version it pointed to before its current one was promoted; again to go further back.',
  options: { ...ALIAS_OPTION, ...JSON_OPTION },
  minArgs: 1,
  maxArgs: 1,
  async handler({ args, values }) {
    const name = modelName(args[0]!);
    const alias = aliasName(values);
    return withRegistry(values.home, async (registry) => {
      const event = await registry.rollbackAlias({ name, alias, reason: values.reason ?? null });
      if (values.json) return printJson(event);
      process.stdout.write(`${describeMove(event)}\n`);
      return 0;
    });
  },
};

export const MODEL_COMMANDS: CommandSpec[] = [
  modelsListCommand,
  modelsShowCommand,
  modelsRegisterCommand,
  modelsPromoteCommand,
  modelsRollbackCommand,
];
