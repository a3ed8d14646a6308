/**
 * Runs examples/python-step through the built CLI, end to end: lathe/data ingests the CSV as
 * Parquet, ml.to-csv converts it, and a real Python process (a pythonTrainer step) trains a
 * scikit-learn model, or an xgboost one. Needs `npm run build` (the `pretest` script) and
 * Debian's python3-sklearn (python3-xgboost for the xgboost mode).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const cli = join(root, 'dist/cli/main.js');
const pipelinePath = join(root, 'examples/python-step/pipeline.ts');
const python = '/usr/bin/python3';

const probe = spawnSync(python, ['-c', 'import sklearn'], { encoding: 'utf8' });
const hasSklearn = probe.status === 0;
const skipNote = hasSklearn
  ? ''
  : ` [skipped: '${python} -c "import sklearn"' failed; install it with apt-get install -y python3-sklearn]`;
const hasXgboost = hasSklearn && spawnSync(python, ['-c', 'import xgboost']).status === 0;
const xgboostNote = hasXgboost
  ? ''
  : ` [skipped: '${python} -c "import xgboost"' failed; install it with apt-get install -y python3-xgboost]`;
if (!hasSklearn || !hasXgboost) console.warn(`examples/python-step:${skipNote}${xgboostNote}`);

interface Summary {
  status: string;
  counts: Record<string, number>;
  tasks: Array<{ name: string; status: string; error?: string; outputs?: Record<string, any> }>;
}

function runCli(
  args: string[],
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.LATHE_HOME;
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

async function runPipeline(cwd: string, ...params: string[]): Promise<Summary> {
  const args = params.flatMap((param) => ['--param', param]);
  const { code, stdout, stderr } = await runCli(['run', pipelinePath, '--json', ...args], cwd);
  expect(code, `lathe run exited with ${code}\nstderr:\n${stderr}\nstdout:\n${stdout}`).toBe(0);
  return JSON.parse(stdout) as Summary;
}

describe('examples/python-step', () => {
  let workDir: string;
  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'lathe-python-step-'));
  });
  afterAll(async () => {
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it.skipIf(!hasSklearn)(
    `trains with scikit-learn, passes the gate, and only re-ingests the CSV the second time${skipNote}`,
    async () => {
      expect(existsSync(cli), `${cli} is missing: run npm run build`).toBe(true);

      const first = await runPipeline(workDir);
      expect(first.status).toBe('succeeded');
      const byName = new Map(first.tasks.map((t) => [t.name, t]));
      const train = byName.get('train-sklearn');
      expect(train?.status, train?.error).toBe('succeeded');
      const accuracy = train!.outputs!.accuracy as number;
      expect(typeof accuracy).toBe('number');
      expect(accuracy).toBeGreaterThanOrEqual(0.9);
      expect(accuracy).toBeLessThanOrEqual(1);

      const metricsRef = train!.outputs!.metrics as { type: string; uri: string };
      expect(metricsRef.type).toBe('Metrics');
      const metricsPath = fileURLToPath(metricsRef.uri);
      expect(existsSync(metricsPath), metricsPath).toBe(true);
      const metrics = JSON.parse(await readFile(metricsPath, 'utf8'));
      expect(metrics).toMatchObject({ accuracy, n_train: 455, n_test: 114 });
      expect(metrics.f1).toBeGreaterThan(0.8);
      expect(metrics.roc_auc).toBeGreaterThan(0.9);
      expect((train!.outputs!.model as { type: string }).type).toBe('Model');

      expect(byName.get('data.ingest')?.status).toBe('succeeded');
      expect(byName.get('ml.to-csv')?.status).toBe('succeeded');
      expect(byName.get('report')?.status).toBe('succeeded');
      expect(byName.get('accuracy-alert')?.status).toBe('skipped');

      const second = await runPipeline(workDir);
      expect(second.status).toBe('succeeded');
      expect(second.counts).toMatchObject({ succeeded: 1, failed: 0, cached: 3, skipped: 1 });
      for (const task of second.tasks) {
        expect(`${task.name}: ${task.status}`).toBe(
          `${task.name}: ${{ 'accuracy-alert': 'skipped', 'data.ingest': 'succeeded' }[task.name] ?? 'cached'}`,
        );
      }
      const cachedTrain = second.tasks.find((t) => t.name === 'train-sklearn');
      expect(cachedTrain?.outputs?.accuracy).toBe(accuracy);
    },
    120_000,
  );

  it.skipIf(!hasXgboost)(
    `trains xgboost's XGBClassifier with --param algorithm=xgboost, and takes the alert branch below the bar${xgboostNote}`,
    async () => {
      const summary = await runPipeline(workDir, 'algorithm=xgboost', 'minAccuracy=0.999');
      expect(summary.status).toBe('succeeded');
      const byName = new Map(summary.tasks.map((t) => [t.name, t]));
      const train = byName.get('train-sklearn');
      expect(train?.status, train?.error).toBe('succeeded');
      expect(train!.outputs!.accuracy as number).toBeGreaterThan(0.9);
      const metricsRef = train!.outputs!.metrics as { uri: string };
      const metrics = JSON.parse(await readFile(fileURLToPath(metricsRef.uri), 'utf8'));
      expect(metrics).toMatchObject({ n_train: 455, n_test: 114 });
      expect(byName.get('report')?.status).toBe('skipped');
      expect(byName.get('accuracy-alert')?.status).toBe('succeeded');
    },
    120_000,
  );
});
