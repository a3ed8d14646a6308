/**
 * The whole loop on the embedded defaults, through the real CLI: train → gate → register the
 * champion; train again → register a challenger; serve with a canary; send traffic and feed the
 * true labels back; the canary promotes the challenger (or rolls it back); show the registry.
 *
 *   npx tsx examples/registry-serving/demo.ts            (in an empty directory, or with LATHE_HOME)
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const LATHE = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const PIPELINE = fileURLToPath(new URL('./pipeline.ts', import.meta.url));
const DATA = fileURLToPath(new URL('../python-step/data/breast_cancer.csv', import.meta.url));

function lathe(...args: string[]): string {
  console.log(`$ lathe ${args.join(' ')}`);
  const result = spawnSync(process.execPath, [LATHE, ...args], { encoding: 'utf8' });
  if (result.status !== 0)
    throw new Error(`lathe ${args[0]} failed (${result.status}):\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

function startServer(): Promise<{ child: ChildProcess; url: string }> {
  const args = [
    'serve',
    '--model',
    'breast-cancer',
    '--port',
    '0',
    '--canary',
    'challenger:25',
    '--canary-min-requests',
    '60',
    '--canary-min-labels',
    '40',
    '--canary-max-latency-increase',
    '4',
  ];
  console.log(`$ lathe ${args.join(' ')}`);
  const child = spawn(process.execPath, [LATHE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.on('data', (chunk) => process.stdout.write(`  [serve] ${chunk}`));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`lathe serve exited with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      const url = /listening on (\S+)/.exec(chunk.toString())?.[1];
      if (url) resolve({ child, url });
    });
  });
}

// 1. The first model becomes the champion (judged by the absolute bars: there is no champion yet).
lathe('run', PIPELINE, '--param', 'alias=champion');
// 2. A second model (more, bolder trees) is registered as the challenger if it is as good.
lathe(
  'run',
  PIPELINE,
  '--param',
  'alias=challenger',
  '--param',
  'estimator={"iterations": 80, "learningRate": 0.2}',
);
console.log(lathe('models', 'show', 'breast-cancer'));

// 3. Serve the champion with a canary: a quarter of the traffic goes to the challenger.
const [header, ...lines] = readFileSync(DATA, 'utf8').trim().split(/\r?\n/);
const columns = header!.split(',');
const rows = lines.map((line) => Object.fromEntries(line.split(',').map((cell, j) => [columns[j]!, cell])));
const features = columns.filter((c) => c !== 'diagnosis');
const { child, url } = await startServer();
try {
  for (let i = 0; i < 300; i++) {
    const sample = [rows[(i * 7) % rows.length]!];
    const body = {
      id: `request-${i}`,
      inputs: features.map((name) => ({
        name,
        datatype: 'FP64',
        shape: [1],
        data: sample.map((r) => Number(r[name])),
      })),
    };
    const response = await fetch(`${url}/v2/models/breast-cancer/infer`, {
      method: 'POST',
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`infer failed: ${response.status} ${await response.text()}`);
    // The true label arrives later (here at once): fed back, it gives each version an accuracy.
    await fetch(`${url}/v2/models/breast-cancer/feedback`, {
      method: 'POST',
      body: JSON.stringify({ id: body.id, labels: sample.map((r) => r.diagnosis) }),
    });
    const status = (await (await fetch(`${url}/v2/models/breast-cancer/rollout`)).json()) as {
      canary: unknown;
      decisions: { decision: string; reasons: string[] }[];
    };
    if (!status.canary) {
      const decision = status.decisions.at(-1)!;
      console.log(
        `canary decided after ${i + 1} requests: ${decision.decision}\n  ${decision.reasons.join('\n  ')}`,
      );
      break;
    }
  }
} finally {
  child.kill('SIGTERM');
}
// 4. The decision is in the registry's alias history.
console.log(lathe('models', 'show', 'breast-cancer'));
