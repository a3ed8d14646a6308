/**
 * Data benchmarks (issue: Data):
 * - data.stats10m.parquet.seconds: computeStatistics over 10M rows × 10 columns (8 numeric, 2
 *   text) of Parquet; the floor is one raw DuckDB aggregate query (min, max, avg of every column)
 *   over the same file.
 * - data.stats10m.csv.vs_pandas.ratio: the same data as CSV, end to end (parse + statistics),
 *   against pandas read_csv + describe(include='all') in Debian's python3-pandas when installed
 *   (ratio = pandas seconds ÷ ours). The floor is one raw DuckDB aggregate over read_csv (parsing
 *   alone). Without pandas only our seconds are printed.
 * - data.drift1m.seconds: computeDrift, 1M vs 1M rows × 10 columns, automatic tests (normed
 *   Wasserstein and Jensen–Shannon at this size); data.drift1m.ks.seconds: KS on every numeric
 *   column (text columns keep the automatic choice). The floor is a raw DuckDB scan of both files.
 * Data comes from DuckDB's seeded generator (setseed), written once per run into a temp dir.
 * Set LATHE_BENCH_ROWS to scale the 10M figure down on small machines.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { computeDrift, computeStatistics, DataEngine } from '../src/data/index.js';
import { median, report, tempDir } from './bench-util.js';

const ROWS = Number(process.env.LATHE_BENCH_ROWS ?? 10_000_000);
const DRIFT_ROWS = 1_000_000;
const PYTHON = '/usr/bin/python3';

async function seconds(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

/** 8 numeric columns of different shapes and 2 text columns, deterministic. */
function generator(rows: number, shift: number): string {
  return `SELECT
      random() * 100 + ${shift} AS uniform,
      sqrt(-2 * ln(random())) * cos(2 * pi() * random()) + ${shift / 10} AS normal,
      exp(random() * 3) AS skewed,
      (random() * 1000)::INTEGER AS int_wide,
      (random() * 10)::INTEGER AS int_small,
      random() * random() AS product,
      CASE WHEN random() < 0.05 THEN NULL ELSE random() END AS with_nulls,
      range % 97 AS cyclic,
      'city_' || ((random() * ${20 + shift})::INTEGER)::VARCHAR AS city,
      ['red', 'green', 'blue'][1 + (range % 3)::INTEGER] AS color
    FROM range(${rows})`;
}

const dir = tempDir('lathe-bench-data-');
const engine = await DataEngine.open();
try {
  const parquet = join(dir.path, 'stats.parquet');
  const csv = join(dir.path, 'stats.csv');
  await engine.run('SELECT setseed(0.42)');
  await engine.run(`COPY (${generator(ROWS, 0)}) TO '${parquet}' (FORMAT parquet)`);
  await engine.run(`COPY (SELECT * FROM '${parquet}') TO '${csv}' (FORMAT csv, HEADER)`);
  const tag = ROWS === 10_000_000 ? '10m' : `${ROWS}`;

  // Parquet statistics vs a raw aggregate query.
  const columns = ['uniform', 'normal', 'skewed', 'int_wide', 'int_small', 'product', 'with_nulls', 'cyclic'];
  const floorSql = `SELECT count(*), ${columns.map((c) => `min(${c}), max(${c}), avg(${c})`).join(', ')}, min(city), max(color) FROM '${parquet}'`;
  await computeStatistics(parquet, {}, engine); // warm-up: file cache
  const ours = median([
    await seconds(() => computeStatistics(parquet, {}, engine)),
    await seconds(() => computeStatistics(parquet, {}, engine)),
    await seconds(() => computeStatistics(parquet, {}, engine)),
  ]);
  const floor = median([
    await seconds(() => engine.rows(floorSql)),
    await seconds(() => engine.rows(floorSql)),
    await seconds(() => engine.rows(floorSql)),
  ]);
  report({ name: `data.stats${tag}.parquet.seconds`, value: ours, unit: 's', floor, ratio: ours / floor });

  // CSV end to end (parse + statistics) vs pandas.
  const csvOurs = median([
    await seconds(() => computeStatistics(csv)),
    await seconds(() => computeStatistics(csv)),
    await seconds(() => computeStatistics(csv)),
  ]);
  const csvFloorSql = floorSql.replace(`FROM '${parquet}'`, `FROM read_csv('${csv}')`);
  const csvFloor = median([
    await seconds(() => engine.rows(csvFloorSql)),
    await seconds(() => engine.rows(csvFloorSql)),
    await seconds(() => engine.rows(csvFloorSql)),
  ]);
  const hasPandas =
    existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import pandas'], { stdio: 'ignore' }).status === 0;
  if (hasPandas) {
    const script = `import time, pandas as pd\nt = time.perf_counter()\ndf = pd.read_csv(${JSON.stringify(csv)})\ndf.describe(include='all')\nprint(time.perf_counter() - t)`;
    const result = spawnSync(PYTHON, ['-c', script], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (result.status !== 0) throw new Error(`pandas failed: ${result.stderr}`);
    const pandas = Number(result.stdout.trim());
    report({
      name: `data.stats${tag}.csv.vs_pandas.ratio`,
      value: pandas / csvOurs,
      unit: 'x',
      peer: pandas,
      floor: csvFloor,
      note: `ours ${csvOurs.toFixed(2)} s; pandas read_csv + describe ${pandas.toFixed(2)} s; floor: one DuckDB aggregate over read_csv ${csvFloor.toFixed(2)} s`,
    });
  } else {
    report({
      name: `data.stats${tag}.csv.seconds`,
      value: csvOurs,
      unit: 's',
      note: 'pandas not installed: no peer',
    });
  }

  // Drift, 1M vs 1M.
  const reference = join(dir.path, 'reference.parquet');
  const current = join(dir.path, 'current.parquet');
  await engine.run('SELECT setseed(0.5)');
  await engine.run(`COPY (${generator(DRIFT_ROWS, 0)}) TO '${reference}' (FORMAT parquet)`);
  await engine.run(`COPY (${generator(DRIFT_ROWS, 1)}) TO '${current}' (FORMAT parquet)`);
  const driftFloorSql = `SELECT * FROM (SELECT ${columns.map((c) => `avg(${c})`).join(', ')} FROM '${reference}'), (SELECT ${columns.map((c) => `avg(${c})`).join(', ')} FROM '${current}')`;
  await computeDrift(reference, current, {}, engine); // warm-up
  const drift = median([
    await seconds(() => computeDrift(reference, current, {}, engine)),
    await seconds(() => computeDrift(reference, current, {}, engine)),
    await seconds(() => computeDrift(reference, current, {}, engine)),
  ]);
  const driftFloor = median([
    await seconds(() => engine.rows(driftFloorSql)),
    await seconds(() => engine.rows(driftFloorSql)),
    await seconds(() => engine.rows(driftFloorSql)),
  ]);
  report({
    name: 'data.drift1m.seconds',
    value: drift,
    unit: 's',
    floor: driftFloor,
    ratio: drift / driftFloor,
  });
  const ks = median([
    await seconds(() => computeDrift(reference, current, { method: 'ks' }, engine)),
    await seconds(() => computeDrift(reference, current, { method: 'ks' }, engine)),
  ]);
  report({
    name: 'data.drift1m.ks.seconds',
    value: ks,
    unit: 's',
    floor: driftFloor,
    ratio: ks / driftFloor,
  });
} finally {
  engine.close();
  dir.remove();
}
