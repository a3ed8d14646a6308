/** Plain-text tables for terminals: columns padded to their widest cell, numbers right-aligned. */

export function table(rows: string[][], rightAligned: ReadonlySet<number> = new Set()): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length)));
  const line = (r: string[]) =>
    r
      .map((cell, i) => {
        const pad = widths[i]! - [...cell].length;
        if (rightAligned.has(i)) return ' '.repeat(pad) + cell;
        return i === r.length - 1 ? cell : cell + ' '.repeat(pad);
      })
      .join('  ')
      .trimEnd();
  return `${rows.map(line).join('\n')}\n`;
}

/** A number for a table: integers with separators, others with 4 significant digits. */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (Number.isInteger(value) && abs < 1e15) return value.toLocaleString('en-US');
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e7)) return value.toExponential(3);
  return String(Number(value.toPrecision(4)));
}
