/**
 * Makes the example's two incoming batches from data/wine.csv, deterministically:
 *   - data/new-batch.csv: 120 rows resampled from wine (seed 7), with alcohol raised by 0.9 and
 *     color_intensity scaled by 1.4 — valid data whose distribution drifted;
 *   - data/bad-batch.csv: 60 resampled rows with problems injected — missing magnesium, an
 *     unknown cultivar, a negative alcohol — that validation must stop.
 *
 *   node --import tsx examples/data-quality/make-batches.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { seededRandom } from '../quickstart/data.js';

const dir = new URL('./data/', import.meta.url);
const [header, ...lines] = readFileSync(new URL('wine.csv', dir), 'utf8').trim().split(/\r?\n/);
const columns = header!.split(',');
const col = (name: string) => columns.indexOf(name);

function resample(count: number, seed: number): string[][] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => lines[Math.floor(random() * lines.length)]!.split(','));
}

const round = (x: number) => String(Math.round(x * 100) / 100);

const drifted = resample(120, 7).map((row) => {
  row[col('alcohol')] = round(Number(row[col('alcohol')]) + 0.9);
  row[col('color_intensity')] = round(Number(row[col('color_intensity')]) * 1.4);
  return row;
});
writeFileSync(new URL('new-batch.csv', dir), `${[header, ...drifted.map((r) => r.join(','))].join('\n')}\n`);

const bad = resample(60, 11);
for (const i of [3, 17, 42]) bad[i]![col('magnesium')] = '';
bad[25]![col('cultivar')] = 'class_9';
bad[30]![col('alcohol')] = '-1.5';
writeFileSync(new URL('bad-batch.csv', dir), `${[header, ...bad.map((r) => r.join(','))].join('\n')}\n`);
