/** Shared helpers for benchmarks: JSON-line output and temp workspaces. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Figure {
  name: string;
  value: number;
  unit: string;
  floor?: number;
  peer?: number;
  ratio?: number;
  note?: string;
}

export function report(figure: Figure): void {
  const rounded = (n: number | undefined) => (n === undefined ? undefined : Number(n.toPrecision(4)));
  process.stdout.write(
    `${JSON.stringify({
      name: figure.name,
      value: rounded(figure.value),
      unit: figure.unit,
      floor: rounded(figure.floor),
      peer: rounded(figure.peer),
      ratio: rounded(figure.ratio),
      note: figure.note,
    })}\n`,
  );
}

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
