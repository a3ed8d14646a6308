// Runs every bench/*.bench.ts in its own process (so one does not warm up another) and passes
// their JSON lines through. Usage: npm run bench [-- name-filter]
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const filter = process.argv[2] ?? '';
let failed = false;
for (const file of readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts') && f.includes(filter))
  .sort()) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', `${dir}${file}`], { stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`bench ${file} failed with exit code ${result.status}\n`);
    failed = true;
  }
}
process.exitCode = failed ? 1 : 0;
