/**
 * `lathe models`: register the quickstart's models from a real run, promote, roll back, read the
 * history, and the errors, all through the built CLI in a scratch workspace.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, REPO_ROOT, removeDir, runCli, runJson } from './cli.js';

const pipeline = `${REPO_ROOT}/examples/quickstart/pipeline.ts`;

interface ArtifactJson {
  id: string;
  type: string;
  hash: string;
}

describe('lathe models', () => {
  let dir: string;
  let runId: string;
  /** The model ml.select-best chose, and a trained model with other bytes. */
  let best: ArtifactJson;
  let other: ArtifactJson;
  let otherTask: string;
  let dataset: ArtifactJson;
  const cli = (args: string[]) => runCli(args, { cwd: dir });
  const json = <T = any>(args: string[], code = 0) => runJson<T>(args, { cwd: dir }, code);

  beforeAll(async () => {
    dir = makeTempDir('lathe-models-');
    const summary = await json(['run', pipeline], 0);
    expect(summary.status).toBe('succeeded');
    runId = summary.runId;
    const run = await json(['runs', 'show', runId]);
    const tasks = run.tasks as Array<{ name: string; artifacts: Record<string, ArtifactJson> }>;
    best = tasks.find((t) => t.name === 'ml.select-best')!.artifacts.model!;
    const trained = tasks.find(
      (t) => t.name.startsWith('ml.train[') && t.artifacts.model!.hash !== best.hash,
    )!;
    other = trained.artifacts.model!;
    otherTask = trained.name;
    dataset = tasks.find((t) => t.name === 'make-data')!.artifacts.data!;
    expect(best.type).toBe('Model');
  }, 120_000);
  afterAll(() => removeDir(dir));

  it('lists no models before any is registered', async () => {
    expect(await json(['models', 'list'])).toEqual([]);
    const text = await cli(['models', 'list']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/no registered models yet/);
  });

  it('registers, promotes, shows the history and rolls back', async () => {
    // Version 1: the selected model, by id, made champion at once; linked to its run and task.
    const first = await json([
      'models',
      'register',
      'churn',
      '--artifact',
      best.id,
      '--alias',
      'champion',
      '--description',
      'grid-searched GBDT',
      '--tag',
      'team=growth',
      '--tag',
      'data=synthetic',
    ]);
    expect(first.version).toMatchObject({
      name: 'churn',
      version: 1,
      artifactId: best.id,
      runId,
      taskId: `${runId}/ml.select-best`,
      description: 'grid-searched GBDT',
      tags: { team: 'growth', data: 'synthetic' },
    });
    expect(first.artifact).toMatchObject({ id: best.id, type: 'Model', hash: best.hash });
    expect(first.alias).toMatchObject({
      alias: 'champion',
      fromVersion: null,
      toVersion: 1,
      kind: 'promote',
    });

    // Version 2: another trained model, by a prefix of its content hash (as lineage takes it).
    const prefix = other.hash.slice('sha256:'.length, 'sha256:'.length + 16);
    const second = await runCli(['models', 'register', 'churn', '--artifact', prefix], { cwd: dir });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(`registered churn version 2 (artifact ${other.id}`);
    expect(second.stdout).toContain(`from run ${runId} task ${otherTask}`);

    const promoted = await json(['models', 'promote', 'churn', '2', '--reason', 'better on the holdout']);
    expect(promoted).toMatchObject({
      name: 'churn',
      alias: 'champion',
      fromVersion: 1,
      toVersion: 2,
      kind: 'promote',
      reason: 'better on the holdout',
      at: expect.any(Number),
    });
    const promotedText = await cli(['models', 'promote', 'churn', '1', '--alias', 'challenger']);
    expect(promotedText.stdout).toBe('churn: challenger set to version 1\n');

    const shown = await json(['models', 'show', 'churn']);
    expect(shown.model).toMatchObject({
      name: 'churn',
      latestVersion: 2,
      aliases: { champion: 2, challenger: 1 },
    });
    expect(shown.versions).toHaveLength(2);
    expect(shown.versions[0]).toMatchObject({
      version: 1,
      runId,
      taskId: `${runId}/ml.select-best`,
      artifactId: best.id,
      aliases: ['challenger'],
      artifact: { id: best.id, hash: best.hash, type: 'Model' },
    });
    expect(shown.versions[1]).toMatchObject({
      version: 2,
      taskId: `${runId}/${otherTask}`,
      aliases: ['champion'],
      artifact: { id: other.id, hash: other.hash },
    });
    expect(shown.history.map((e: any) => [e.alias, e.kind, e.fromVersion, e.toVersion, e.reason])).toEqual([
      ['champion', 'promote', null, 1, null],
      ['champion', 'promote', 1, 2, 'better on the holdout'],
      ['challenger', 'promote', null, 1, null],
    ]);

    const rolledBack = await json(['models', 'rollback', 'churn', '--reason', 'latency regression']);
    expect(rolledBack).toMatchObject({
      alias: 'champion',
      fromVersion: 2,
      toVersion: 1,
      kind: 'rollback',
      reason: 'latency regression',
    });
    // Nothing before version 1: a clear error, exit 2, and the champion stays where it is.
    const again = await cli(['models', 'rollback', 'churn']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/alias 'champion' has no earlier version to roll back to/);
    const after = await json(['models', 'show', 'churn']);
    expect(after.model.aliases.champion).toBe(1);
    expect(after.history.at(-1)).toMatchObject({ kind: 'rollback', fromVersion: 2, toVersion: 1 });

    // Text views.
    const list = await cli(['models', 'list']);
    expect(list.stdout).toMatch(/^MODEL\s+LATEST\s+ALIASES/);
    expect(list.stdout).toMatch(/churn\s+2\s+challenger=1 champion=1/);
    const show = await cli(['models', 'show', 'churn']);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('model        churn');
    expect(show.stdout).toContain(best.hash.slice(0, 19));
    expect(show.stdout).toContain('ml.select-best');
    expect(show.stdout).toMatch(/alias history:\n.*AT\s+ALIAS\s+KIND\s+FROM\s+TO\s+REASON/);
    expect(show.stdout).toMatch(/champion\s+rollback\s+2\s+1\s+latency regression/);

    // A version can be promoted by another alias: the challenger becomes the production model.
    const byAlias = await json(['models', 'promote', 'churn', 'challenger', '--alias', 'production']);
    expect(byAlias).toMatchObject({ alias: 'production', toVersion: 1 });
  });

  it('keeps one champion and every move when promotions race', async () => {
    await json(['models', 'register', 'race', '--artifact', best.id]);
    await json(['models', 'register', 'race', '--artifact', other.id]);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        runCli(['models', 'promote', 'race', String((i % 2) + 1), '--reason', `p${i}`], { cwd: dir }),
      ),
    );
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    const shown = await json(['models', 'show', 'race']);
    const history = shown.history as Array<{ fromVersion: number | null; toVersion: number; reason: string }>;
    expect(history).toHaveLength(6);
    expect(history[0]!.fromVersion).toBeNull();
    for (let i = 1; i < history.length; i++) expect(history[i]!.fromVersion).toBe(history[i - 1]!.toVersion);
    expect(history.map((e) => e.reason).sort()).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5']);
    expect(Object.keys(shown.model.aliases)).toEqual(['champion']);
    expect(shown.model.aliases.champion).toBe(history.at(-1)!.toVersion);
  });

  it('fails clearly, with exit 2, on unknown models, versions and artifacts', async () => {
    await json(['models', 'register', 'errs', '--artifact', best.id]);

    const unknown = await cli(['models', 'show', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/error \[REGISTRY\]: no registered model 'nope' \(registered: .*churn/);
    const unknownJson = await json(['models', 'show', 'nope'], 2);
    expect(unknownJson).toEqual({
      error: { code: 'REGISTRY', message: expect.stringMatching(/no registered model 'nope'/) },
    });

    const version = await json(['models', 'promote', 'errs', '9'], 2);
    expect(version.error).toEqual({
      code: 'REGISTRY',
      message: "model 'errs' has no version 9 (versions are 1 to 1)",
    });
    const alias = await cli(['models', 'promote', 'errs', 'staging']);
    expect(alias.code).toBe(2);
    expect(alias.stderr).toMatch(/model 'errs' has no alias 'staging'/);
    const unknownModelPromote = await cli(['models', 'promote', 'nope', '1']);
    expect(unknownModelPromote.code).toBe(2);
    expect(unknownModelPromote.stderr).toMatch(/no registered model 'nope'/);
    const noAlias = await cli(['models', 'rollback', 'errs']);
    expect(noAlias.code).toBe(2);
    expect(noAlias.stderr).toMatch(/model 'errs' has no alias 'champion' \(it has no aliases\)/);

    const notModel = await json(['models', 'register', 'errs', '--artifact', dataset.id], 2);
    expect(notModel.error.message).toMatch(new RegExp(`artifact ${dataset.id} is a Dataset, not a Model`));
    const missing = await json(['models', 'register', 'errs', '--artifact', 'a_doesnotexist'], 2);
    expect(missing.error).toEqual({
      code: 'ARTIFACT_NOT_FOUND',
      message: "no artifact matches 'a_doesnotexist'",
    });
    const noArtifact = await cli(['models', 'register', 'errs']);
    expect(noArtifact.code).toBe(2);
    expect(noArtifact.stderr).toMatch(/--artifact <id> is required/);
    const badName = await cli(['models', 'register', 'has space', '--artifact', best.id]);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/model name "has space" is not valid/);
    const badAlias = await cli(['models', 'promote', 'errs', '1', '--alias', '42']);
    expect(badAlias.code).toBe(2);
    expect(badAlias.stderr).toMatch(/alias "42" is a number/);
    const badTag = await cli(['models', 'register', 'errs', '--artifact', best.id, '--tag', 'novalue']);
    expect(badTag.code).toBe(2);
    expect(badTag.stderr).toMatch(/--tag: 'novalue' must be key=value/);
    // None of the failures registered anything.
    expect((await json(['models', 'show', 'errs'])).versions).toHaveLength(1);

    const sub = await cli(['models', 'delete']);
    expect(sub.code).toBe(2);
    expect(sub.stderr).toMatch(/lathe models: expected 'list', 'show', 'register', 'promote' or 'rollback'/);
    const help = await cli(['models', 'promote', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: lathe models promote <name> <version>/);
    expect(help.stdout).toMatch(/--alias <alias>/);
    expect(help.stdout).toMatch(/--reason <text>/);
  });

  it('does not create a workspace', async () => {
    const empty = makeTempDir('lathe-models-empty-');
    try {
      const result = await runCli(['models', 'list'], { cwd: empty });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/no Lathe workspace at/);
    } finally {
      removeDir(empty);
    }
  });
});
