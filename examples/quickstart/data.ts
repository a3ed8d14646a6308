/** Seeded synthetic customer data for the quickstart: numbers, a category, missing values. */

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

const SEGMENTS = ['consumer', 'small-business', 'enterprise'] as const;

/**
 * Customers and whether they churned: churn rises with support tickets and falls with tenure
 * and usage, differs by segment, and has an interaction (heavy users on a short tenure stay);
 * 5% of `usage` values are missing (the trees route them as learned). Returned as CSV.
 */
export function makeCustomersCsv(rows: number, seed: number): string {
  const random = seededRandom(seed);
  const lines = ['tenure_months,monthly_spend,usage_hours,support_tickets,segment,churned'];
  for (let i = 0; i < rows; i++) {
    const tenure = Math.floor(random() * 72);
    const spend = Math.max(5, 40 + 25 * gaussian(random));
    const usage = Math.max(0, 30 + 15 * gaussian(random));
    const tickets = Math.floor(-Math.log(1 - random()) * 1.5);
    const segment = SEGMENTS[Math.floor(random() * SEGMENTS.length)]!;
    const segmentEffect = segment === 'enterprise' ? -1 : segment === 'consumer' ? 0.5 : 0;
    const shortAndHeavy = tenure < 12 && usage > 40 ? -2 : 0;
    const logit =
      1.2 -
      tenure / 20 -
      usage / 30 +
      tickets * 0.8 +
      spend / 100 +
      segmentEffect +
      shortAndHeavy +
      0.5 * gaussian(random);
    const churned = random() < 1 / (1 + Math.exp(-3 * logit)) ? 1 : 0;
    const usageCell = random() < 0.05 ? '' : usage.toFixed(2);
    lines.push(`${tenure},${spend.toFixed(2)},${usageCell},${tickets},${segment},${churned}`);
  }
  return `${lines.join('\n')}\n`;
}
