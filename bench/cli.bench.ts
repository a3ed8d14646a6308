/**
 * cli.run1.seconds: `lathe run` of a one-task TS pipeline, the whole process (start-up, TS
 * loading, compile, SQLite, the run, exit), median of 7 runs after a warm-up. The floor is a
 * bare `node -e ''` process on the same machine.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median, report, tempDir } from './bench-util.js';

const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const pipeline = fileURLToPath(new URL('./fixtures/one-task.ts', import.meta.url));

function time(args: string[], cwd: string): number {
  const start = performance.now();
  const result = spawnSync(process.execPath, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  const seconds = (performance.now() - start) / 1000;
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr}`);
  return seconds;
}

const dir = tempDir('lathe-bench-cli-');
try {
  time([cli, 'run', pipeline, '--no-cache'], dir.path); // warm-up: creates the database
  const runs = Array.from({ length: 7 }, () => time([cli, 'run', pipeline, '--no-cache'], dir.path));
  const floors = Array.from({ length: 7 }, () => time(['-e', ''], dir.path));
  const value = median(runs);
  const floor = median(floors);
  report({ name: 'cli.run1.seconds', value, unit: 's', floor, ratio: value / floor });
} finally {
  dir.remove();
}
