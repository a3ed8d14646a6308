/** Seeded synthetic data and a tiny CSV codec for the quickstart (numeric columns only). */

export interface Row {
  features: number[];
  label: 0 | 1;
}

/** mulberry32: a small, fast, seeded PRNG; the same seed gives the same data everywhere. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(random: () => number): number {
  // Box-Muller; 1 - u keeps log() away from 0.
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Two classes whose means differ by `separation` standard deviations in each of 4 features. */
export function makeBlobs(rows: number, seed: number, separation = 1.2): Row[] {
  const random = seededRandom(seed);
  const out: Row[] = [];
  for (let i = 0; i < rows; i++) {
    const label = random() < 0.5 ? 0 : 1;
    const shift = label === 1 ? separation / 2 : -separation / 2;
    const features = [0, 1, 2, 3].map((k) => gaussian(random) + shift * (k < 3 ? 1 : 0.3));
    out.push({ features, label });
  }
  return out;
}

export function toCsv(rows: Row[]): string {
  const lines = ['x1,x2,x3,x4,label'];
  for (const row of rows) lines.push(`${row.features.map((x) => x.toFixed(6)).join(',')},${row.label}`);
  return `${lines.join('\n')}\n`;
}

export function parseCsv(text: string): Row[] {
  const lines = text.trim().split('\n');
  const header = lines.shift();
  if (header !== 'x1,x2,x3,x4,label') throw new Error(`unexpected CSV header: ${header}`);
  return lines.map((line, i) => {
    const cells = line.split(',').map(Number);
    const label = cells.pop();
    if (cells.length !== 4 || cells.some(Number.isNaN) || (label !== 0 && label !== 1)) {
      throw new Error(`line ${i + 2}: expected 4 numbers and a 0/1 label, got '${line}'`);
    }
    return { features: cells, label };
  });
}
